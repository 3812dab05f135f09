"""logger=wandb: offline runs read back from W&B's own protobuf records; W&B never fails or hangs a job.

Every test sets ``WANDB_MODE``/``WANDB_DIR`` into ``tmp_path`` and never reaches the network.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from mvd import cli, store
from mvd.config import CONF_DIR
from mvd.errors import ConfigError
from mvd.loggers import make
from mvd.loggers import wandb as wandb_logger

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2 as pb  # noqa: E402


# -- reading a .wandb file (LevelDB-style log of wandb_internal_pb2.Record) --------------
_BLOCK, _HEADER = 32768, 7


def read_records(path: Path) -> list:
    """Every Record of a run's transaction log, as W&B's sync reads it."""
    data = path.read_bytes()
    ident, magic, _version = struct.unpack("<4sHB", data[:_HEADER])
    assert ident == b":W&B" and magic == 0xBEE1, f"{path} is not a W&B transaction log"
    records, pos, chunk = [], _HEADER, b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + _HEADER])
        if kind == 0 and length == 0:  # block padding
            pos += left
            continue
        chunk += data[pos + _HEADER:pos + _HEADER + length]
        pos += _HEADER + length
        if kind in (1, 4):  # FULL or LAST fragment
            record = pb.Record()
            record.ParseFromString(chunk)
            records.append(record)
            chunk = b""
    return records


def _finished_records(run_dir: Path, wait: float = 10.0) -> list:
    """The run's records once its ``exit`` record is on disk (wandb-core writes asynchronously)."""
    deadline = time.monotonic() + wait
    while True:
        logs = list(run_dir.glob("run-*.wandb"))
        records = read_records(logs[0]) if len(logs) == 1 else []
        if any(r.WhichOneof("record_type") == "exit" for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


def read_run(run_dir: Path) -> dict:
    """config, history rows and final summary of one offline run directory."""
    config, history, summary, run = {}, [], {}, None
    for record in _finished_records(run_dir):
        kind = record.WhichOneof("record_type")
        if kind in ("run", "config"):
            if kind == "run":
                run = record.run
            for item in (record.run if kind == "run" else record).config.update:
                *parents, leaf = list(item.nested_key) or [item.key]
                node = config
                for key in parents:
                    node = node.setdefault(key, {})
                node[leaf] = json.loads(item.value_json)
        elif kind == "history":
            history.append({"/".join(item.nested_key) or item.key: json.loads(item.value_json)
                            for item in record.history.item})
        elif kind == "summary":
            for item in record.summary.update:
                summary["/".join(item.nested_key) or item.key] = json.loads(item.value_json)
    return {"run": run, "config": config, "history": history, "summary": summary}


def offline_runs(root: Path) -> list[dict]:
    return [read_run(d) for d in sorted((root / "wandb").glob("offline-run-*"))]


@pytest.fixture
def wandb_env(tmp_path, monkeypatch):
    """Offline W&B into tmp_path, no credentials, fresh per-process notices."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    for key in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(wandb_logger, "_SAID", set())
    monkeypatch.setattr(wandb_logger, "_ONLINE_FAILED", [])
    return tmp_path


@pytest.fixture
def wandb_cfg(make_cfg, tmp_path):
    def _make(*overrides):
        cfg = make_cfg("logger=wandb", "dataset=iris", "model=logreg", "curve.sizes=[16,32]",
                       "curve.seeds=[0,1]", *overrides)
        with open_dict(cfg):
            cfg.logger.dir = str(tmp_path)
        return cfg

    return _make


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_offline_run_holds_config_history_and_summary(wandb_env, wandb_cfg):
    cfg = wandb_cfg("logger.tags=[smoke]")
    status = cli.job(cfg)
    points = store.load(Path(cfg.results_dir) / cfg.study).sort_values(["seed", "train_size"])
    assert status["new"] == 4 and len(points) == 4

    (run,) = offline_runs(wandb_env)
    assert run["run"].run_group == cfg.study and run["run"].job_type == "iris"
    assert run["run"].display_name == "iris-logreg-clean0-none" and list(run["run"].tags) == ["smoke"]
    assert run["config"]["dataset"]["name"] == "iris" and run["config"]["curve"]["sizes"] == [16, 32]
    assert run["config"]["run_id"] == status["run_id"]

    rows = [r for r in run["history"] if "test/accuracy" in r]
    assert [(r["seed"], r["train_size"]) for r in rows] == [(0, 16), (0, 32), (1, 16), (1, 32)]
    assert [r["test/accuracy"] for r in rows] == pytest.approx(points["test_accuracy"].tolist())
    # every stored objective is a curve against train_size: calibration, and the costs a deployment pays
    assert [r["test/brier"] for r in rows] == pytest.approx(points["test_brier"].tolist())
    assert [r["cost/predict_ms_per_1000"] for r in rows] == pytest.approx(points["predict_ms_per_1000"].tolist())
    assert [r["cost/model_bytes"] for r in rows] == pytest.approx(points["model_bytes"].tolist())
    means = [r for r in run["history"] if "curve/test_accuracy" in r]
    expected = points.groupby("train_size")["test_accuracy"].mean()
    assert [r["train_size"] for r in means] == [16, 32]
    assert [r["curve/test_accuracy"] for r in means] == pytest.approx(expected.tolist())
    assert any("points/_type" in r for r in run["history"])  # the points table
    assert any(r.get("curve/figure_table/_type") == "table-file" for r in run["history"])  # the chart's data
    chart = run["config"]["_wandb"]["visualize"]["curve/figure"]
    assert chart["panel_config"]["panelDefId"] == "wandb/lineseries/v0"
    assert chart["panel_config"]["stringSettings"] == {"title": "iris-logreg-clean0-none", "xname": "train_size"}
    assert run["summary"]["n_points"] == 4 and run["summary"]["n_failed_points"] == 0
    assert run["summary"]["curve/test_accuracy"] == pytest.approx(expected.loc[32])


@pytest.mark.slow
def test_resumed_job_logs_its_stored_points_too(wandb_env, wandb_cfg):
    """A rerun's W&B run is a whole curve: stored points are logged at the end."""
    cli.job(wandb_cfg())
    status = cli.job(wandb_cfg())
    assert status["skipped"] == 4 and status["new"] == 0
    first, second = offline_runs(wandb_env)
    key = lambda run: sorted((r["seed"], r["train_size"], r["test/accuracy"]) for r in run["history"] if "test/accuracy" in r)  # noqa: E731
    assert key(second) == key(first) and len(key(second)) == 4


def test_init_that_raises_leaves_points_and_job_intact(wandb_env, wandb_cfg, monkeypatch, capsys):
    def boom(**kwargs):
        raise RuntimeError("W&B is down")

    monkeypatch.setattr(wandb, "init", boom)
    cfg = wandb_cfg()
    status = cli.job(cfg)
    assert status["new"] == 4 and status["failed"] == 0
    assert len(store.load(Path(cfg.results_dir) / cfg.study)) == 4
    err = capsys.readouterr().err
    assert err.count("W&B init failed (RuntimeError: W&B is down); the job goes on") == 1


@pytest.mark.slow
def test_log_that_raises_is_said_once_and_the_job_goes_on(wandb_env, wandb_cfg, monkeypatch, capsys):
    real_init = wandb.init

    def init(**kwargs):
        run = real_init(**kwargs)
        monkeypatch.setattr(run, "log", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
        return run

    monkeypatch.setattr(wandb, "init", init)
    status = cli.job(wandb_cfg())
    assert status["new"] == 4
    assert capsys.readouterr().err.count("W&B log failed (OSError: disk full)") == 1


@pytest.mark.timeout(60)
@pytest.mark.slow
def test_bad_key_costs_seconds_then_logs_offline(wandb_env, wandb_cfg, monkeypatch, capsys):
    """A key that cannot be checked (server unreachable) falls back to offline within init_timeout."""
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    cfg = wandb_cfg("logger.init_timeout=2")
    start = time.perf_counter()
    status = cli.job(cfg)
    second = cli.job(wandb_cfg("logger.init_timeout=2", "curve.seeds=[2]"))  # same process: no second wait
    elapsed = time.perf_counter() - start
    assert status["new"] == 4 and second["new"] == 2
    assert elapsed < 20, f"a bad W&B key cost {elapsed:.0f} s"
    assert "online init failed" in capsys.readouterr().err
    runs = offline_runs(wandb_env)
    assert len(runs) == 2 and all(len([r for r in run["history"] if "test/accuracy" in r]) for run in runs)


@pytest.mark.slow
def test_dummy_key_costs_at_most_the_init_timeout(wandb_env, wandb_cfg, monkeypatch):
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_API_KEY", "dummy")
    monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{_closed_port()}")
    start = time.perf_counter()
    status = cli.job(wandb_cfg("logger.init_timeout=2"))
    assert status["new"] == 4 and time.perf_counter() - start < 12
    assert len(offline_runs(wandb_env)) == 1  # logged offline instead


def test_online_only_with_credentials(tmp_path, monkeypatch):
    for key in ("WANDB_MODE", "WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    mode, why = wandb_logger.resolve_mode("online")
    assert mode == "offline" and "wandb login" in why
    (tmp_path / "netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "k" * 40 + "\n")
    assert wandb_logger.resolve_mode("online") == ("online", "")
    monkeypatch.setenv("WANDB_MODE", "disabled")  # CI's explicit choice wins over the config
    assert wandb_logger.resolve_mode("online")[0] == "disabled"


def test_disabled_writes_nothing(wandb_env, wandb_cfg, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")
    assert cli.job(wandb_cfg())["new"] == 4
    assert not (wandb_env / "wandb").exists()


@pytest.mark.parametrize("override, key", [("logger.mode=sometimes", "logger.mode"),
                                           ("logger.init_timeout=0", "logger.init_timeout")])
def test_bad_logger_config_is_refused(wandb_cfg, override, key):
    with pytest.raises(ConfigError, match=key):
        make(wandb_cfg(override))


@pytest.mark.slow
def test_study_run_holds_report_figures_and_summary(wandb_env, wandb_cfg):
    cfg = wandb_cfg()
    cli.job(cfg)
    study_dir = Path(cfg.results_dir) / cfg.study
    (study_dir / "figures").mkdir()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2], [3, 4])
    fig.savefig(study_dir / "figures" / "learning_curves.png")
    plt.close(fig)
    (study_dir / "summary.json").write_text(json.dumps({"verdict": "data", "attribution": {"mind": 0.25}}))
    (study_dir / "report.html").write_text("<html><body>report</body></html>")

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        multirun = compose(config_name="config", overrides=["logger=wandb"],
                           return_hydra_config=True)
    with open_dict(multirun):
        multirun.results_dir, multirun.logger.dir = cfg.results_dir, str(wandb_env)
        multirun.hydra.sweeper.params = {"model": "logreg,dummy"}
    wandb_logger.log_study(multirun, study_dir)

    study = [r for r in offline_runs(wandb_env) if r["run"].job_type == "study"]
    assert len(study) == 1
    run = study[0]
    assert run["run"].display_name == f"{cfg.study}-study" and run["config"]["study"] == cfg.study
    assert run["config"]["sweep"] == {"model": "logreg,dummy"}
    assert run["summary"]["verdict"] == "data" and run["summary"]["attribution"] == {"mind": 0.25}
    assert run["summary"]["n_points"] == 4
    logged = {k.split("/_type")[0] for row in run["history"] for k in row if k.endswith("/_type")}
    assert {"figures/learning_curves", "report", "points"} <= logged


@pytest.mark.slow
def test_a_study_on_disk_is_relogged_one_group_per_dataset_without_refitting(wandb_env, make_cfg, capsys):
    from mvd import curve
    from mvd.report.cli import main as report_main

    for dataset, model in (("iris", "logreg"), ("iris", "tree"), ("wine", "logreg")):
        curve.run_curve(make_cfg(f"dataset={dataset}", f"model={model}", "curve.sizes=[16,32]",
                                 "curve.seeds=[0,1]", "study=onfile"))
    study = next(wandb_env.rglob("onfile"))
    points = store.load(study)
    assert report_main([str(study), "--wandb", "--bootstrap", "20", "--wandb-dir", str(wandb_env)]) == 0
    assert "W&B: 3 curve run(s) and the study run logged to project 'mvd', grouped by dataset" \
        in capsys.readouterr().out
    runs = offline_runs(wandb_env)
    curves = sorted((r["run"].run_group, r["run"].job_type) for r in runs if r["run"].job_type != "study")
    assert curves == [("onfile/iris", "logreg"), ("onfile/iris", "tree"), ("onfile/wine", "logreg")]
    run = next(r for r in runs if r["run"].display_name == "wine-logreg-clean0-none")
    rows = [r for r in run["history"] if "test/accuracy" in r]
    mine = points[points["dataset"] == "wine"].sort_values(["seed", "train_size"])
    assert [r["test/accuracy"] for r in rows] == pytest.approx(mine["test_accuracy"].tolist())
    assert store.load(study).equals(points)  # nothing refitted, nothing written to the store
    assert [r["run"].run_group for r in runs if r["run"].job_type == "study"] == ["onfile"]


def test_a_bad_wandb_group_is_refused_in_one_sentence(tmp_path, capsys):
    from mvd.report.cli import main as report_main

    with pytest.raises(SystemExit) as exit_:
        report_main([str(tmp_path), "--wandb", "--wandb-group", "model"])
    assert exit_.value.code == 2
    assert "logger.group='model' is not known; allowed: study, dataset." in capsys.readouterr().err
