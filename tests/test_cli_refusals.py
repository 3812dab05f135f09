"""The `mvd` command refuses bad input in one sentence and exit 2, whoever finds it (mvd or Hydra), and
writes nothing; a missing optional package is named with the extra that installs it, before any job;
keys outside mvd's schemas are refused even with `+`; every file a study writes follows the umask; the
Optuna sweeper's documented example runs without warnings."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mvd import extras
from mvd.files import write_atomic

REPO = Path(__file__).resolve().parents[1]
MVD = [sys.executable, "-m", "mvd.cli"]

# makes `import NAME` fail as if NAME were not installed (and hides Hydra plugins from Hydra's scan)
HIDE = '''
import os, pkgutil
from importlib.machinery import PathFinder
HIDDEN = [n for n in os.environ.get("MVD_TEST_HIDE", "").split(",") if n]
def hidden(name):
    return any(name == h or name.startswith(h + ".") for h in HIDDEN)
_find = PathFinder.find_spec.__func__
PathFinder.find_spec = classmethod(lambda cls, name, path=None, target=None:
                                   None if hidden(name) else _find(cls, name, path, target))
_walk = pkgutil.walk_packages
pkgutil.walk_packages = lambda *a, **k: (m for m in _walk(*a, **k) if not hidden(m[1]))
'''


def mvd(args, tmp_path, *, hide: str = "", umask: int | None = None) -> subprocess.CompletedProcess:
    """``mvd ARGS`` in tmp_path (Hydra's default output folders land there), results under tmp_path/results."""
    env = dict(os.environ, WANDB_MODE="disabled")
    if hide:
        shim = tmp_path / "shim"
        shim.mkdir(exist_ok=True)
        (shim / "sitecustomize.py").write_text(HIDE)
        env.update(MVD_TEST_HIDE=hide, PYTHONPATH=os.pathsep.join([str(shim), env.get("PYTHONPATH", "")]))
    return subprocess.run(MVD + list(args) + [f"results_dir={tmp_path / 'results'}", "progress=false"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300,
                          preexec_fn=None if umask is None else (lambda: os.umask(umask)))


def written(tmp_path) -> list[str]:
    """Everything the command left in tmp_path (the test's own shim aside)."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.parts[len(tmp_path.parts)] != "shim")


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mvd: error: "), result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


# --- files follow the umask -------------------------------------------------------------------------


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_an_atomic_write_gets_the_mode_of_any_new_file(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        path = write_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.slow
def test_every_file_a_study_writes_is_644_under_umask_022(tmp_path):
    """Points, configs, report.md/html, summary.json, figures, status files, Hydra's own: all 644."""
    result = mvd(["-m", "dataset=iris", "model=dummy,tree", "curve.sizes=[16,32]", "curve.seeds=[0,1]",
                  "study=perm", f"hydra.sweep.dir={tmp_path / 'multi'}"], tmp_path, umask=0o022)
    assert result.returncode == 0, result.stderr[-3000:]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    kinds = {p.suffix for p in files}
    assert {".parquet", ".yaml", ".md", ".html", ".json", ".png"} <= kinds, kinds
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert {m for m in modes.values()} == {"0o644"}, {p: m for p, m in modes.items() if m != "0o644"}


# --- optional packages: one sentence naming the extra, before any job -------------------------------


def fake_requires(monkeypatch, lines):
    from importlib import metadata

    extras._extras.cache_clear()
    monkeypatch.setattr(metadata, "requires", lambda name: lines if name == "mvd" else None)


def test_an_extra_is_found_from_mvds_metadata_so_a_new_extra_needs_no_code(monkeypatch):
    fake_requires(monkeypatch, [
        "numpy>=1.26", "torch>=2.2; extra == 'torch'", "torch>=2.2; extra == 'all'",
        "lightgbm>=4; extra == 'boosting'", "lightgbm>=4; extra == 'all'",
        "hydra-joblib-launcher>=1.2; extra == 'launchers'", "hydra-submitit-launcher>=1.2; extra == 'launchers'",
        "catboost>=1.2; extra == \"modern\"", "wordllama>=0.3; extra == \"modern\"",  # an extra added later
    ])
    try:
        assert extras.provided_by("torch") == "torch"
        assert extras.provided_by("lightgbm") == "boosting"  # the smallest extra, not `all`
        assert extras.provided_by("catboost") == "modern" and extras.provided_by("wordllama.x") == "modern"
        assert extras.provided_by("hydra_plugins.hydra_joblib_launcher") == "launchers"
        assert extras.provided_by("submitit") == "launchers"  # a word of hydra-submitit-launcher
        assert extras.provided_by("numpy") is None and extras.provided_by("nowhere") is None
        assert extras.for_option("hydra/launcher", "submitit_slurm") == "launchers"
        assert extras.for_option("hydra/sweeper", "optuna") is None
    finally:
        extras._extras.cache_clear()


def test_a_target_whose_package_is_missing_is_one_sentence_naming_the_extra(monkeypatch):
    from mvd.errors import ConfigError

    fake_requires(monkeypatch, ["mvd_no_such_pkg>=1; extra == 'modern'"])
    try:
        with pytest.raises(ConfigError, match=r"^model='x' needs the module 'mvd_no_such_pkg', which is not "
                                              r"installed; install it with pip install 'mvd\[modern\]'\.$"):
            extras.load("mvd_no_such_pkg.Model", key="model.classification", what="model='x'")
        with pytest.raises(ConfigError, match="cannot be imported .*no attribute 'Nope'"):
            extras.load("sklearn.linear_model.Nope", key="model.classification")
    finally:
        extras._extras.cache_clear()
    assert extras.load("sklearn.linear_model.LogisticRegression", key="k").__name__ == "LogisticRegression"


@pytest.mark.parametrize(
    "args, hide, sentence",
    [
        (["model=mlp"], "torch",
         "model='mlp' needs the module 'torch', which is not installed; install it with pip install 'mvd[torch]'."),
        (["model=lightgbm"], "lightgbm",
         "model='lightgbm' needs the module 'lightgbm', which is not installed; "
         "install it with pip install 'mvd[boosting]'."),
        (["logger=wandb"], "wandb", "pip install 'mvd[wandb]'"),
    ],
    ids=["torch", "lightgbm", "wandb"],
)
def test_a_missing_optional_package_is_one_sentence_naming_the_extra(tmp_path, args, hide, sentence):
    result = mvd(["dataset=iris", "curve.sizes=[16]", "curve.seeds=[0]", *args], tmp_path, hide=hide)
    assert result.returncode == 2
    assert sentence in one_line(result)
    assert written(tmp_path) == []


@pytest.mark.slow
def test_a_multirun_refuses_a_missing_package_before_its_first_job(tmp_path):
    result = mvd(["-m", "dataset=iris", "model=dummy,mlp", "curve.sizes=[16]", "curve.seeds=[0]", "study=m",
                  f"hydra.sweep.dir={tmp_path / 'multi'}"], tmp_path, hide="torch")
    assert result.returncode == 2
    assert "model='mlp' needs the module 'torch'" in one_line(result) and "pip install 'mvd[torch]'" in result.stderr
    assert written(tmp_path) == []  # not even the dummy job ran


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, hide, sentence",
    [
        (["hydra/launcher=joblib"], "hydra_plugins.hydra_joblib_launcher",
         "hydra/launcher=joblib needs a Hydra plugin that is not installed; "
         "install it with pip install 'mvd[launchers]'."),
        (["hydra/launcher=slurm"], "hydra_plugins.hydra_submitit_launcher,submitit",
         "hydra/launcher=slurm needs a Hydra plugin that is not installed; "
         "install it with pip install 'mvd[launchers]'."),
        (["hydra/sweeper=optuna_mvd"], "hydra_plugins.hydra_optuna_sweeper",
         "hydra/sweeper=optuna_mvd needs hydra/sweeper=optuna, a Hydra plugin that is not installed"),
    ],
    ids=["joblib", "slurm", "optuna-sweeper"],
)
def test_a_missing_hydra_plugin_is_one_sentence_naming_what_to_install(tmp_path, args, hide, sentence):
    result = mvd(["-m", "dataset=iris", "model=dummy", "curve.sizes=[16]", "curve.seeds=[0]", *args,
                  f"hydra.sweep.dir={tmp_path / 'multi'}"], tmp_path, hide=hide)
    assert result.returncode == 2
    assert sentence in one_line(result)
    assert written(tmp_path) == []


# --- unknown keys, usage errors: one sentence, exit 2, nothing written ------------------------------


@pytest.mark.parametrize(
    "args, sentence",
    [
        # Hydra's hint for a typo is `+curve.seed=...`: following it must not run the default seeds
        (["+curve.seed=[0,1]"], "mvd: error: curve.seed is not a key of curve; allowed: sizes, fractions, start, "
                                "growth, max_size, seeds, test_fraction, primary."),
        (["curve.seed=[0,1]"], "mvd: error: curve.seed is not a key of curve; allowed: sizes, fractions, start, "
                               "growth, max_size, seeds, test_fraction, primary."),
        (["+model.foo=1"], "mvd: error: model.foo is not a key of model; allowed: name, sophistication"),
        (["+seeds=[1]"], "mvd: error: seeds is not a key of the config; allowed: dataset, model"),
        (["curve.seeds=[0,1"], "mvd: error: an override could not be parsed (no viable alternative at input "
                               "'[0,1')"),
        (["hydra/launcher=jobib"], "mvd: error: hydra/launcher='jobib' is not known; allowed: basic"),
        (["curve.test_fraction=abc"], "mvd: error: curve.test_fraction=abc is refused (Value 'abc' of type 'str' "
                                      "could not be converted to Float)."),
        (["model=dummy,tree"], "mvd: error: Ambiguous value for argument 'model=dummy,tree'"),
        (["curve.sizes=[5000]"], "mvd: error: curve.sizes has [5000] larger than the training pool"),
    ],
    ids=["plus-typo", "typo", "plus-model", "plus-root", "parse", "unknown-launcher", "type", "ambiguous",
         "mvd-refusal"],
)
def test_a_usage_error_is_one_sentence_exit_2_and_writes_nothing(tmp_path, args, sentence):
    """mvd's refusals and Hydra's own usage errors alike; a refused single run leaves no outputs/ folder."""
    result = mvd(["dataset=iris", "model=dummy", *args] if "model=dummy,tree" not in args else
                 ["dataset=iris", *args], tmp_path)
    assert result.returncode == 2, result.stderr[-3000:]
    line = one_line(result)
    assert line.startswith(sentence), line
    assert "+curve.seed" not in line and "HYDRA_FULL_ERROR" not in line
    assert written(tmp_path) == []


def test_estimator_arguments_stay_open_to_plus(make_cfg):
    """`+model.classification.C=...` is an estimator argument, checked by the estimator itself; parts' keys
    are checked against their `_target_`."""
    from mvd.errors import ConfigError
    from mvd.job import fixed_keys

    fixed_keys(make_cfg("model=logreg", "+model.classification.C=2.0", "dataset=iris"))
    with pytest.raises(ConfigError, match=r"^curve.seed is not a key of curve; allowed: sizes,"):
        fixed_keys(make_cfg("+curve.seed=[0,1]"))
    with pytest.raises(ConfigError, match=r"^business.cost_eror is not a key of business; allowed: currency,"):
        fixed_keys(make_cfg("+business.cost_eror=1"))


# --- the Optuna sweeper's documented example --------------------------------------------------------


@pytest.mark.slow
def test_the_optuna_sweeper_example_runs_as_written_without_future_warnings(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    pytest.importorskip("optuna")
    text = (REPO / "conf" / "hydra" / "sweeper" / "optuna_mvd.yaml").read_text()
    (command,) = re.findall(r"^#\s+(mvd -m .*)$", text, flags=re.M)
    args = [a.strip("'") for a in command.split()[1:] if not a.startswith("hydra.sweeper.n_trials")]
    result = mvd([*args, "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.seed=0", "dataset=iris",
                  "curve.sizes=[16,32]", "curve.seeds=[0]", "report.build=false",
                  f"hydra.sweep.dir={tmp_path / 'multi'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stdout + result.stderr, (result.stdout + result.stderr)[-3000:]
    assert result.stdout.count("done  iris · logreg") == 2


@pytest.mark.slow
def test_an_optimising_sweep_refuses_a_missing_package_of_its_fixed_model_before_any_trial(tmp_path):
    """Its jobs are not known up front, but the model the command line fixes is checked before the first."""
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    result = mvd(["-m", "hydra/sweeper=optuna_mvd", "hydra.sweeper.n_trials=2", "model=mlp",
                  "++model.classification.lr=interval(0.001,0.01)", "dataset=iris", "curve.sizes=[16]",
                  "curve.seeds=[0]", f"hydra.sweep.dir={tmp_path / 'multi'}"], tmp_path, hide="torch")
    assert result.returncode == 2
    assert one_line(result) == ("mvd: error: model='mlp' needs the module 'torch', which is not installed; "
                                "install it with pip install 'mvd[torch]'.")
    assert written(tmp_path) == []
