"""What pretraining is worth in labels (mvd.report.pretraining): known answers on text-like curves."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mvd.report import pretraining
from mvd.report.study import score_points
from tests.report_helpers import curves_of, lever_points

SIZES = (16, 32, 64, 128, 256, 512, 1024)
OFFSETS = np.array([-2, -1, 0, 1, 2]) * 1e-4     # five seeds around the curve: exact means, narrow intervals


def bow(n, floor=0.02):
    """Bag-of-words' error: a power law."""
    return 0.5 * np.asarray(n, dtype=float) ** -0.5 + floor


def study(errors: dict) -> tuple[dict, dict]:
    """Curves of dataset 'toy' from ``{(model, sophistication): error(n)}``."""
    curves = {key: {n: list(1.0 - (err(n) + OFFSETS)) for n in SIZES} for key, err in errors.items()}
    points, _ = score_points(lever_points(curves))   # the report's score and error columns, tuned names
    ranks = points.groupby("model")["sophistication"].max().to_dict()
    return curves_of(points, ranks)


def section(errors: dict, n_now=None) -> list[dict]:
    curves, rs = study(errors)
    return pretraining.section(curves, "toy", rs["toy"], n_now=n_now, covers="intervals cover the training sample")


def by_size(entry: dict) -> dict:
    return {r["train_size"]: r for r in entry["rows"]}


def test_reaching_at_n_what_bag_of_words_reaches_at_4n_is_worth_4x():
    [entry] = section({("logreg", 1): bow, ("wordllama", 5): lambda n: bow(4 * np.asarray(n))})
    rows = by_size(entry)
    for n in (16, 32, 64, 128, 256):
        r = rows[n]
        assert r["kind"] == "measured" and not r["loss"]
        assert r["multiplier"] == pytest.approx(4.0, rel=0.02)
        assert r["n_needed"] == pytest.approx(4 * n, rel=0.02)
        assert r["ci_low"] <= 4.0 * 1.02 and r["ci_high"] >= 4.0 / 1.02
        assert r["words"].startswith(f"pretrained embeddings are worth {r['display']} the labels at n = {n:,}")
    # past bag-of-words' largest size (1,024) the answer is a bound in words
    assert rows[512]["kind"] == "at_least" and rows[512]["multiplier"] == pytest.approx(2.0)
    assert "worth at least 2x the labels" in rows[512]["words"] and "up to 1,024 rows" in rows[512]["words"]
    assert rows[1024]["kind"] == "at_least" and "no loss" in rows[1024]["words"]
    assert (entry["model"], entry["bag_of_words"]) == ("wordllama", "logreg")
    assert "Intervals wholly above or below 1: a gain at n = 16 to 256 (largest: " in entry["sentence"]
    assert "a loss" not in entry["sentence"]


def test_between_measured_sizes_the_multiplier_is_interpolated_in_log_n():
    [entry] = section({("logreg", 1): bow, ("wordllama", 5): lambda n: bow(3 * np.asarray(n))})
    for n in (16, 32, 64, 128):
        r = by_size(entry)[n]
        assert r["kind"] == "measured" and r["multiplier"] == pytest.approx(3.0, rel=0.1)


def test_a_loss_is_worded_as_one():
    [entry] = section({("logreg", 1): bow, ("wordllama", 5): lambda n: bow(np.asarray(n) / 4)})
    rows = by_size(entry)
    for n in (128, 256, 512, 1024):   # bag-of-words matches with a quarter of the rows, inside its range
        r = rows[n]
        assert r["kind"] == "measured" and r["loss"] and r["multiplier"] == pytest.approx(0.25, rel=0.02)
        assert r["words"].startswith(f"pretraining costs labels at n = {n:,}: bag-of-words needs only "
                                     f"{r['display']} the rows")
        assert "worth" not in r["words"]
    # at 32 bag-of-words already matches at its smallest size: a bound below 1, still a loss
    assert rows[32]["kind"] == "at_most" and rows[32]["loss"] and rows[32]["multiplier"] == pytest.approx(0.5)
    assert "pretraining costs labels" in rows[32]["words"] and "at most 0.5x the rows" in rows[32]["words"]
    assert rows[16]["kind"] == "at_most" and not rows[16]["loss"] and "gains no labels" in rows[16]["words"]
    # the operating point: the largest size at or below n_now
    [at] = section({("logreg", 1): bow, ("wordllama", 5): lambda n: bow(np.asarray(n) / 4)}, n_now=300)
    assert at["operating_size"] == 256
    assert "Intervals wholly above or below 1: a loss at n = 128 to 1,024 (deepest: 0.25x" in at["sentence"]
    assert at["sentence"].startswith("On toy (clean data, wordllama against logreg), pretraining costs labels "
                                     "at n = 256")


def test_two_flat_curves_tie_rather_than_lose():
    # both still predict the majority class up to 64 rows (one error rate), then learn
    flat = lambda n, start: np.where(np.asarray(n) <= start, 0.134, bow(n) * 0.134 / bow(start))  # noqa: E731
    [entry] = section({("logreg", 1): lambda n: flat(n, 64), ("wordllama", 5): lambda n: flat(n, 64)})
    rows = by_size(entry)
    for n in (32, 64):   # bag-of-words reaches that error at 16 rows, and is no better with n rows: a tie
        r = rows[n]
        assert r["kind"] == "at_most" and r["multiplier"] == pytest.approx(16 / n)
        assert r["tie"] and not r["loss"]
        assert r["words"].startswith(f"pretraining gains no labels at n = {n:,}") and "costs" not in r["words"]
    assert [b for b in pretraining.blocks([entry]) if b[0] == "table"][0][2][2] == ["64", "≤ 0.25x (tie)"]


def test_past_a_trusted_floor_it_is_never_and_an_untrusted_one_only_bounds_it():
    # bag-of-words levels off at 0.1 (a clean power law: its fit is trusted); the pretrained rung is below it
    [never] = section({("logreg", 1): lambda n: bow(n, floor=0.1), ("wordllama", 5): lambda n: 0.08 + 0 * bow(n)})
    r = by_size(never)[64]
    assert r["kind"] == "never" and r["multiplier"] is None and r["floor"] == pytest.approx(0.1, abs=0.01)
    assert "never, by extrapolation of a fit with R² >= 0.9" in r["words"]
    # a bag-of-words curve no fit describes (it zigzags): past its sizes only a bound, never 'never'
    zigzag = {n: 0.2 + (0.03 if i % 2 else -0.03) for i, n in enumerate(SIZES)}
    [bound] = section({("logreg", 1): lambda n: np.vectorize(zigzag.get)(n), ("wordllama", 5): lambda n: 0.1 + 0 * bow(n)})
    r = by_size(bound)[16]
    assert r["kind"] == "at_least" and r["multiplier"] == pytest.approx(64.0)
    assert "worth at least 64x the labels at n = 16" in r["words"]
    assert not any(x["kind"] == "never" for x in bound["rows"])


def test_tuned_is_paired_with_tuned_and_a_missing_pair_has_no_section():
    errors = {("logreg", 1): bow, ("wordllama", 5): lambda n: bow(4 * np.asarray(n)),
              ("logreg (tuned)", 1): lambda n: bow(2 * np.asarray(n)),
              ("wordllama (tuned)", 5): lambda n: bow(4 * np.asarray(n))}
    default, tuned = section(errors)
    assert (tuned["model"], tuned["bag_of_words"]) == ("wordllama (tuned)", "logreg (tuned)")
    assert by_size(tuned)[64]["multiplier"] == pytest.approx(2.0, rel=0.02)   # against the tuned head, not 4x
    assert by_size(default)[64]["multiplier"] == pytest.approx(4.0, rel=0.02)
    # no tuned head: the tuned pretrained curve has no pair; no pretrained rung or no head: no section
    assert [e["model"] for e in section({k: v for k, v in errors.items() if k[0] != "logreg (tuned)"})] == ["wordllama"]
    assert section({("logreg", 1): bow, ("nb", 2): bow}) == []
    assert section({("wordllama", 5): bow, ("nb", 2): bow}) == []
    assert pretraining.blocks([]) == []


def _write(tmp_path, models):
    from tests.synthetic_study import write_study

    return write_study(tmp_path / "s", models=models, sizes=SIZES, seeds=(0, 1, 2, 3, 4), noise=0.001)


def test_the_summary_and_report_say_what_summary_json_holds(tmp_path):
    from mvd.report import build

    # wordllama reaches at n what logreg reaches at 4n; tuned, it levels off above tuned logreg (a loss at large n)
    path = _write(tmp_path, {"logreg": (1, 0.5, 0.5, 0.02), "wordllama": (5, 0.25, 0.5, 0.02),
                             "logreg (tuned)": (1, 0.5, 0.5, 0.02), "wordllama (tuned)": (5, 0.1, 0.5, 0.08)})
    build(path, bootstrap=100)   # the summary is checked against its schema there
    summary = json.loads((path / "summary.json").read_text())
    ds = summary["datasets"]["synth"]
    entries = {e["model"]: e for e in ds["pretraining"]}
    assert sorted(entries) == ["wordllama", "wordllama (tuned)"]
    n_now = ds["decision"]["n_now"]
    for e in entries.values():
        at = by_size(e)[e["operating_size"]]
        assert e["operating_size"] == max(n for n in e["sizes"] if n <= n_now)
        assert e["sentence"].startswith(f"On synth (clean data, {e['model']} against {e['bag_of_words']}), "
                                        f"{at['words']}")
        assert f"seeds {ds['seeds']}" in e["rests_on"] and ds["interval_covers"]["phrase"] in e["rests_on"]
        for r in e["rows"]:
            if r["kind"] == "measured":
                assert f"{r['multiplier']:.3g}x" in r["words"] and f"{r['n_needed']:,.0f} rows" in r["words"]
                assert r["loss"] == (r["multiplier"] < 1 and not r["tie"])
                assert ("costs labels" in r["words"]) == r["loss"]
    tuned = by_size(entries["wordllama (tuned)"])
    assert tuned[1024]["loss"] and tuned[1024]["multiplier"] < 0.2 and tuned[16]["multiplier"] > 1
    default = by_size(entries["wordllama"])
    assert default[64]["multiplier"] == pytest.approx(4.0, rel=0.15)
    report = (path / "report.md").read_text()
    assert f"### {pretraining.TITLE}" in report
    assert entries["wordllama (tuned)"]["sentence"] in report
    assert f"| 1,024 | {default[1024]['display']} | {tuned[1024]['display']} (loss) |" in report


def test_a_study_without_a_pretrained_rung_has_no_section(tmp_path):
    from mvd.report import build

    path = _write(tmp_path, {"logreg": (1, 0.5, 0.5, 0.02), "forest": (3, 0.25, 0.5, 0.02)})
    build(path, bootstrap=50)
    assert "pretraining" not in json.loads((path / "summary.json").read_text())["datasets"]["synth"]
    assert pretraining.TITLE not in (path / "report.md").read_text()


def test_sizes_are_named_as_runs_of_consecutive_measured_sizes():
    order = [16, 23, 32, 45, 64, 91]
    assert pretraining._runs([16, 32, 64, 91], order) == "n = 16, 32 and 64 to 91"
    assert pretraining._runs([23], order) == "n = 23"
