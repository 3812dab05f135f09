"""The configs and studies that ship with mvd, wherever mvd is installed.

In a clone the repository's top-level ``conf/`` and ``experiments/`` are the
source of truth; a wheel carries copies of both inside the package
(``mvd/conf``, ``mvd/experiments``), so ``mvd`` runs from any directory.

Studies live in ``experiments/`` but Hydra reads them as the ``experiment``
config group: ``store_studies`` puts each file into Hydra's ConfigStore under
that group (subfolders become subgroups, e.g. ``experiment/text_image``), so
no symlink is needed.  A user's own configs and studies come from Hydra's own
search path (``--config-dir DIR`` or ``hydra.searchpath=[file://DIR]``): a
``DIR/experiment/*.yaml`` study or a ``DIR/model/*.yaml`` model joins the
bundled options of its group.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONF_DIR", "EXPERIMENTS_DIR", "store_studies", "studies"]

_PACKAGE = Path(__file__).resolve().parent
_CLONE = _PACKAGE.parents[1]  # src/mvd -> the repository's root, when run from a clone


def _locate(name: str) -> Path:
    """The clone's top-level folder when mvd runs from a clone (editable install), else the wheel's copy."""
    from_clone = (_CLONE / "src" / "mvd") == _PACKAGE and (_CLONE / name).is_dir()
    return _CLONE / name if from_clone else _PACKAGE / name


CONF_DIR = _locate("conf")
EXPERIMENTS_DIR = _locate("experiments")


def studies() -> dict[str, Path]:
    """Every bundled study file by its Hydra option (``quickstart``, ``text_image/mnist_cnn``)."""
    return {f.relative_to(EXPERIMENTS_DIR).with_suffix("").as_posix(): f
            for f in sorted(EXPERIMENTS_DIR.rglob("*.yaml"))}


def store_studies() -> None:
    """Register every bundled study in the ``experiment`` group (``# @package _global_``)."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    store = ConfigStore.instance()
    for option, path in studies().items():
        group, _, name = f"experiment/{option}".rpartition("/")
        node = OmegaConf.to_container(OmegaConf.load(path), resolve=False)
        store.store(group=group, name=name, node=node, package="_global_")
