"""mvd-replay: the adaptive policy replayed on stored points, without refitting."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mvd import adaptive, replay
from tests.test_adaptive import contested, synthetic_points

ROOT = Path(__file__).resolve().parents[1]


def _write_study(folder: Path, points) -> Path:
    for run_id, rows in points.groupby("run_id"):
        path = folder / "points" / f"{run_id}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
    return folder


@pytest.mark.slow
def test_replay_reaches_the_known_answer_for_a_fraction_of_the_cpu():
    points = synthetic_points(datasets=("toy", "other"))
    result = replay.replay(points, adaptive.Settings())
    assert [r["full"] for r in result["datasets"]] == ["switching base -> strong"] * 2
    assert result["agreement"] == 1.0
    # settled in round 1: 2 of 5 seeds at n = 512 and the coarse sizes 128, 32, 16 (every size of the user's curve)
    assert len(result["record"]["rounds"]) == 1
    assert result["points_ratio"] == pytest.approx((3 * 4 * 2 + 6 * 2) / (4 * 6 * 5))
    assert result["cpu_ratio"] < 1 / 3
    cost = adaptive.point_cost(points)
    assert result["grid_cpu_seconds"] == pytest.approx(cost.sum(), abs=1e-3)
    assert result["record"]["used_cpu_seconds"] == pytest.approx(result["cpu_ratio"] * cost.sum(), rel=1e-6)


def test_replay_of_an_open_decision_still_matches_the_full_grid():
    """Never settled: the policy measures every seed the decision reads, so it lands where the grid does."""
    points = contested()
    result = replay.replay(points, adaptive.Settings())
    assert result["record"]["stop"] == "exhausted"
    assert result["datasets"][0]["agree"] and not result["datasets"][0]["full_settled"]
    # settled or not, the replay compares the kind of answer too: a settled decision settles only that
    row = result["datasets"][0]
    assert row["same_answer"] and row["full_answer"] == row["adaptive_answer"] in ("a better model", "more data")
    assert result["answer_agreement"] == 1.0
    # every seed of the user's curve and of the two rivals at n = 512, the coarse sketch on 2 seeds
    assert result["points_ratio"] == pytest.approx((6 * 5 + 2 * (5 + 3 * 2) + 4 * 2) / 120)


def test_replay_counts_tuning_time_when_stored():
    points = synthetic_points()
    plain = replay.replay(points, adaptive.Settings())
    tuned = replay.replay(points.assign(tune_seconds=1.0), adaptive.Settings())
    used = plain["record"]["used_points"]
    assert tuned["record"]["used_cpu_seconds"] == pytest.approx(plain["record"]["used_cpu_seconds"] + used)


def test_cli_prints_the_decision_the_cost_and_the_agreement(tmp_path, capsys):
    study = _write_study(tmp_path / "toy", synthetic_points())
    replay.main([str(study)])
    out = capsys.readouterr().out
    assert "replay of toy:" in out and "switching base -> strong" in out and "(same)" in out
    assert "agreement 100% of 1 decision(s) (100% on the kind of answer); CPU" in out


@pytest.mark.parametrize("args, words", [
    (["--confidence", "1.5"], "--confidence=1.5 must lie strictly between 0 and 1"),
    (["--budget", "0"], "--budget=0 must be positive"),
    (["--budget", "5"], "--budget=5 points is below one round"),
])
def test_cli_bad_input_is_one_sentence_and_exit_2(tmp_path, capsys, args, words):
    study = _write_study(tmp_path / "toy", synthetic_points())
    with pytest.raises(SystemExit) as info:
        replay.main([str(study), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and err[0].startswith("mvd-replay: error:") and words in err[0]


def test_cli_on_a_folder_without_points(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        replay.main([str(tmp_path)])
    assert info.value.code == 2 and "holds no points" in capsys.readouterr().err


@pytest.mark.parametrize("study", ["quickstart", "label_noise"])
@pytest.mark.slow
def test_committed_studies_meet_the_replay_targets(study):
    """Same decision as the full grid on every dataset, for at most a third of its CPU."""
    folder = ROOT / "results" / study
    if not (folder / "points").is_dir():
        pytest.skip(f"results/{study}/points is not in this checkout")
    from mvd import store

    result = replay.replay(store.load(folder), adaptive.Settings())
    assert result["agreement"] >= 0.9 and result["cpu_ratio"] <= 1 / 3, result["datasets"]
