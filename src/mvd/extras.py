"""Optional dependencies: which of mvd's extras provides a module that is not installed.

A part that needs an optional package (torch for the nets, lightgbm, a Hydra
launcher or sweeper plugin, wandb) is refused before any job in one sentence
that names the extra to install.  The extras are read from mvd's own
installed metadata (``importlib.metadata.requires("mvd")``: lines such as
``lightgbm>=4; extra == "boosting"``), so an extra added to
``pyproject.toml`` is known here once mvd is reinstalled, with no code change.

A module is matched to a requirement by name: exactly (``lightgbm``,
``torch``), as a dotted Hydra plugin (``hydra_plugins.hydra_joblib_launcher``
is ``hydra-joblib-launcher``), or as a word of the requirement's name
(``submitit`` in ``hydra-submitit-launcher``).  When several extras provide
it, the smallest is named (``boosting``, not ``all``).
"""

from __future__ import annotations

import functools
import re
from typing import Optional

from mvd.errors import ConfigError

__all__ = ["provided_by", "for_option", "missing_module", "install", "load", "locate", "missing_sentence"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=1)
def _extras() -> dict:
    """Each extra of the installed mvd -> the normalised names of the requirements it adds."""
    from importlib import metadata

    try:
        lines = metadata.requires("mvd") or []
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return {}
    out: dict = {}
    for line in lines:
        requirement, _, marker = line.partition(";")
        extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        name = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if extra and name and _norm(name.group(1)) != "mvd":
            out.setdefault(extra.group(1), set()).add(_norm(name.group(1)))
    return out


def _smallest(extras: list[str]) -> Optional[str]:
    sizes = _extras()
    return min(extras, key=lambda e: (len(sizes[e]), e)) if extras else None


def provided_by(module: str) -> Optional[str]:
    """The smallest mvd extra that installs ``module`` (a dotted import name), or None."""
    parts = module.split(".")
    candidates = [_norm(".".join(parts[:i])) for i in range(len(parts), 0, -1)] + [_norm(p) for p in parts]
    extras = _extras()
    for candidate in candidates:  # the module's own name first, then its enclosing packages'
        found = [e for e, names in extras.items() if candidate in names]
        if found:
            return _smallest(found)
    top = _norm(parts[1] if parts[0] == "hydra_plugins" and len(parts) > 1 else parts[0])
    found = [e for e, names in extras.items() if any(top in n.split("-") for n in names)]
    return _smallest(found)


def for_option(group: str, option: str) -> Optional[str]:
    """The extra that installs the Hydra plugin providing ``group/option`` (``hydra/launcher``, ``joblib``):
    a requirement whose name holds the option's first word and the group's kind (``hydra-joblib-launcher``)."""
    kind = _norm(group.rstrip("/").rpartition("/")[2])
    word = _norm(option).split("-")[0]
    found = [e for e, names in _extras().items() if any({word, kind} <= set(n.split("-")) for n in names)]
    return _smallest(found)


def missing_module(exc: BaseException) -> Optional[str]:
    """The name of the module an import failed to find, from an exception or its causes (Hydra wraps them)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            return exc.name
        exc = exc.__cause__ if exc.__cause__ is not None else (None if exc.__suppress_context__ else exc.__context__)
    return None


def install(extra: Optional[str], module: str) -> str:
    """What to run to get ``module``."""
    if extra:
        return f"install it with pip install 'mvd[{extra}]'"
    return "install the package that provides it"


def missing_sentence(what: str, module: str) -> str:
    """One sentence: ``what`` (e.g. "model='mlp'") needs ``module``, and how to install it."""
    return f"{what} needs the module {module!r}, which is not installed; {install(provided_by(module), module)}."


def locate(target: str):
    """The object a dotted path names: the longest importable module, then attributes (submodules imported
    on the way).  Hydra's ``get_object`` does the same but logs every failure as an error first."""
    import importlib

    parts = str(target).split(".")
    error: Optional[BaseException] = None
    for n in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:n]))
            break
        except ModuleNotFoundError as exc:
            if exc.name is None or not ".".join(parts[:n]).startswith(exc.name):
                raise  # the module exists and something it imports does not
            error = error or exc  # the deepest missing name: the one to report
    else:
        raise error
    for m in range(n, len(parts)):
        try:
            obj = getattr(obj, parts[m])
        except AttributeError:
            try:
                obj = importlib.import_module(".".join(parts[:m + 1]))
            except ModuleNotFoundError as exc:
                if exc.name == ".".join(parts[:m + 1]):
                    raise AttributeError(f"{'.'.join(parts[:m])} has no attribute {parts[m]!r}") from None
                raise
    return obj


def load(target: str, *, key: str, what: Optional[str] = None):
    """The object a ``_target_`` path names, imported; a ``ConfigError`` in one sentence when it cannot be.

    ``key``: the node's place in the config (``model.classification``, ``hydra.launcher``); ``what``: the
    choice the user made (``model='mlp'``), which the sentence names when given.
    """
    try:
        return locate(str(target))
    except Exception as exc:
        module = missing_module(exc)
        # a dependency of the target, or the target's own package when an extra provides it (else: a typo?)
        if module and (not str(target).startswith(module + ".") or provided_by(module)):
            raise ConfigError(missing_sentence(what or f"{key}._target_={target!r}", module)) from None
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ConfigError(f"{key}._target_={target!r} cannot be imported ({detail}).") from None
