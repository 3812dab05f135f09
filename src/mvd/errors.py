"""The one exception for bad input: its message is the sentence the user sees."""

__all__ = ["ConfigError"]


class ConfigError(ValueError):
    """A config value that mvd refuses before doing any work."""
