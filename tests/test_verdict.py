"""The operating-point decision, the exponent test and ranking flips, on studies with known answers."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mvd.errors import ConfigError
from mvd.report import build
from mvd.report.cli import main as report_main
from mvd.report.decision import decide
from mvd.report.study import load_points
from tests.report_helpers import lever_points
from tests.synthetic_study import write_study

SIZES = (16, 32, 64, 128, 256, 512)
BASE, STRONG = (1, 2.0, 0.5, 0.05), (3, 1.0, 0.5, 0.05)


def _err(a, b, c, n):
    return a * n**-b + c


@pytest.fixture
def two_models(tmp_path):
    return write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.0)


def test_gains_at_a_measured_operating_point_are_the_known_differences(two_models):
    d = decide(load_points(two_models), n_now=128)["synth"]
    labels, switch = d.find("labels"), d.find("model", "strong")
    assert labels.gain == pytest.approx(100 * (_err(*BASE[1:], 128) - _err(*BASE[1:], 256)), rel=1e-6)
    assert switch.gain == pytest.approx(100 * (_err(*BASE[1:], 128) - _err(*STRONG[1:], 128)), rel=1e-6)
    assert not labels.extrapolated and not switch.extrapolated and labels.new_labels == 128
    # 2.0/sqrt(128) - 2.0/sqrt(256) = 5.2 points < 8.8 points for the switch: the switch wins, and without
    # seed noise the paired interval of its advantage is the advantage itself
    assert d.lever(d.chosen) is switch and d.settled and switch.name == "switching base -> strong"
    assert d.advantage == pytest.approx(switch.gain - labels.gain, rel=1e-6)
    assert d.advantage_low == pytest.approx(d.advantage, rel=1e-6)
    assert d.sentence.startswith("At n = 128 on synth (base, clean data), the next 128 labels buy +5.2 points")
    assert "switching base -> strong buys +8.8" in d.sentence and "is settled" in d.sentence


def test_labels_are_priced_and_the_cheapest_lever_is_named(tmp_path):
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.0,
                        business={"cost_per_label": 2.0, "cost_per_compute_hour": 0.0})
    d = decide(load_points(study), n_now=128, business={"cost_per_label": 2.0, "cost_per_compute_hour": 0.0})["synth"]
    switch = d.find("model", "strong")
    assert d.find("labels").cost == pytest.approx(256.0)
    assert switch.cost == 0.0 and d.lever(d.cheapest) is switch
    assert switch.value_per_1000 == pytest.approx(1000 * 2 * switch.gain / 100, rel=1e-6)
    # compute is priced too: training time at the lever's size, per compute hour
    priced = decide(load_points(study), n_now=128, business={"cost_per_compute_hour": 3600.0})["synth"]
    switch = priced.find("model", "strong")
    assert switch.cost == pytest.approx(3600.0 * switch.compute_hours) and switch.cost > 0


def test_gains_beyond_the_measured_sizes_say_they_are_extrapolated(two_models):
    d = decide(load_points(two_models))["synth"]                       # n_now = 512: 1,024 was not measured
    labels = d.find("labels")
    # more labels are priced by the forecast's gain model (or a backtested family), and say which
    assert labels.extrapolated and (labels.family in ("pow3", "pow4", "mmf4") or labels.family.startswith("gain model"))
    assert labels.gain == pytest.approx(100 * (_err(*BASE[1:], 512) - _err(*BASE[1:], 1024)), rel=0.05)
    assert "(extrapolated, " in d.sentence
    far = decide(load_points(two_models), n_now=2048)["synth"]
    assert far.now_extrapolated and "beyond the measured sizes" in far.sentence


def test_user_step_cleaning_relabelling_and_combinations_are_levers(tmp_path):
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.0,
                        rates=(0.0, 0.4), cleanings=("none", "confident_learning"), noise_effect=0.5)
    d = decide(load_points(study), step=100)["synth"]
    assert d.data == ("label_noise", 0.4, "none") and d.model == "base" and d.n_now == 512
    names = {lv.name for lv in d.levers}
    assert {"+100 labels", "cleaning: confident_learning", "relabelling every row",
            "relabelling every row + switching base -> strong"} <= names
    # relabelling removes the whole noise effect (0.5 x 0.4), cleaning half of it
    assert d.find("relabel").gain == pytest.approx(20.0, rel=1e-6)
    assert d.find("cleaning", data=("label_noise", 0.4, "confident_learning")).gain == pytest.approx(10.0, rel=1e-6)
    chosen = d.lever(d.chosen)
    assert (chosen.kind, chosen.model, chosen.data) == ("combined", "strong", ("clean", 0.0, "none"))


def test_mixed_pools_are_no_lever_and_one_clean_condition_is(tmp_path):
    """A shift study's mixed-pool curves (quality '<kind>_mixed') count two sources in their sizes: they are
    neither the operating point nor a lever, and their rate-0 curves do not repeat the clean lever."""
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.0,
                        rates=(0.0, 0.4), noise_effect=0.5)
    points = load_points(study)
    shifted = points.assign(quality="label_shift")
    mixed = shifted.assign(quality="label_shift_mixed", quality_rate=shifted["quality_rate"] + 0.35)
    mixed_clean = shifted[shifted["quality_rate"] == 0].assign(quality="label_shift_mixed")
    d = decide(pd.concat([shifted, mixed, mixed_clean], ignore_index=True))["synth"]
    assert d.data == ("label_shift", 0.4, "none")
    assert not [lv for lv in d.levers if lv.data[0].endswith("_mixed")]
    clean = [lv for lv in d.levers if lv.kind == "target"]
    assert [lv.name for lv in clean] == ["512 rows from the target distribution instead"]
    assert clean[0].data == ("label_shift", 0.0, "none") and clean[0].gain == pytest.approx(20.0, rel=1e-6)
    chosen = d.lever(d.chosen)
    assert (chosen.kind, chosen.model, chosen.data) == ("combined", "strong", ("label_shift", 0.0, "none"))
    assert d.chosen == "512 rows from the target distribution instead + switching base -> strong"


def test_tuned_curves_give_a_tuning_lever_and_one_lever_per_model(tmp_path):
    study = write_study(tmp_path / "s", models={"base": BASE, "base (tuned)": (1, 1.5, 0.5, 0.05), "strong": STRONG,
                                                "strong (tuned)": (3, 0.8, 0.5, 0.05)}, sizes=SIZES, noise=0.0)
    d = decide(load_points(study), n_now=128)["synth"]
    tune, switch = d.find("tune"), d.find("model", "strong")
    assert tune.model == "base (tuned)" and tune.tuning_mattered
    assert tune.compute_hours >= 1.0 / 3600  # one second of tuning per point is priced as compute
    # a model and its tuned version are one lever: the better of the two, saying that tuning mattered
    assert [lv.kind for lv in d.levers].count("model") == 1
    assert switch.model == "strong (tuned)" and switch.tuning_mattered
    assert switch.alternative.model == "strong" and switch.key == d.find("model", "strong (tuned)").key
    # the tuned strong rung (0.8/sqrt(128)) beats the default one (1.0/sqrt(128)): tuning changed the model
    assert d.lever(d.chosen) is switch and d.lever(d.without_tuning) is switch.alternative
    assert d.tuning_changed and not d.tuning_changed_route
    assert d.to_dict()["without_tuning"] == "switching base -> strong"
    assert d.sentence.endswith("; tuning changed the model, not the answer: on default rungs only the biggest gain "
                               "is switching base -> strong (+8.8 [8.8, 8.8]).")


def test_tuning_that_turns_the_answer_from_more_labels_to_a_model_says_it_changed_the_answer(tmp_path):
    # default strong gains 0.9 points at n = 128, less than the next 128 labels (5.2); tuned strong 10.6
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": (3, 1.9, 0.5, 0.05),
                                                "strong (tuned)": (3, 0.8, 0.5, 0.05)}, sizes=SIZES, noise=0.0)
    d = decide(load_points(study), n_now=128)["synth"]
    assert d.lever(d.chosen) is d.find("model", "strong") and d.lever(d.chosen).tuning_mattered
    assert d.lever(d.without_tuning) is d.find("labels")
    assert d.tuning_changed and d.tuning_changed_route
    assert d.sentence.endswith("; tuning changed the answer: on default rungs only the biggest gain is "
                               "the next 128 labels (+5.2 [5.2, 5.2]).")


def test_the_sentence_says_when_tuning_did_not_change_the_answer_and_is_silent_without_tuning(tmp_path, two_models):
    study = write_study(tmp_path / "t", models={"base": BASE, "strong": STRONG, "strong (tuned)": (3, 1.2, 0.5, 0.05)},
                        sizes=SIZES, noise=0.0)
    d = decide(load_points(study), n_now=128)["synth"]
    switch = d.find("model", "strong")
    assert d.lever(d.chosen) is d.lever(d.without_tuning) is switch and d.tuning_changed is False
    assert switch.model == "strong" and switch.tuning_mattered is False and switch.alternative.model == "strong (tuned)"
    assert d.sentence.endswith("; tuning did not change the answer.")
    plain = decide(load_points(two_models), n_now=128)["synth"]
    assert plain.without_tuning is None and plain.tuning_changed is None and "tuning" not in plain.sentence


def test_a_tuned_lever_tied_with_the_best_default_one_did_not_change_the_answer(tmp_path):
    # tuned base at 128 rows scores what default base does at 256: tuning ties the next 128 labels, and the
    # tie goes to the free lever, tuning; the best default-rung lever is tied with it, so nothing changed
    tuned = (1, 2.0 * 128**0.5 / 256**0.5, 0.5, 0.05)
    study = write_study(tmp_path / "s", models={"base": BASE, "base (tuned)": tuned}, sizes=SIZES, noise=0.0)
    d = decide(load_points(study), n_now=128)["synth"]
    assert d.lever(d.chosen).kind == "tune" and d.lever(d.without_tuning).kind == "labels"
    assert d.without_tuning in d.ties
    assert d.tuning_changed is False and "tuning changed" not in d.sentence


def test_store_tuned_flag_names_the_curve(tmp_path):
    import pandas as pd

    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.0)
    f = next((study / "points").glob("*strong*.parquet"))
    frame = pd.read_parquet(f)
    frame.assign(tuned=True, run_id="tuned", sophistication=3).to_parquet(f.with_name("tuned.parquet"), index=False)
    d = decide(load_points(study), n_now=128)["synth"]
    # the stored tuned curve is named "strong (tuned)"; it scores as the default, so tuning did not matter
    switch = d.find("model", "strong")
    assert switch.alternative.model == "strong (tuned)" and switch.model == "strong" and not switch.tuning_mattered


@pytest.mark.parametrize("kwargs,message", [
    ({"n_now": 0}, r"verdict.n_now=0 must be a positive number of labelled rows"),
    ({"n_now": 8}, r"verdict.n_now=8 is below the smallest measured size 16 of base on clean data"),
    ({"step": -5}, r"verdict.step=-5 must be a positive number of extra labels"),
    ({"model": "svm"}, r"verdict.model='svm' has no curve on clean data of dataset 'synth'; allowed: base, strong"),
    ({"data": "label_noise 0.2"}, r"verdict.data='label_noise 0.2' is not a data condition"),
    ({"business": {"cost_per_label": None}}, r"business.cost_per_label is missing \(null\), so the lever "
                                              r"'the next 512 labels' has no price"),
])
def test_bad_operating_points_are_refused_in_one_sentence(two_models, kwargs, message):
    with pytest.raises(ConfigError, match=message) as err:
        decide(load_points(two_models), **kwargs)
    text = str(err.value)
    assert text.endswith(".") and "\n" not in text and not re.search(r"\.\s+[A-Z]", text)  # one sentence


@pytest.mark.slow
def test_report_leads_with_the_decision_and_shows_its_backtest(tmp_path, capsys):
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.01,
                        seeds=(0, 1, 2, 3))
    build(study, bootstrap=50, verdict={"n_now": 128})
    summary = json.loads((study / "summary.json").read_text())
    ds = summary["datasets"]["synth"]
    assert ds["decision"]["sentence"].startswith("At n = 128 on synth (base, clean data), the next 128 labels buy ")
    assert summary["verdict"][0].startswith("Over n = 16 -> 512 on synth")
    md = (study / "report.md").read_text()
    assert md.split("\n")[2] == f"- {ds['lead']}" and ds["lead"].startswith("On synth at 128 rows: ")
    hidden = ds["backtest"]["decisions"]
    assert hidden["trials"] and 0 <= hidden["hit_rate"] <= 1 and "hit rate" in md
    assert ds["backtest"]["intervals"]["held_out"] >= 1
    # the study's backtests added up, under the verdict
    pooled = summary["backtest"]["points"]
    assert pooled["trials"] == len(hidden["trials"]) and pooled["rules"]["method"]["hits"] == sum(
        t["hit"] for t in hidden["trials"])
    assert pooled["sentence"].startswith("Over the one dataset's backtest (") and pooled["sentence"] in md
    assert md.index(pooled["sentence"]) > md.index("## Verdict")
    assert summary["operating_point"]["n_now"] == 128
    assert (study / "figures" / "decision.png").exists() and (study / "figures" / "attribution_range.png").exists()
    # a backtest asked for on fewer than 4 sizes is refused, and the command line names the setting
    short = write_study(tmp_path / "t", models={"base": BASE}, sizes=(16, 32, 64))
    with pytest.raises(SystemExit):
        report_main([str(short), "--backtest"])
    err = capsys.readouterr().err.strip()
    assert err.startswith("mvd-report: error: verdict.backtest=true needs at least 4 measured sizes") and "\n" not in err
    build(short, bootstrap=20)
    assert "no backtest" in json.loads((short / "summary.json").read_text())["datasets"]["synth"]["backtest"]["note"]


@pytest.mark.slow
def test_exponent_test_sees_a_steeper_curve_and_a_shared_exponent(tmp_path):
    steep = write_study(tmp_path / "a", models={"base": (1, 2.0, 0.4, 0.05), "strong": (3, 2.0, 0.7, 0.05)},
                        sizes=SIZES, noise=0.002, seeds=(0, 1, 2, 3, 4))
    build(steep, bootstrap=100)
    test = json.loads((steep / "summary.json").read_text())["datasets"]["synth"]["exponent"]
    assert test["multiplier_with_n"] == "grows" and test["ci_low"] > 0
    assert test["b_diff"] == pytest.approx(0.3, abs=0.05) and "grows with n" in test["sentence"]
    same = write_study(tmp_path / "b", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                       sizes=SIZES, noise=0.002, seeds=(0, 1, 2, 3, 4), seed=1)
    build(same, bootstrap=100)
    test = json.loads((same / "summary.json").read_text())["datasets"]["synth"]["exponent"]
    assert test["multiplier_with_n"] == "same" and test["ci_low"] <= 0 <= test["ci_high"], test


@pytest.mark.slow
def test_ranking_flip_rate_under_label_noise(tmp_path):
    # at n = 512: a = 1 / sqrt(512); the winner loses 0.5 per unit of noise, the challenger 0.1
    study = write_study(tmp_path / "s", models={"fragile": (1, 1.0, 0.5, 0.05, 0.5), "robust": (2, 1.2, 0.5, 0.06, 0.1)},
                        sizes=SIZES, rates=(0.0, 0.1, 0.2, 0.4), noise=0.0, seeds=(0, 1, 2))
    build(study, bootstrap=50)
    flips = json.loads((study / "summary.json").read_text())["datasets"]["synth"]["ranking_flips"]
    (flip,) = flips
    expected = (0.2 / np.sqrt(512) + 0.01) / 0.4
    assert flip["model"] == "fragile" and flip["challenger"] == "robust"
    assert flip["flip_rate"] == pytest.approx(expected, rel=1e-4)
    assert flip["ci_low"] == pytest.approx(expected, rel=1e-4) and flip["resamples_flipping"] == 1.0


@pytest.mark.slow
def test_saved_verdict_config_sets_the_operating_point_and_the_command_line_overrides_it(tmp_path):
    study = write_study(tmp_path / "s", models={"base": BASE, "strong": STRONG}, sizes=SIZES, noise=0.0,
                        rates=(0.0, 0.4), verdict={"n_now": 64, "data": "clean", "step": 50})
    build(study, bootstrap=20)
    summary = json.loads((study / "summary.json").read_text())
    sentence = summary["datasets"]["synth"]["decision"]["sentence"]
    assert sentence.startswith("At n = 64 on synth (base, clean data), the next 64 labels buy ")
    assert "+50 labels buy" in sentence
    report_main([str(study), "--n-now", "128", "--data", "label_noise 0.4", "--model", "strong"])
    summary = json.loads((study / "summary.json").read_text())
    sentence = summary["datasets"]["synth"]["decision"]["sentence"]
    assert sentence.startswith("At n = 128 on synth (strong, label_noise 0.4 data)")


# ---------------------------------------------------------------- settled against the other kind, and ties

BASE_128 = np.array([0.800, 0.801, 0.799, 0.800, 0.800])
SWING = np.array([0.01, -0.01, 0.01, -0.01, 0.01])   # per-seed swings: two levers within noise of each other


def test_a_runner_up_of_the_same_kind_within_noise_leaves_the_decision_settled():
    # two models ahead by about 10 points and within noise of each other; more labels gain 1 point
    points = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01},
                           ("strong", 3): {128: BASE_128 + 0.10 + SWING},
                           ("rival", 2): {128: BASE_128 + 0.10 - SWING}})
    d = decide(points, n_now=128)["toy"]
    assert d.lever(d.chosen).kind == "model" and d.lever(d.chosen).model in ("strong", "rival")
    assert d.ties == []                                  # 0.4 points apart: more than one test example (0.1)
    assert d.settled and list(d.settled_against) == ["more data"]
    lead = d.settled_against["more data"]
    assert lead.lever == "the next 128 labels" and lead.low > 0 and lead.settled
    assert d.rival == "the next 128 labels" and d.advantage == pytest.approx(d.lever(d.chosen).gain - 1.0)
    # the same-kind runner-up is within noise: its paired lead interval holds 0, and it does not count
    other = next(lv for lv in d.levers if lv.kind == "model" and lv.name != d.chosen)
    assert d.lead(other).low < 0 < d.lead(other).high and not d.lead(other).settled
    assert "is settled: ahead of the best lever of another kind, the next 128 labels" in d.sentence
    assert d.to_dict()["settled_against"]["more data"]["settled"] is True


def test_a_lever_of_another_kind_within_noise_leaves_the_decision_open():
    # more labels gain about 10 points, the strong model as much within noise; the weak one far behind
    points = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.10 + SWING},
                           ("strong", 3): {128: BASE_128 + 0.10 - SWING},
                           ("weak", 2): {128: BASE_128 + 0.02}})
    d = decide(points, n_now=128)["toy"]
    assert d.lever(d.chosen).kind == "labels" and not d.settled
    lead = d.settled_against["a better model"]
    assert lead.lever == "switching base -> strong" and lead.low < 0 < lead.high and not lead.settled
    assert "is not settled (open against a better model)" in d.sentence


def test_an_exact_tie_is_listed_and_broken_by_price_not_by_name():
    # gbm and mlp (tuned) on letter: 17.967999999999996 and 17.968 points are one tie, not a winner
    strong = BASE_128 + 0.17968
    points = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01},
                           ("zeta", 3): {128: strong}, ("zeta (tuned)", 3): {128: strong + 4e-16},
                           ("alpha", 2): {128: strong - 4e-16}})
    points.loc[points["model"] == "alpha", "fit_seconds"] *= 100      # alpha costs more compute
    d = decide(points, n_now=128, business={"cost_per_compute_hour": 1.0})["toy"]
    zeta, alpha = d.find("model", "zeta"), d.find("model", "alpha")
    assert alpha.gain != zeta.gain and abs(alpha.gain - zeta.gain) < 1e-9 and d.tie_tolerance == pytest.approx(0.1)
    assert d.lever(d.chosen) is zeta and [d.lever(t) for t in d.ties] == [alpha]
    # the tuned version ties its default: one lever, the untuned one, and tuning did not matter
    assert zeta.model == "zeta" and zeta.tuning_mattered is False and zeta.alternative.model == "zeta (tuned)"
    assert d.without_tuning == d.chosen and d.tuning_changed is False
    assert d.settled  # the tie is within one kind: more labels (1 point) are far behind
    assert "switching base -> zeta ties switching base -> alpha (within one test example: 0.1 points)" in d.sentence
    assert d.to_dict()["ties"] == ["switching base -> alpha"]


def test_a_tie_across_kinds_is_listed_and_never_settled():
    points = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.05},
                           ("strong", 3): {128: BASE_128 + 0.05 + 1e-15}})
    d = decide(points, n_now=128)["toy"]
    assert len(d.ties) == 1 and {d.chosen, d.ties[0]} == {"the next 128 labels", "switching base -> strong"}
    assert not d.settled and not next(iter(d.settled_against.values())).settled
    # smaller than one test example of 1,000 (0.1 points), a lead of 0.05 points is a tie too
    near = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.05},
                         ("strong", 3): {128: BASE_128 + 0.0505}})
    assert len(decide(near, n_now=128)["toy"].ties) == 1
    # without stored test sizes (no confusion counts), only float noise ties
    assert decide(near.assign(confusion=None), n_now=128)["toy"].ties == []


def test_the_report_says_what_settled_means_and_shows_each_lead():
    from mvd.report.render import _settled_blocks

    points = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01},
                           ("zeta", 3): {128: BASE_128 + 0.18}, ("alpha", 2): {128: BASE_128 + 0.18 + 1e-15}})
    d = decide(points, n_now=128)["toy"].to_dict()
    (text, table) = _settled_blocks(d, 1)
    assert text[1].startswith(f"{d['chosen']} is settled: settled means its lead over the best lever of every "
                              "other kind of answer")
    assert "at least one test example of 1,000 (0.1 points)" in text[1] and f"It ties {d['ties'][0]}" in text[1]
    assert table[1] == ["other kind", "its best lever", "lead (points)", "95% CI", "settled"]
    assert [row[0] for row in table[2]] == ["more data"] and table[2][0][1] == "the next 128 labels"
    assert table[2][0][-1] == "yes"


def test_a_gain_below_one_test_example_is_said_to_buy_nothing_measurable():
    points = lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.0004},
                           ("strong", 3): {128: BASE_128 + 0.0005}})
    d = decide(points, n_now=128)["toy"]
    assert d.ties and not d.settled
    assert "; no lever gains one test example (0.1 points) or more" in d.sentence
    clear = decide(lever_points({("base", 1): {128: BASE_128, 256: BASE_128 + 0.01},
                                 ("strong", 3): {128: BASE_128 + 0.05}}), n_now=128)["toy"]
    assert "no lever gains" not in clear.sentence
