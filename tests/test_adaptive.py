"""The adaptive policy (mvd.adaptive) and the Hydra sweeper (hydra/sweeper=adaptive)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mvd import adaptive
from mvd.errors import ConfigError
from mvd.report import sweep

SIZES = (16, 32, 64, 128, 256, 512)
SEEDS = (0, 1, 2, 3, 4)


def synthetic_points(*, gaps=None, noise=0.002, sizes=SIZES, seeds=SEEDS, datasets=("toy",),
                     shifts=None) -> pd.DataFrame:
    """A full grid with a known answer: accuracy = ceiling - 0.5 * n^-0.5 + per-seed noise.

    ``gaps`` gives each model's ceiling offset over ``base`` (rank 1); the
    largest positive offset is the lever to choose at n = max(sizes).  Cost of
    a point (fit + predict seconds) grows with n, as real fits do.  ``shifts``
    (model -> one offset per seed) replaces the random per-seed noise.
    """
    gaps = gaps or {"base": 0.0, "strong": 0.05, "weak": -0.10, "dummy": -0.5}
    ranks = {"dummy": 0, "base": 1, "strong": 3, "weak": 2}
    rng = np.random.default_rng(0)
    rows = []
    for dataset in datasets:
        for model, gap in gaps.items():
            for seed in seeds:
                shift = rng.normal(0, noise)
                if shifts and model in shifts:
                    shift = shifts[model][seed]
                for n in sizes:
                    rows.append({"study": "toy", "run_id": f"{dataset}-{model}", "dataset": dataset,
                                 "model": model, "sophistication": ranks.get(model, 2), "quality": "clean",
                                 "quality_rate": 0.0, "cleaning": "none", "train_size": n, "seed": seed,
                                 "test_accuracy": 0.9 + gap - 0.5 * n ** -0.5 + shift, "primary_metric": "accuracy",
                                 "fit_seconds": n / 1000, "predict_seconds": 0.001, "status": "ok"})
    return pd.DataFrame(rows)


def contested() -> pd.DataFrame:
    """Two models as good as the next 512 labels (+0.65 points) whose per-seed gains swing by a point: the
    model and the data levers are never told apart, so the decision is never settled."""
    flip = [0.01, -0.01, 0.01, -0.01, 0.01]
    return synthetic_points(gaps={"base": 0.0, "strong": 0.0065, "rival": 0.0065, "weak": -0.2},
                            shifts={"strong": flip, "rival": [-x for x in flip]})


def reveal_from(points: pd.DataFrame, fitted: list | None = None):
    """A ``fetch`` that reveals stored points (and records every key it had to 'fit')."""
    index = pd.MultiIndex.from_arrays([points["run_id"], points["seed"], points["train_size"]])
    seen: set = set()

    def fetch(keys):
        if fitted is not None:
            fitted.extend(k for k in keys if k not in seen)
        seen.update(keys)
        return points[index.isin(keys)]

    return fetch


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("settings, words", [
    (adaptive.Settings(confidence=0.0), ["confidence=0.0", "between 0 and 1"]),
    (adaptive.Settings(confidence=1.0), ["confidence=1.0", "between 0 and 1"]),
    (adaptive.Settings(budget=0), ["budget=0", "positive"]),
    (adaptive.Settings(budget=-5, budget_unit="cpu_seconds"), ["budget=-5", "positive"]),
    (adaptive.Settings(budget=3), ["budget=3", "below one round", "round 1 alone asks for"]),
    (adaptive.Settings(budget_unit="hours"), ["budget_unit='hours'", "points, cpu_seconds"]),
    (adaptive.Settings(initial_seeds=1), ["initial_seeds=1", "at least 2"]),
])
def test_bad_settings_are_one_sentence(settings, words):
    grid = adaptive.grid_from_points(synthetic_points())
    with pytest.raises(ConfigError) as info:
        adaptive.check(settings, grid)
    message = str(info.value)
    assert all(w in message for w in words), message
    assert message.count(". ") == 0 and "\n" not in message


def test_single_arm_is_refused():
    points = synthetic_points(gaps={"base": 0.0})
    with pytest.raises(ConfigError, match="single arm .*model base"):
        adaptive.check(adaptive.Settings(), adaptive.grid_from_points(points))


def test_budget_of_exactly_one_round_is_accepted():
    grid = adaptive.grid_from_points(synthetic_points())
    need = len(adaptive.first_round(grid, adaptive.operating_points(grid), adaptive.Settings()))
    adaptive.check(adaptive.Settings(budget=need), grid)
    with pytest.raises(ConfigError, match=f"asks for {need} points"):
        adaptive.check(adaptive.Settings(budget=need - 1), grid)


# ----------------------------------------------------------------------------- the decision and policy

def test_operating_point_and_levers():
    grid = adaptive.grid_from_points(synthetic_points())
    op = adaptive.operating_points(grid)["toy"]
    assert op.current == "toy-base" and op.n_now == 512
    # the report's levers (mvd.levers): more labels on the user's own curve, and every other model
    assert [(s.kind, s.curve.model) for s in op.specs] == [("labels", "base"), ("model", "dummy"), ("model", "weak"),
                                                          ("model", "strong")]
    assert op.runs_of(op.specs[0].key) == ("toy-base",) and op.runs_of(op.specs[-1].key) == ("toy-strong",)


def test_levers_stay_on_the_users_data_condition():
    """Levers: the user's data condition (the noisiest uncleaned one), its cleanings, and relabelled (clean) data;
    other conditions are never fitted."""
    base = synthetic_points(gaps={"base": 0.0, "strong": 0.05})
    frames = []
    for rate in (0.0, 0.4):
        for cleaning in ("none", "oracle"):
            f = base.assign(quality="label_noise", quality_rate=rate, cleaning=cleaning)
            f["run_id"] = f["run_id"] + f"-{rate}-{cleaning}"
            frames.append(f)
    points = pd.concat(frames, ignore_index=True)
    grid = adaptive.grid_from_points(points)
    op = adaptive.operating_points(grid)["toy"]
    assert op.current == "toy-base-0.4-none"
    assert {(s.kind, s.curve.model, s.curve.rate, s.curve.cleaning) for s in op.specs} == {
        ("labels", "base", 0.4, "none"), ("model", "strong", 0.4, "none"), ("cleaning", "base", 0.4, "oracle"),
        ("relabel", "base", 0.0, "none"), ("combined", "strong", 0.4, "oracle"), ("combined", "strong", 0.0, "none")}
    record = adaptive.run(grid, reveal_from(points), adaptive.Settings())
    reasons = {(s["run_id"], s["reason"]) for s in record.skipped}
    assert all((f"toy-{m}-0.0-oracle", "not a lever at the operating point (another data condition "
                "than the user's)") in reasons for m in ("base", "strong"))


def test_a_model_and_its_tuned_curve_are_one_lever_measured_on_both():
    points = synthetic_points(gaps={"base": 0.0, "strong": 0.05})
    tuned = points[points["model"] == "strong"].assign(run_id="toy-strong-tuned", tuned=True,
                                                        test_accuracy=lambda f: f["test_accuracy"] + 0.02)
    points = pd.concat([points.assign(tuned=False), tuned], ignore_index=True)
    grid = adaptive.grid_from_points(points)
    op = adaptive.operating_points(grid)["toy"]
    (switch,) = [s for s in op.specs if s.kind == "model" and s.curve.plain == "strong"]
    assert op.runs_of(switch.key) == ("toy-strong", "toy-strong-tuned")
    record = adaptive.run(grid, reveal_from(points), adaptive.Settings())
    assert record.decisions["toy"]["chosen"] == "switching base -> strong (tuned)"


def test_known_answer_is_chosen_and_settled():
    points = synthetic_points()
    grid = adaptive.grid_from_points(points)
    record = adaptive.run(grid, reveal_from(points), adaptive.Settings())
    assert record.stop == "settled"
    decision = record.decisions["toy"]
    assert decision["chosen"] == "switching base -> strong" and decision["settled"]
    assert decision["low"] > 0
    assert record.used_points < len(points) / 3


def test_dominated_arms_get_no_more_seeds_and_open_ones_do():
    """Round 2 adds a seed to the close rivals only: never to the arm far behind."""
    points = contested()
    grid = adaptive.grid_from_points(points)
    fetched: list = []
    adaptive.run(grid, reveal_from(points, fetched), adaptive.Settings())
    round2 = [k for k in fetched if k[1] == 2]
    curves = {k[0] for k in round2}
    assert "toy-weak" not in curves and {"toy-strong", "toy-rival"} <= curves
    assert all(k[2] == 512 or k[0] == "toy-base" for k in round2)  # the sizes it reads
    assert {k[2] for k in round2 if k[0] == "toy-base"} == set(SIZES)  # the user's own curve: all of them


def test_budget_in_points_stops_and_says_so():
    points = synthetic_points(gaps={"base": 0.0, "strong": 0.001, "rival": 0.001}, noise=0.01)
    grid = adaptive.grid_from_points(points)
    first = len(adaptive.first_round(grid, adaptive.operating_points(grid), adaptive.Settings()))
    record = adaptive.run(grid, reveal_from(points), adaptive.Settings(budget=first + 2))
    assert record.stop == "budget" and record.used_points == first + 2
    assert "budget of" in record.stop_sentence and "points" in record.stop_sentence
    assert any(s["reason"] == "budget spent" for s in record.skipped)


def test_budget_in_cpu_seconds_is_never_exceeded_after_round_1():
    points = synthetic_points(gaps={"base": 0.0, "strong": 0.001, "rival": 0.001}, noise=0.01)
    grid = adaptive.grid_from_points(points)
    free = adaptive.run(grid, reveal_from(points), adaptive.Settings())
    budget = free.rounds[0]["cpu_seconds"] + 0.6  # room for one more point at n=512 (0.513 s), not two
    assert free.used_cpu_seconds > budget
    record = adaptive.run(grid, reveal_from(points), adaptive.Settings(budget=budget, budget_unit="cpu_seconds"))
    assert record.stop == "budget" and free.rounds[0]["cpu_seconds"] + 0.5 < record.used_cpu_seconds <= budget


def test_same_seed_makes_the_same_choices():
    points = contested()
    grid = adaptive.grid_from_points(points)
    runs = []
    for _ in range(2):
        fetched: list = []
        record = adaptive.run(grid, reveal_from(points, fetched), adaptive.Settings(seed=3))
        runs.append((fetched, record.to_json()))
    assert runs[0] == runs[1]
    assert len(runs[0][1]["rounds"]) >= 2  # the test exercises the later rounds, not only round 1


def test_resume_after_a_kill_mid_round_fits_no_point_twice():
    """A round killed half way: the rerun fits only what is missing and makes the uninterrupted run's choices."""
    points = contested()
    grid = adaptive.grid_from_points(points)
    index = pd.MultiIndex.from_arrays([points["run_id"], points["seed"], points["train_size"]])
    stored: set = set()
    fits: list = []

    def engine(kill_after=None):
        def fetch(keys):
            for key in keys:  # a job skips stored points, fits the others one by one
                if key in stored:
                    continue
                if kill_after is not None and len(fits) >= kill_after:
                    raise KeyboardInterrupt
                fits.append(key)
                stored.add(key)
            return points[index.isin(keys)]
        return fetch

    whole = adaptive.run(grid, reveal_from(points), adaptive.Settings())
    first_round = len(adaptive.first_round(grid, adaptive.operating_points(grid), adaptive.Settings()))
    with pytest.raises(KeyboardInterrupt):
        adaptive.run(grid, engine(kill_after=first_round + 2), adaptive.Settings())
    assert len(whole.rounds) >= 3 and whole.rounds[1]["asked"] > 2  # killed inside round 2
    assert len(stored) == first_round + 2
    resumed = adaptive.run(grid, engine(), adaptive.Settings())
    assert len(fits) == len(set(fits)) == whole.used_points
    assert resumed.to_json() == whole.to_json()


def test_lower_is_better_metrics_are_turned_into_gains():
    points = synthetic_points()
    points["primary_metric"] = "rmse"
    points["test_rmse"] = 1 - points["test_accuracy"]
    grid = adaptive.grid_from_points(points)
    decisions = adaptive.decisions(points, adaptive.operating_points(grid), adaptive.Settings())
    assert decisions["toy"].chosen == "switching base -> strong" and decisions["toy"].gains["switching base -> strong"] > 0


def test_the_sweeper_stops_on_the_reports_decision():
    """The sweeper has no decision engine of its own: its standing is the report's decision at its point."""
    from mvd.report.decision import decide

    for points in (synthetic_points(), contested()):
        standing = adaptive.decisions(points, adaptive.operating_points(adaptive.grid_from_points(points)),
                                      adaptive.Settings())["toy"]
        d = decide(points, n_now=512, bootstrap=1000)["toy"]
        assert (standing.chosen, standing.settled, standing.runner_up) == (d.chosen, d.settled, d.rival)
        assert standing.advantage == d.advantage and (standing.low, standing.high) == (d.advantage_low,
                                                                                     d.advantage_high)
    assert not d.settled and not hasattr(adaptive, "decide") and not hasattr(adaptive, "report_decide")


def test_record_is_written_atomically_as_json(tmp_path):
    points = synthetic_points()
    record = adaptive.run(adaptive.grid_from_points(points), reveal_from(points), adaptive.Settings())
    path = adaptive.write_record(tmp_path, record)
    data = json.loads(path.read_text())
    assert data["adaptive"] is True and data["stop"] == "settled"
    assert sum(s["points"] for s in data["skipped"]) + data["asked_points"] == data["grid_points"]
    assert [p.name for p in tmp_path.iterdir()] == ["adaptive.json"]


def test_report_section_says_adaptive_budget_and_skips(tmp_path):
    points = synthetic_points()
    record = adaptive.run(adaptive.grid_from_points(points), reveal_from(points), adaptive.Settings())
    adaptive.write_record(tmp_path, record)
    items = [("h1", "report"), ("h2", "Verdict"), ("ul", ["v"]), ("h2", "Figures"), ("figure", "x", "x")]
    merged = sweep.with_section(items, tmp_path, n_points=record.used_points + 5)
    at = merged.index(("h2", "Adaptive sweep"))
    assert merged[:at] == items[:3] and merged[-2:] == items[-2:]
    text = " ".join(str(block) for block in merged[at:-2])
    assert f"{record.used_points} of the grid's {record.grid_points} points" in text
    assert "every decision was settled" in text and "budget: no cap" in text
    assert "5 point(s) the adaptive sweep did not ask for" in text
    table = next(block for block in merged[at:] if block[0] == "table")
    assert sum(int(row[1]) for row in table[2]) == record.grid_points - record.asked_points
    assert sweep.with_section(items, tmp_path / "elsewhere") == items


# ----------------------------------------------------------------------------- through the mvd command

def _mvd(tmp_path, *args, timeout=300):
    env = dict(os.environ, WANDB_MODE="disabled", MVD_CACHE=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "mvd.cli", *args, f"results_dir={tmp_path / 'results'}",
           f"hydra.sweep.dir={tmp_path / 'multirun'}", "progress=false", "report.build=false"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("args, sentence", [
    (["hydra.sweeper.confidence=1.5", "model=logreg,tree"],
     "hydra.sweeper.confidence=1.5 must lie strictly between 0 and 1 (0.95 is usual)."),
    (["hydra.sweeper.budget=0", "model=logreg,tree"],
     "hydra.sweeper.budget=0 must be positive (points), or null for no cap."),
    (["hydra.sweeper.budget=3", "model=logreg,tree"],
     "hydra.sweeper.budget=3 points is below one round: round 1 alone asks for 8 points; "
     "allowed: 8 or more, or null."),
    (["model=logreg", "quality=clean,clean"],  # two jobs, one curve: still a single arm
     "hydra/sweeper=adaptive compares arms, but dataset iris has a single arm (model logreg, clean 0, "
     "cleaning none); sweep at least two models or cleanings, or use the basic sweeper."),
])
def test_bad_sweeper_input_stops_the_mvd_command_before_any_work(tmp_path, args, sentence):
    out = _mvd(tmp_path, "-m", "hydra/sweeper=adaptive", "dataset=iris", "curve.sizes=[16,32]",
               "curve.seeds=[0,1,2]", *args)
    assert out.returncode == 2, out.stderr[-2000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("mvd: error:")]
    assert errors == [f"mvd: error: {sentence}"]
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_adaptive_multirun_through_mvd_stores_only_what_it_asked(tmp_path):
    from mvd import store

    args = ["-m", "hydra/sweeper=adaptive", "dataset=iris", "model=dummy,logreg,tree",
            "curve.sizes=[16,32,64,96]", "curve.seeds=[0,1,2]", "study=default"]
    out = _mvd(tmp_path, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "adaptive: round 1:" in out.stdout and "adaptive: stopped:" in out.stdout
    study = tmp_path / "results" / "default"
    record = json.loads((study / adaptive.RECORD_FILE).read_text())
    points = store.load(study)
    assert len(points) == record["used_points"] == record["asked_points"] < record["grid_points"] == 36
    assert not points.duplicated(["run_id", "seed", "train_size"]).any()
    # the rerun asks for the same points, finds them stored, and writes the same record
    again = _mvd(tmp_path, *args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((study / adaptive.RECORD_FILE).read_text()) == record
    assert len(store.load(study)) == len(points)


@pytest.mark.slow
def test_adaptive_multirun_killed_mid_round_resumes_without_refitting(tmp_path):
    """Killed while round 1 runs, then rerun: every stored point is kept, none is fitted twice."""
    import signal
    import time

    from mvd import store

    args = ["-m", "hydra/sweeper=adaptive", "dataset=iris", "model=dummy,logreg,tree",
            "curve.sizes=[16,32,64,96]", "curve.seeds=[0,1,2]", "study=default"]
    study = tmp_path / "results" / "default"
    env = dict(os.environ, WANDB_MODE="disabled", MVD_CACHE=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "mvd.cli", *args, f"results_dir={tmp_path / 'results'}",
           f"hydra.sweep.dir={tmp_path / 'killed'}", "progress=false", "report.build=false"]
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if (study / "points").is_dir() and len(store.load(study)) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    before = store.load(study)
    assert 3 <= len(before) < 14  # round 1 asks for 14 points
    out = _mvd(tmp_path, *args)
    assert out.returncode == 0, out.stderr[-3000:]
    after = store.load(study)
    statuses = [json.loads(p.read_text()) for p in (tmp_path / "multirun").glob("*/mvd_job.json")]
    assert len(before) + sum(s["new"] for s in statuses) == len(after)
    kept = after.set_index(["run_id", "seed", "train_size"]).loc[
        before.set_index(["run_id", "seed", "train_size"]).index, "created_at"]
    assert list(kept) == list(before["created_at"])  # the stored points were not refitted
    record = json.loads((study / adaptive.RECORD_FILE).read_text())
    assert record["used_points"] == record["asked_points"] == len(after)
