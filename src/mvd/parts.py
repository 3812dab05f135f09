"""Building a part of a job (dataset, corruption, cleaning, logger) from its config node.

Every part is built the way a model's estimator is: the node names a
``_target_`` (a function or class) and its other keys are that target's
keyword arguments, handed over by Hydra's ``instantiate``.  A key the target
does not take is refused in one sentence that lists the keys it does take,
and a ``ConfigError`` the target raises reaches the user as it is.
"""

from __future__ import annotations

import inspect
from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import OmegaConf

from mvd.errors import ConfigError

__all__ = ["build", "plain", "options"]


def plain(node: Any) -> Any:
    """A config node as plain Python values (dicts and lists), resolved; anything else as it is."""
    if OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True)
    return node


def target_of(node: dict, key: str):
    """The callable a node's ``_target_`` names (refused in one sentence when it cannot be imported; a
    missing optional package names the mvd extra that installs it)."""
    from mvd import extras

    target = node.get("_target_")
    if not target:
        raise ConfigError(f"{key} has no _target_; name the function or class that builds it, "
                          f"e.g. {key}._target_=mvd.sources.files.load.")
    name = node.get("name")
    return extras.load(str(target), key=key, what=f"{key}={name!r}" if isinstance(name, str) else None)


def options(fn) -> list[str] | None:
    """The keyword arguments ``fn`` takes, or None when it takes any (``**kwargs``)."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def build(node: Any, *, key: str, builtin: dict | None = None, kind: type | None = None, **extra):
    """The object ``node`` describes: ``_target_(**other keys, **extra)``.

    ``key`` is the node's place in the config (``dataset``, ``quality``...),
    used in error messages.  ``builtin``: mvd's own targets by ``name``; a
    node without ``_target_`` (the layout of configs saved before parts were
    ``_target_`` nodes) is refused in one sentence naming the target to add.
    ``kind``: the class the result must be an instance of.
    """
    values = dict(plain(node))
    if "_target_" not in values and builtin is not None:
        name = values.get("name")
        if name not in builtin:
            raise ConfigError(f"{key}={name!r} is not known; allowed: {', '.join(builtin)}.")
        raise ConfigError(f"{key}={name!r} has no _target_ (the layout of configs saved before parts were _target_ "
                          f"nodes, which mvd no longer reads); add {key}._target_={builtin[name]}.")
    fn = target_of(values, key)
    allowed = options(fn)
    if allowed is not None:
        unknown = [k for k in values if k != "_target_" and k not in allowed]
        if unknown:
            raise ConfigError(
                f"{key}.{unknown[0]}={values[unknown[0]]!r} is not an option of {values['_target_']}; "
                f"allowed: {', '.join(a for a in allowed if a not in extra)}."
            )
    try:
        built = instantiate(values, _convert_="all", **extra)
    except InstantiationException as exc:
        if isinstance(exc.__cause__, ConfigError):
            raise exc.__cause__ from None
        raise
    if kind is not None and not isinstance(built, kind):
        raise ConfigError(f"{key}._target_={values['_target_']!r} built a {type(built).__name__}, "
                          f"not a {kind.__module__}.{kind.__name__}.")
    return built
