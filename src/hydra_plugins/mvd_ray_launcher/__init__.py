"""mvd's Ray launcher for Hydra (``hydra/launcher=ray``); see ``ray_launcher``."""
