"""The report's first sentence per dataset: one action, its gain, its ties, whether it is settled against the other
kinds of answer, in plain words and at most 40 words; the datasets by their best gain; every model named or
explained; the sentence said once."""

from __future__ import annotations

import json
import re

import jsonschema
import numpy as np
import pytest

from mvd.report.cli import main as report_main
from mvd.report.decision import decide
from mvd.report.lead import MAX_WORDS, also_measured, lead, order, unfit_at
from mvd.report.summary import schema
from tests.report_helpers import lever_points
from tests.synthetic_study import write_study

BASE_128 = np.array([0.800, 0.801, 0.799, 0.800, 0.800])
SWING = np.array([0.01, -0.01, 0.01, -0.01, 0.01])
# curve families, the backtest's words and the levers' display arrows stay in the dataset's section
JARGON = re.compile(r"pow3|pow4|mmf4|loglinear|log-linear|last curve|gain model|family|->|steady|"
                    r"ill-behaved|\(flat\)")


def _decision(curves: dict, **kw) -> dict:
    return decide(lever_points(curves), n_now=128, **kw)["toy"].to_dict()


def _interval(d: dict, name: str) -> str:
    lv = next(lv for lv in d["levers"] if lv["lever"] == name)
    return f"[{lv['ci_low']:.1f}, {lv['ci_high']:.1f}]".replace("-", "−")


def _lead_interval(d: dict, answer: str) -> str:
    ld = d["settled_against"][answer]
    return f"[{ld['ci_low']:.1f}, {ld['ci_high']:.1f}]".replace("-", "−")


def _plain(sentence: str) -> None:
    assert len(sentence.split()) <= MAX_WORDS, sentence
    assert not JARGON.search(sentence), sentence
    assert sentence.count(". ") == 0 and sentence.endswith("."), sentence  # one sentence


def test_a_settled_switch_reads_as_an_action_with_its_gain_and_the_kind_it_is_settled_against():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01}, ("strong", 3): {128: BASE_128 + 0.10 + SWING}})
    assert d["chosen"] == "switching base -> strong" and d["settled"]
    text = lead(d)
    assert text == (f"On toy at 128 rows: switch base to strong (+10.2 points "
                    f"{_interval(d, 'switching base -> strong')}); settled against more data.")
    _plain(text)


def test_a_gain_in_points_of_a_metric_other_than_accuracy_names_the_metric():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01}, ("strong", 3): {128: BASE_128 + 0.10 + SWING}})
    assert lead({**d, "metric": "macro_f1"}).startswith("On toy at 128 rows: switch base to strong (+10.2 points of "
                                                        "macro_f1 [")
    assert lead(d).startswith("On toy at 128 rows: switch base to strong (+10.2 points [")  # accuracy: plain points


def test_an_open_decision_names_the_best_lever_of_the_kind_it_is_open_against():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.10 + SWING},
                   ("strong", 3): {128: BASE_128 + 0.10 - SWING}, ("weak", 2): {128: BASE_128 + 0.02}})
    assert d["chosen"] == "the next 128 labels" and not d["settled"]
    text = lead(d)
    assert text == (f"On toy at 128 rows: double the labels to 256 rows (+10.2 points "
                    f"{_interval(d, 'the next 128 labels')}); not yet settled against switching to strong "
                    f"(ahead by +0.4 {_lead_interval(d, 'a better model')}).")
    _plain(text)
    # the weak model is not in the sentence: it is named below it, behind
    assert also_measured(d, models=["base", "weak", "strong"]) == "Also measured: weak (+2.0 points, behind)."


def test_ties_are_named_together_and_never_broken_by_name():
    strong = BASE_128 + 0.18
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01}, ("zeta", 3): {128: strong},
                   ("alpha", 2): {128: strong + 1e-15}, ("gamma", 4): {128: strong - 1e-15}})
    assert len(d["ties"]) == 2
    text = lead(d)
    assert re.fullmatch(r"On toy at 128 rows: switch base to (alpha|gamma|zeta) \(\+18\.0 points \[18\.0, 18\.0\]; "
                        r"(alpha|gamma|zeta), (alpha|gamma|zeta) and (alpha|gamma|zeta) tie\); settled against more "
                        r"data\.", text), text
    assert {m for m in ("alpha", "gamma", "zeta") if text.count(m) == 2} == {d["chosen"].split("-> ")[1]}
    _plain(text)
    assert also_measured(d, models=["base", "alpha", "zeta", "gamma"]) == ""  # the sentence names every model


def test_tuning_tied_with_a_switch_names_both_models_and_neither_is_listed_again():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01}, ("base (tuned)", 1): {128: BASE_128 + 0.05},
                   ("other", 2): {128: BASE_128 + 0.05}}, business={"cost_per_compute_hour": 0.0})
    assert {d["chosen"], *d["ties"]} == {"tuning base", "switching base -> other"}
    text = lead(d)
    assert re.search(r"\(\+5\.0 points \[5\.0, 5\.0\]; (base \(tuned\) and other|other and base \(tuned\)) tie\); "
                     r"settled against more data\.$", text), text
    assert also_measured(d, models=["base", "base (tuned)", "other"]) == ""


def test_a_tie_across_kinds_names_both_actions():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.05},
                   ("strong", 3): {128: BASE_128 + 0.05 + 1e-15}})
    text = lead(d)
    assert re.fullmatch(r"On toy at 128 rows: (switch base to strong|double the labels to 256 rows) \(\+5\.0 points "
                        r"\[5\.0, 5\.0\]\); not yet settled against (doubling the labels|switching to strong) "
                        r"\(a tie\)\.", text), text
    _plain(text)


def test_when_nothing_gains_a_test_example_it_says_so_and_to_keep_the_model_and_the_data():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.0004}, ("strong", 3): {128: BASE_128 + 0.0005}})
    text = lead(d)
    assert text.startswith("On toy at 128 rows: nothing measured gains a test example (best: ")
    assert text.endswith("); keep base and the data you have.") and "settled" not in text
    _plain(text)
    # without a test size (regression, or points that store none), a gain is anything above zero
    flat = decide(lever_points({("base", 1): {128: BASE_128, 256: BASE_128},
                                ("strong", 3): {128: BASE_128 - 0.05}}, n_test=None), n_now=128)["toy"].to_dict()
    assert lead(flat) == ("On toy at 128 rows: nothing measured improves on base (best: doubling the labels, "
                          "0.0 points [0.0, 0.0]); keep base and the data you have.")


def test_data_levers_and_the_operating_data_are_said_in_plain_words():
    noisy = BASE_128 - 0.2
    d = _decision({("base", 1, "label_noise", 0.4, "none"): {128: noisy, 256: noisy + 0.01},
                   ("base", 1, "clean", 0.0, "none"): {128: BASE_128},
                   ("base", 1, "label_noise", 0.4, "confident_learning"): {128: noisy + 0.1}})
    text = lead(d)
    assert text.startswith("On toy at 128 rows of label_noise 0.4 data: relabel every row (+20.0 points ")
    assert "settled against more data" in text
    _plain(text)
    cleaning = next(lv for lv in d["levers"] if lv["kind"] == "cleaning")
    assert lead({**d, "chosen": cleaning["lever"], "ties": [], "settled_against": {}, "settled": True}) == (
        "On toy at 128 rows of label_noise 0.4 data: clean the labels with confident_learning (+10.0 points "
        f"{_interval(d, cleaning['lever'])}); settled.")


def test_a_long_sentence_drops_its_details_to_stay_within_forty_words():
    d = _decision({("base", 1): {128: BASE_128, 256: BASE_128 + 0.10 + SWING},
                   ("strong", 3): {128: BASE_128 + 0.10 - SWING}})
    d = {**d, "dataset": "a_dataset_with_a_rather_long_name"}
    for lv in d["levers"]:
        lv["extrapolated"] = True
    rival = d["settled_against"]["a better model"]
    d["settled_against"] = {**d["settled_against"], "cleaner data": rival, "target data": rival,
                            "cleaner data and a better model": rival}
    text = lead(d)
    assert len(text.split()) <= MAX_WORDS and text.startswith("On a_dataset_with_a_rather_long_name at 128 rows: "
                                                               "double the labels to 256 rows (+10.2 points [")
    assert "not yet settled against switching to strong" in text


def test_datasets_are_ordered_by_their_best_gain_largest_first():
    def entry(gain):
        return {"decision": {"chosen": "x", "levers": [{"lever": "x", "gain": gain}]}}

    datasets = {"alpha": entry(0.2), "beta": entry(6.4), "gamma": entry(-1.0), "delta": {"decision": {"levers": []}},
                "epsilon": entry(6.4)}
    assert order(datasets) == ["beta", "epsilon", "alpha", "gamma", "delta"]


def test_a_model_that_predicts_as_the_constant_at_the_operating_point_is_named_with_why():
    d = _decision({("dummy", 0): {128: BASE_128 * 0 + 0.5}, ("base", 1): {128: BASE_128, 256: BASE_128 + 0.01},
                   ("stump", 4): {128: BASE_128 * 0 + 0.5}, ("strong", 3): {128: BASE_128 + 0.10}})
    fits = {("toy", "stump", "clean", 0.0, "none"): [16, 32, 128], ("toy", "late", "clean", 0.0, "none"): [16, 32],
            ("toy", "stump", "label_noise", 0.4, "none"): [512]}
    assert unfit_at(fits, d) == {"stump": 128}                    # at 128 rows; 'late' fits from 33 rows on
    text = also_measured(d, models=["dummy", "base", "strong", "stump"], constant=["dummy"], unfit=unfit_at(fits, d))
    assert text == ("Also measured: dummy (the constant predictor, −30.0 points); stump (left out: up to 128 rows "
                    "it predicts as the constant does, −30.0 points).")


# ---------------------------------------------------------------- through mvd-report on a known-answer study


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two datasets: on 'steep' a stronger model gains 16.4 points, far more than doubling the labels could (and a
    rung predicts as the constant does at every size); on 'flat' nothing gains (flat curves), so alphabetical
    order would put it first."""
    study = tmp_path_factory.mktemp("lead") / "s"
    write_study(study, models={"dummy": (0, 0.0, 0.5, 0.5), "base": (1, 2.0, 0.5, 0.15),
                               "strong": (3, 1.0, 0.5, 0.03), "stump": (4, 0.0, 0.5, 0.5)}, datasets=("steep",))
    write_study(study, models={"dummy": (0, 0.0, 0.5, 0.5), "base": (1, 0.0, 0.5, 0.10), "weak": (2, 3.0, 0.5, 0.10)},
                datasets=("flat",))
    report_main([str(study), "--bootstrap", "50"])
    return study, json.loads((study / "summary.json").read_text()), (study / "report.md").read_text()


@pytest.mark.slow
def test_the_report_opens_with_one_action_per_dataset_biggest_gain_first(built):
    study, summary, md = built
    jsonschema.validate(summary, schema())
    steep, flat = summary["datasets"]["steep"], summary["datasets"]["flat"]
    # 2/sqrt(512) + 0.15 - (1/sqrt(512) + 0.03) = 16.4 points, measured (no seed noise)
    assert steep["lead"] == ("On steep at 512 rows: switch base to strong (+16.4 points [16.4, 16.4]); settled "
                             "against more data.")
    assert flat["lead"].startswith("On flat at 512 rows: nothing measured improves on base (best: doubling the "
                                   "labels, ")
    assert flat["lead"].endswith("extrapolated from the measured curve); keep base and the data you have.")
    for ds in (steep, flat):
        assert ds["lead"] == lead(ds["decision"])        # one function writes it
        _plain(ds["lead"])
    lines = md.split("\n")
    assert lines[:5] == ["# mvd report: s", "", f"- {steep['lead']}", f"- {flat['lead']}", ""]


@pytest.mark.slow
def test_the_lead_is_said_once_and_the_long_sentence_only_in_its_dataset_section(built):
    study, summary, md = built
    html = (study / "report.html").read_text()
    for name, ds in summary["datasets"].items():
        assert md.count(ds["lead"]) == 1 and html.count(ds["lead"]) == 1
        sentence = ds["decision"]["sentence"]
        assert md.count(sentence) == 1
        section = md.split(f"## Dataset: {name}")[1]
        assert sentence in section
        assert not any(ds["lead"] in v or sentence in v for v in summary["verdict"])
    verdict = md.split("## Verdict")[1].split("## Figures")[0]
    assert [f"- {v}" for v in summary["verdict"]] == [x for x in verdict.split("\n") if x.startswith("- ")]


@pytest.mark.slow
def test_every_model_that_ran_is_in_the_lead_or_named_with_why(built):
    study, summary, md = built
    for name, ds in summary["datasets"].items():
        said = ds["lead"] + " " + ds["also_measured"]
        for m in ds["models"]:
            assert re.search(rf"\b{re.escape(m['model'])}\b", said), (name, m["model"], said)
        assert not ds["also_measured"] or md.count(ds["also_measured"]) == 1
    steep = summary["datasets"]["steep"]["also_measured"]
    assert steep == ("Also measured: dummy (the constant predictor, −26.2 points); stump (left out: up to 512 rows "
                     "it predicts as the constant does, −26.2 points).")
    assert summary["datasets"]["flat"]["also_measured"].startswith("Also measured: dummy (the constant predictor, ")
    assert "weak (" in summary["datasets"]["flat"]["also_measured"]
