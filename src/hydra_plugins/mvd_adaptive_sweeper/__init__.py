"""mvd's adaptive sweeper for Hydra: ``hydra/sweeper=adaptive`` (see ``mvd.adaptive`` for the policy)."""
