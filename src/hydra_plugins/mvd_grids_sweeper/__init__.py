"""mvd's grids sweeper for Hydra: ``hydra/sweeper=grids`` runs the union of several named grids."""
