"""The cardinality section of the report: head, torso and tail rows, and the opening sentences of a study whose
datasets differ only by their number of classes (``<name>_top<k>``), on a known-answer study."""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy import stats

from mvd.config import BusinessConfig, ReportConfig
from mvd.report import build
from mvd.report.cardinality import families
from mvd.report.summary import schema
from mvd.store import points_dir
from tests.synthetic_study import write_study

SIZES = (64, 128, 256, 512)
SEEDS = (0, 1, 2, 3, 4)
N_NOW = 256
GROUP_SHARE = {"head": 0.5, "torso": 0.4, "tail": 0.1}
# per dataset: logreg's group accuracy at 64 rows, what each doubling adds, and what forest adds on top
#   toy_top2: forest gains 11.7 points of accuracy, a doubling 1.6: a better model; most on the head for the model,
#             on the tail for the data
#   toy_top8: forest 7.0, a doubling 1.8: a better model
#   toy (all 40 classes): forest 3.0, a doubling 4.5: more data; the model helps the head, data the tail
KNOWN = {
    "toy_top2": ({"head": 0.80, "torso": 0.70, "tail": 0.60}, {"head": 0.01, "torso": 0.01, "tail": 0.06},
                 {"head": 0.15, "torso": 0.10, "tail": 0.02}, 2),
    "toy_top8": ({"head": 0.70, "torso": 0.50, "tail": 0.30}, {"head": 0.01, "torso": 0.02, "tail": 0.05},
                 {"head": 0.10, "torso": 0.05, "tail": 0.00}, 8),
    "toy": ({"head": 0.60, "torso": 0.40, "tail": 0.10}, {"head": 0.02, "torso": 0.05, "tail": 0.15},
            {"head": 0.06, "torso": 0.00, "tail": 0.00}, 40),
}
NOISE = 0.004


def _group_accuracy(dataset: str, model: str, n: int, rng) -> dict:
    start, step, lift, _ = KNOWN[dataset]
    d = np.log2(n / SIZES[0])
    return {g: float(np.clip(start[g] + step[g] * d + (lift[g] if model == "forest" else 0.0)
                             + rng.normal(0, NOISE), 0, 1)) for g in start}


def write_family(path) -> pd.DataFrame:
    """The known-answer family through the store layout (one parquet per curve, one saved config per curve), with
    the decision made at n = 256 so that doubling the labels is measured (at 512)."""
    rng = np.random.default_rng(0)
    folder = points_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    (path / "configs").mkdir(parents=True, exist_ok=True)
    every = []
    for dataset, (*_, classes) in KNOWN.items():
        confusion = np.zeros((classes, classes), dtype=int)
        confusion[0, 0] = 1000   # 1,000 test rows: one test example is 0.1 points
        for model, rank in (("logreg", 1), ("forest", 3)):
            run_id = f"{dataset}-{model}-clean0-none"
            rows = []
            for n in SIZES:
                for seed in SEEDS:
                    g = _group_accuracy(dataset, model, n, rng)
                    rows.append({"study": path.name, "run_id": run_id, "dataset": dataset, "task": "classification",
                                 "modality": "tabular", "model": model, "sophistication": rank, "quality": "clean",
                                 "quality_rate": 0.0, "cleaning": "none", "train_size": n, "n_fit": n, "seed": seed,
                                 "primary_metric": "accuracy", "status": "ok", "fit_seconds": 1e-4 * n,
                                 "predict_seconds": 1e-4, "tuned": False, "tune_seconds": 0.0,
                                 "fixed_test_set": False, "confusion": json.dumps(confusion.tolist()),
                                 "test_accuracy": sum(GROUP_SHARE[k] * v for k, v in g.items()),
                                 **{f"test_{k}_accuracy": v for k, v in g.items()}})
            frame = pd.DataFrame(rows)
            frame.to_parquet(folder / f"{run_id}.parquet", index=False)
            every.append(frame)
            config = {"study": path.name, "question": "As the classes grow, model or data?",
                      "business": vars(BusinessConfig()), "report": {**vars(ReportConfig()), "bootstrap": 200},
                      "verdict": {"n_now": N_NOW}}
            (path / "configs" / f"{run_id}.yaml").write_text(OmegaConf.to_yaml(config))
    return pd.concat(every, ignore_index=True)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    study = tmp_path_factory.mktemp("cardinality") / "card"
    points = write_family(study)
    build(study)
    return points, json.loads((study / "summary.json").read_text()), (study / "report.md").read_text()


def test_families_group_the_datasets_that_differ_only_by_top_classes():
    got = families(["places_region_top32", "places_region", "places_region_top8", "digits", "places_country_top2",
                    "places_country_top32"])
    assert got == {"places_country": [("places_country_top2", 2), ("places_country_top32", 32)],
                   "places_region": [("places_region_top8", 8), ("places_region_top32", 32), ("places_region", None)]}
    assert families(["digits", "adult", "letter"]) == {}
    assert families(["digits", "digits_top4"]) == {"digits": [("digits_top4", 4), ("digits", None)]}


def _paired(points, dataset, group, a, b):
    """The mean and Student's t-interval over seeds of group accuracy a minus b, in points: a and b are (model, n)."""
    col = f"test_{group}_accuracy"
    mine = points[points["dataset"] == dataset].set_index(["model", "train_size", "seed"])[col]
    diff = 100 * np.array([mine[(*a, s)] - mine[(*b, s)] for s in SEEDS])
    half = stats.t.ppf(0.975, len(SEEDS) - 1) * diff.std(ddof=1) / np.sqrt(len(SEEDS))
    return diff.mean(), diff.mean() - half, diff.mean() + half


@pytest.mark.slow
def test_group_gains_are_the_paired_seed_differences_at_the_operating_point(built):
    points, summary, _ = built
    jsonschema.validate(summary, schema())
    for dataset in KNOWN:
        g = summary["cardinality"]["groups"][dataset]
        assert (g["n_now"], g["n_half"], g["model"], g["lever_model"]) == (N_NOW, N_NOW // 2, "logreg", "forest")
        assert g["model_lever"] == "switching logreg -> forest" and g["note"] is None
        assert g["interval_covers"].startswith("intervals cover training sample, model seed and test sample")
        assert [r["group"] for r in g["rows"]] == ["head", "torso", "tail"]
        for r in g["rows"]:
            model = _paired(points, dataset, r["group"], ("forest", N_NOW), ("logreg", N_NOW))
            data = _paired(points, dataset, r["group"], ("logreg", N_NOW), ("logreg", N_NOW // 2))
            assert (r["model_gain"], r["model_ci_low"], r["model_ci_high"]) == pytest.approx(model, abs=1e-3)
            assert (r["data_gain"], r["data_ci_low"], r["data_ci_high"]) == pytest.approx(data, abs=1e-3)
            assert r["difference"] == pytest.approx(model[0] - data[0], abs=1e-3)


@pytest.mark.slow
def test_data_helps_the_tail_and_the_model_the_head_where_the_classes_are_many(built):
    _, summary, md = built
    rows = {r["group"]: r for r in summary["cardinality"]["groups"]["toy"]["rows"]}
    # known: forest +6 points on the head, 0 on the tail; a doubling +2 on the head, +15 on the tail
    assert rows["head"]["more"] == "a better model" and rows["tail"]["more"] == "more data"
    assert rows["head"]["model_gain"] == pytest.approx(6.0, abs=1.0)
    assert rows["tail"]["data_gain"] == pytest.approx(15.0, abs=1.0)
    member = summary["cardinality"]["families"]["toy"]["members"][-1]
    assert member["model_gains_most"]["group"] == "head" and member["data_gains_most"]["group"] == "tail"
    assert "| toy | tail |" in md and "## Head, torso and tail: where more data helps and where a better model does" in md


@pytest.mark.slow
def test_the_decision_flips_from_model_to_data_as_the_classes_grow_and_the_report_opens_with_it(built):
    _, summary, md = built
    fam = summary["cardinality"]["families"]["toy"]
    assert [(m["dataset"], m["classes"], m["answer"], m["settled"]) for m in fam["members"]] == [
        ("toy_top2", 2, "a better model", True), ("toy_top8", 8, "a better model", True),
        ("toy", 40, "more data", True)]
    assert fam["direction"] == "moves from a better model to more data"
    assert fam["sentences"][0] == ("As the classes grow on toy (2, 8 and all 40 classes, each at its operating "
                                   "point), the next unit of effort moves from a better model to more data (settled "
                                   "at 3 of 3).")
    lines = md.split("\n")
    assert lines[0] == "# mvd report: card" and lines[2] == " ".join(summary["cardinality"]["opening"])


_MEMBER = re.compile(
    r"At (?P<label>all \d+|\d+) classes \(n = (?P<n>[\d,]+), (?P<model>\w+)\): (?P<answer>a better model|more data), "
    r"(?P<chosen>.+?) (?P<gain>[+−]\d+\.\d) \[(?P<lo>−?\d+\.\d), (?P<hi>−?\d+\.\d)\] points of accuracy, "
    r"(?P<state>settled|open) against (?P<rival>.+?) \(ahead by (?P<adv>[+−]\d+\.\d) \[(?P<alo>−?\d+\.\d), "
    r"(?P<ahi>−?\d+\.\d)\]\); in accuracy points, (?P<lever>\w+) gains most on the (?P<mg>head|torso|tail) "
    r"\((?P<mgain>[+−]\d+\.\d) \[(?P<mlo>−?\d+\.\d), (?P<mhi>−?\d+\.\d)\]\) and the last doubling of rows "
    r"\((?P<half>[\d,]+) to (?P<now>[\d,]+)\) most on the (?P<dg>head|torso|tail) \((?P<dgain>[+−]\d+\.\d) "
    r"\[(?P<dlo>−?\d+\.\d), (?P<dhi>−?\d+\.\d)\]\)\.$")


def _f(text: str) -> float:
    return float(text.replace("−", "-").replace(",", ""))


@pytest.mark.slow
def test_every_opening_sentence_is_true_of_summary_json(built):
    _, summary, _ = built
    fam = summary["cardinality"]["families"]["toy"]
    assert summary["cardinality"]["opening"] == fam["sentences"]
    for m, sentence in zip(fam["members"], fam["sentences"][1:], strict=True):
        got = _MEMBER.match(sentence)
        assert got, sentence
        assert got["label"] == (str(m["top_classes"]) if m["top_classes"] else f"all {m['classes']}")
        assert (_f(got["n"]), got["model"], got["answer"], got["chosen"], got["rival"]) == \
            (m["n_now"], m["model"], m["answer"], m["chosen"], m["rival"])
        assert (got["state"] == "settled") == m["settled"]
        close = lambda text, value: abs(_f(text) - value) <= 0.05 + 1e-9  # noqa: E731
        for key, field in (("gain", "gain"), ("lo", "ci_low"), ("hi", "ci_high"), ("adv", "advantage"),
                           ("alo", "advantage_ci_low"), ("ahi", "advantage_ci_high")):
            assert close(got[key], m[field]), (key, sentence)
        assert got["lever"] == m["lever_model"] and _f(got["half"]) == m["n_half"] and _f(got["now"]) == m["n_now"]
        for prefix, most in (("m", m["model_gains_most"]), ("d", m["data_gains_most"])):
            assert got[f"{prefix}g"] == most["group"]
            assert all(close(got[prefix + k], most[f]) for k, f in (("gain", "gain"), ("lo", "ci_low"),
                                                                     ("hi", "ci_high")))
        # and the group named is the one whose gain is largest in the group rows
        rows = summary["cardinality"]["groups"][m["dataset"]]["rows"]
        assert most["group"] == max(rows, key=lambda r: r["data_gain"])["group"]
        assert m["model_gains_most"]["group"] == max(rows, key=lambda r: r["model_gain"])["group"]


@pytest.mark.slow
def test_a_study_without_a_cardinality_family_has_no_section(tmp_path):
    study = write_study(tmp_path / "plain", models={"base": (1, 2.0, 0.5, 0.15), "strong": (3, 1.0, 0.5, 0.03)},
                        datasets=("toy", "other"), report={"bootstrap": 50})
    build(study)
    summary = json.loads((study / "summary.json").read_text())
    assert "cardinality" not in summary
    md = (study / "report.md").read_text()
    assert "Head, torso and tail" not in md and "As the classes grow" not in md


def test_the_last_doubling_on_a_pool_that_ends_the_grid_starts_nearest_half_of_it(tmp_path):
    """Sizes 64, 128, 256 and a pool of 500 rows: the doubling into 500 is measured from 256, and a model lever read
    past the measured sizes is no group row's lever."""
    from types import SimpleNamespace

    from mvd.report.aggregate import SeedResamples
    from mvd.report.cardinality import group_rows
    from mvd.report.study import score_points

    points, _ = score_points(write_family(tmp_path).replace({"train_size": {512: 500}}))
    toy = points[points["dataset"] == "toy"]
    q = ("clean", 0.0, "none")
    lever = lambda model, gain, extrapolated: SimpleNamespace(  # noqa: E731
        name=f"switching logreg -> {model}", answer="a better model", model=model, data=q, gain=gain,
        extrapolated=extrapolated, family="pow3" if extrapolated else None)
    decision = SimpleNamespace(dataset="toy", model="logreg", data=q, n_now=500.0,
                               levers=[lever("forest", 3.0, False), lever("ghost", 9.0, True)])
    rs = SeedResamples(SEEDS, n=200, seed=0)
    g = group_rows(toy, decision, rs)
    assert (g["n_half"], g["lever_model"], g["note"]) == (256, "forest", None)
    head = next(r for r in g["rows"] if r["group"] == "head")
    assert head["data_gain"] == pytest.approx(_paired(points, "toy", "head", ("logreg", 500), ("logreg", 256))[0])
    # no other model measured there: the rows say so, and carry no model gain
    decision.levers = [lever("ghost", 9.0, True)]
    g = group_rows(toy, decision, rs)
    assert g["lever_model"] is None and g["note"] == "no other model was measured at n = 500"
    assert all(r["model_gain"] is None or not np.isfinite(r["model_gain"]) for r in g["rows"])


def test_a_cardinality_where_no_lever_gains_a_test_example_says_so_and_does_not_move_the_direction():
    from mvd.levers import gains_nothing
    from mvd.report.cardinality import NOTHING, _direction

    assert gains_nothing(0.05, n_test=1000, tolerance=0.1) and not gains_nothing(0.1, n_test=1000, tolerance=0.1)
    assert gains_nothing(0.0, n_test=None, tolerance=1e-9)
    members = [{"answer": NOTHING}, {"answer": "a better model"}, {"answer": "more data"}, {"answer": "more data"}]
    assert _direction(members) == "moves from a better model to more data"
    assert _direction(members[:2]) == "stays with a better model at every number of classes"
    assert _direction([{"answer": NOTHING}]) == "no lever gains at any number of classes"
    assert _direction(members[1:] + [{"answer": "a better model"}]) == \
        "changes with the classes: a better model, then more data, then a better model"


def test_of_model_levers_tied_for_the_best_the_group_rows_read_the_one_the_decision_chose():
    from types import SimpleNamespace

    from mvd.report.cardinality import _best_model_lever

    lv = lambda name, gain: SimpleNamespace(name=name, answer="a better model", gain=gain,  # noqa: E731
                                            extrapolated=False, family=None)
    levers = [lv("switching a -> knn", 0.0), lv("switching a -> forest", 0.0), lv("switching a -> tree", -5.0)]
    d = SimpleNamespace(levers=levers, tie_tolerance=0.1, chosen="switching a -> forest",
                        ties=["switching a -> knn"])
    assert _best_model_lever(d).name == "switching a -> forest"
    d.chosen, d.ties = "the next 128 labels", ["switching a -> forest"]
    assert _best_model_lever(d).name == "switching a -> forest"
    d.ties = []
    assert _best_model_lever(d).name == "switching a -> knn"     # the first in the decision's order


def _structure_points() -> pd.DataFrame:
    """places-like points of one dataset: hierarchical 2 points above forest, which stops at 256 rows; logreg 30
    below; knn level with it but noisier; a tuned forest and the dummy, which the comparison leaves out."""
    rng = np.random.default_rng(1)
    offset = {"forest": -0.02, "logreg": -0.30, "knn": 0.0, "forest (tuned)": +0.05, "dummy": -0.5}
    rows = []
    for model, sizes in (("hierarchical", SIZES), ("forest", SIZES[:3]), ("logreg", SIZES), ("knn", SIZES),
                         ("forest (tuned)", SIZES), ("dummy", SIZES)):
        for n in sizes:
            for seed in SEEDS:
                base = 0.5 + 0.05 * np.log2(n / 64) + 0.01 * seed   # shared by every model of the seed: paired
                score = base + offset.get(model, 0.0) + rng.normal(0, 0.02 if model == "knn" else 0.002)
                rows.append({"dataset": "toy", "model": model, "quality": "clean", "quality_rate": 0.0,
                             "cleaning": "none", "train_size": n, "seed": seed, "score": score,
                             "test_accuracy": score + 0.1})
    return pd.DataFrame(rows)


def test_the_hierarchical_rung_meets_each_flat_rung_at_the_largest_size_both_ran():
    from types import SimpleNamespace

    from mvd.report.aggregate import SeedResamples
    from mvd.report.cardinality import structure

    points = _structure_points()
    decision = SimpleNamespace(dataset="toy", data=("clean", 0.0, "none"), metric="macro_f1", unit="points")
    found = structure(points, decision, SeedResamples(list(SEEDS), n=400, seed=0))
    rows = {r["flat"]: r for r in found["rows"]}
    assert set(rows) == {"forest", "logreg", "knn"} and found["largest"] == 512   # no dummy, no tuned curve
    assert (rows["forest"]["n"], rows["logreg"]["n"], rows["knn"]["n"]) == (256, 512, 512)
    for flat, r in rows.items():
        wide = points.set_index(["model", "train_size", "seed"])["score"]
        diff = 100 * np.array([wide[("hierarchical", r["n"], s)] - wide[(flat, r["n"], s)] for s in SEEDS])
        half = stats.t.ppf(0.975, len(SEEDS) - 1) * diff.std(ddof=1) / np.sqrt(len(SEEDS))
        assert (r["lead"], r["lead_ci_low"], r["lead_ci_high"]) == pytest.approx(
            (diff.mean(), diff.mean() - half, diff.mean() + half), abs=1e-6)
        assert r["accuracy_lead"] == pytest.approx(diff.mean(), abs=1e-6)   # accuracy is the score + 0.1 here
    assert (rows["forest"]["verdict"], rows["logreg"]["verdict"], rows["knn"]["verdict"]) == ("beats", "beats", "ties")
    assert rows["logreg"]["lead"] == pytest.approx(30.0, abs=0.5) and rows["forest"]["lead"] == pytest.approx(2.0, abs=0.5)
    # a flat rung ahead of it is said to win
    flipped = points.assign(score=np.where(points["model"] == "forest", points["score"] + 0.05, points["score"]))
    assert {r["flat"]: r["verdict"] for r in structure(flipped, decision, SeedResamples(list(SEEDS), n=400,
                                                                                          seed=0))["rows"]}["forest"] \
        == "loses to"
    # a dataset where the rung did not run has no comparison
    assert structure(points[points["model"] != "hierarchical"], decision, SeedResamples(list(SEEDS), n=400)) is None


def test_the_structure_sentence_states_every_pair_as_summary_json_holds_it():
    from types import SimpleNamespace

    from mvd.report.aggregate import SeedResamples
    from mvd.report.cardinality import _structure_sentence, structure

    decision = SimpleNamespace(dataset="toy", data=("clean", 0.0, "none"), metric="macro_f1", unit="points")
    found = structure(_structure_points(), decision, SeedResamples(list(SEEDS), n=400, seed=0))
    text = _structure_sentence({"top_classes": None, "classes": 3789}, found)
    assert text.startswith("At all 3,789 classes, at the largest size each pair ran, the hierarchical rung beats flat ")
    for r in found["rows"]:
        lead = f"{r['lead']:+.1f} [{r['lead_ci_low']:.1f}, {r['lead_ci_high']:.1f}]".replace("-", "−")
        assert f"{r['verdict']} flat {r['flat']} at {r['n']:,} rows ({lead} points of macro_f1; accuracy " in text


def test_the_test_rows_a_subset_never_saw_are_counted_per_size_and_said_in_one_sentence():
    from mvd.report.cardinality import unseen, unseen_sentence

    rows = []
    for model in ("logreg", "forest"):
        for n, counts in ((64, (600, 640)), (128, (300, 320)), (256, (0, 0)), (512, (0, 0))):
            for seed, c in enumerate(counts):
                rows.append({"dataset": "toy", "model": model, "quality": "clean", "quality_rate": 0.0,
                             "cleaning": "none", "train_size": n, "seed": seed, "n_test_unseen": c})
    rows.append({**rows[0], "quality": "label_noise", "quality_rate": 0.2, "n_test_unseen": 9999})  # other data
    found = unseen(pd.DataFrame(rows), ("clean", 0.0, "none"), 2000)
    assert found == {"data": ["clean", 0.0, "none"], "n_test": 2000.0, "sizes": [64, 128, 256, 512],
                     "rows": [620.0, 310.0, 0.0, 0.0]}
    assert unseen_sentence(found, n_now=128) == (
        "Test rows in classes the training subset never saw (mean over seeds and models, clean data): "
        "620 of 2,000 (31.0%) at 64 rows, 310 of 2,000 (15.5%) at 128 rows, 0 of 2,000 (0.0%) at 512 rows; "
        "none from 256 rows.")
    assert unseen_sentence({**found, "n_test": None}).startswith("Test rows in classes the training subset never "
                                                                 "saw (mean over seeds and models, clean data): 620 at 64 rows, 0 at 512 rows")
    # no test row outside the subsets' classes, or no count at all: nothing to say
    assert unseen(pd.DataFrame(rows).assign(n_test_unseen=0), ("clean", 0.0, "none"), 2000) is None
    assert unseen(pd.DataFrame(rows).drop(columns="n_test_unseen"), ("clean", 0.0, "none"), 2000) is None
