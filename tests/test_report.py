"""The verdict's statistics on curves with known answers, and the report's files and refusals."""

from __future__ import annotations

import json
import math
from itertools import permutations

import jsonschema
import numpy as np
import pytest
from omegaconf import OmegaConf

from mvd.config import CONF_DIR
from mvd.errors import ConfigError
from mvd.report import build
from mvd.report.attribution import shapley
from mvd.report.cli import main as report_main
from mvd.report.fits import fit_curve, fit_curves, invert, shape
from mvd.report.study import check_business
from mvd.report.summary import schema
from tests.synthetic_study import write_study

SIZES = (16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512)


def _summary(study):
    return json.loads((study / "summary.json").read_text())


@pytest.mark.parametrize("a,b,c", [(2.0, 0.5, 0.05), (0.8, 0.3, 0.1), (5.0, 0.9, 0.02), (1.5, 0.7, 0.0)])
def test_fit_recovers_known_power_law_within_5_percent(a, b, c):
    n = np.geomspace(16, 4096, 17)
    rng = np.random.default_rng(1)
    err = a * n**-b + c + rng.normal(0, 1e-4, len(n))
    fit = fit_curve(n, err, np.full(len(n), 1e-4))
    assert fit["a"] == pytest.approx(a, rel=0.05)
    assert fit["b"] == pytest.approx(b, rel=0.05)
    assert fit["c"] == pytest.approx(c, rel=0.05, abs=2e-3)
    assert fit["r2"] > 0.999


def test_fit_with_zero_variance_points_stays_finite():
    n = np.array([16, 32, 64, 128, 256.0])
    err = 1.0 * n**-0.5 + 0.1
    fit = fit_curve(n, err, np.zeros(len(n)))  # every seed agreed: the floor keeps weights finite
    assert all(math.isfinite(fit[k]) for k in ("a", "b", "c", "r2"))
    assert fit["b"] == pytest.approx(0.5, rel=0.01)


def test_a_curves_fit_does_not_depend_on_the_other_curves_of_the_study():
    # a study's curves are fitted in batches; a short curve beside long ones gets the very same fit
    def same(f, g):
        return f.keys() == g.keys() and all(np.array_equal(f[k], g[k], equal_nan=True) for k in f)

    long_n = np.geomspace(16, 8192, 19)
    longer = (long_n, 2 * long_n**-0.5 + 0.1, np.full(19, 0.01))
    short_n = np.array([16, 32, 64, 128, 256.0])
    for seed in range(6):  # padded to the long curve's sizes, three of these fits moved in their last digits
        rng = np.random.default_rng(seed)
        short = (short_n, 40 * short_n**-0.3 + rng.normal(0, 0.5, 5), np.full(5, 0.5))
        beside = fit_curves([longer, short, longer])
        assert same(beside[1], fit_curves([short])[0]), seed
    assert same(beside[0], fit_curves([longer])[0]) and same(beside[2], beside[0])


def test_invert_gives_never_below_the_floor():
    assert invert(0.05, 2.0, 0.5, 0.1) == np.inf
    assert invert(0.1 + 2.0 / 10, 2.0, 0.5, 0.1) == pytest.approx(100.0)


def test_shapes_use_lcdb_vocabulary():
    n = np.array([16, 32, 64, 128, 256, 512.0])
    se = np.full(len(n), 0.002)
    assert shape(n, 0.5 * n**-0.5, se)["shape"] == "monotone"
    assert shape(n, np.full(len(n), 0.9), se)["shape"] == "flat"
    assert shape(n, np.array([0.4, 0.3, 0.2, 0.15, 0.25, 0.3]), se)["shape"] == "dipping"
    assert shape(n, np.array([0.4, 0.3, 0.45, 0.2, 0.15, 0.1]), se)["shape"] == "peaking"
    # a rise inside two standard errors is noise, not a violation
    assert shape(n, np.array([0.4, 0.3, 0.302, 0.2, 0.15, 0.1]), se)["monotone"]


def test_shapley_sums_to_total_and_matches_permutation_average():
    rng = np.random.default_rng(3)
    players = ("mind", "quantity", "quality")
    table = {frozenset(s): rng.normal() for k in range(4) for s in permutations(players, k)}
    value = lambda s: table[frozenset(s)]  # noqa: E731
    phi = shapley(value, players)
    assert sum(phi.values()) == pytest.approx(value(players) - value(()))
    # the definition: average marginal contribution over all join orders
    for p in players:
        orders = list(permutations(players))
        marginal = [value(o[:o.index(p) + 1]) - value(o[:o.index(p)]) for o in orders]
        assert phi[p] == pytest.approx(np.mean(marginal))


@pytest.mark.slow
def test_multiplier_equals_closed_form_for_shared_exponent_and_floor(tmp_path):
    a1, a2, b, c = 2.0, 1.0, 0.5, 0.05          # baseline a1, stronger model a2: k = (a1/a2)^(1/b) = 4
    study = write_study(tmp_path / "s", models={"base": (1, a1, b, c), "strong": (3, a2, b, c)},
                        sizes=SIZES, noise=0.0)
    build(study, bootstrap=50)
    rows = _summary(study)["datasets"]["synth"]["equivalence"]
    expected = (a1 / a2) ** (1 / b)
    inside = [r for r in rows if r["model"] == "strong" and r["relation"] == "="]
    assert len(inside) >= 5
    for r in inside:  # read off the measured curve: 4n is a measured size of the √2 grid
        assert r["multiplier"] == pytest.approx(expected, rel=1e-3)
        assert r["ci_low"] == pytest.approx(expected, rel=1e-3) and r["ci_high"] == pytest.approx(expected, rel=1e-3)
        assert r["train_size"] * expected <= max(SIZES)
    # past the baseline's largest measured size: a bound, never a fitted number
    beyond = [r for r in rows if r["model"] == "strong" and r["train_size"] * expected > max(SIZES)]
    assert beyond and all(r["relation"] == ">=" and r["extrapolated"] for r in beyond)
    assert all(r["multiplier"] == pytest.approx(max(SIZES) / r["train_size"], rel=1e-4) for r in beyond)
    assert beyond[0]["display"].startswith("≥")


@pytest.mark.slow
def test_never_when_target_is_below_baseline_floor(tmp_path):
    study = write_study(tmp_path / "s", models={"base": (1, 1.0, 0.5, 0.2), "strong": (3, 1.0, 0.5, 0.01)},
                        sizes=SIZES)
    build(study, bootstrap=20)
    rows = _summary(study)["datasets"]["synth"]["equivalence"]
    big = [r for r in rows if r["train_size"] == max(SIZES)][0]
    assert big["relation"] == "never" and big["multiplier"] is None and big["display"] == "never"


@pytest.mark.slow
def test_three_player_attribution_sums_to_gain_with_intervals(tmp_path):
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                        sizes=SIZES, seeds=(0, 1, 2, 3), noise=0.005, rates=(0.0, 0.2, 0.4), noise_effect=0.5)
    build(study, bootstrap=200)
    attr = _summary(study)["datasets"]["synth"]["attribution"]
    assert attr["players"] == ["mind", "quantity", "quality"]
    # label noise at 0.2, the same kind and rate on every dataset, not the noisiest (0.4)
    assert attr["reference_quality"] == {"quality": "label_noise", "quality_rate": 0.2, "cleaning": "none"}
    shares = attr["shares"]
    assert sum(s["value"] for s in shares.values()) == pytest.approx(attr["gain"], rel=1e-4)
    assert sum(s["share"] for s in shares.values()) == pytest.approx(1.0, abs=1e-4)
    assert attr["gain"] == pytest.approx(attr["error_from"] - attr["error_to"], rel=1e-4)
    for s in shares.values():
        assert s["ci_low"] <= s["share"] <= s["ci_high"]
    # quality removes 0.5 x 0.2 = 0.1 of error in every corner: its Shapley value is exactly that (+ noise)
    assert shares["quality"]["value"] == pytest.approx(0.1, abs=0.02)
    summary = _summary(study)
    verdict = summary["verdict"][0]
    sentence = summary["datasets"]["synth"]["decision"]["sentence"]
    assert sentence.startswith("At n = 512 on synth (base, label_noise 0.4 data), ")
    assert "Over n = 16 -> 512 on synth, " in verdict and "%" in verdict and "base does not reach strong's score" in verdict


@pytest.mark.slow
def test_report_builds_validates_and_rebuilds_identically(tmp_path):
    study = write_study(tmp_path / "s", models={"dummy": (0, 0.0, 0.5, 0.75), "base": (1, 2.0, 0.5, 0.05),
                                                "strong": (3, 1.0, 0.6, 0.03)},
                        sizes=SIZES, noise=0.01, datasets=("one", "two"))
    out = build(study, bootstrap=100)
    assert out == study / "report.html" and out.exists()
    first = (study / "summary.json").read_bytes()
    summary = json.loads(first)
    jsonschema.validate(summary, schema())
    for name in ("decision", "learning_curves", "heatmap", "attribution", "attribution_range", "iso_performance"):
        assert (study / "figures" / f"{name}.png").stat().st_size > 1000
        assert (study / "figures" / f"{name}.svg").exists()
    assert not (study / "figures" / "quality.png").exists()  # no quality axis, no degradation figure
    md = (study / "report.md").read_text()
    assert "## Verdict" in md and "figures/learning_curves.png" in md
    html = out.read_text()
    assert html.count("data:image/png;base64,") == 6 and "http" not in html.split("<body>")[1]
    assert summary["baseline"] == "base" and len(summary["verdict"]) == 2
    build(study, bootstrap=100)
    assert (study / "summary.json").read_bytes() == first
    # the figures are drawn in forked workers; one worker draws the same bytes
    from mvd.report import figures
    from mvd.report.study import read_study
    from mvd.report.summary import analyse

    from mvd.report.summary import to_json

    # the datasets are analysed in forked workers; one worker computes the same numbers
    analysis = analyse(read_study(study, bootstrap=100), workers=1)
    assert to_json(analysis.summary) == first.decode()
    alone = figures.draw_all(analysis, tmp_path / "alone", workers=1)
    assert sorted(alone) == sorted(p.stem for p in (study / "figures").glob("*.png"))
    for paths in alone.values():
        for path in paths.values():
            assert path.read_bytes() == (study / "figures" / path.name).read_bytes(), path.name


@pytest.mark.slow
def test_quality_figure_and_regression_study(tmp_path):
    study = write_study(tmp_path / "s", models={"ridge": (1, 80.0, 0.3, 40.0), "gbm": (4, 60.0, 0.3, 35.0)},
                        sizes=SIZES, noise=0.5, rates=(0.0, 0.3), task="regression")
    build(study, bootstrap=50)
    summary = _summary(study)
    ds = summary["datasets"]["synth"]
    assert ds["metric"] == "rmse" and not ds["higher_is_better"]
    assert (study / "figures" / "quality.png").exists()
    # regression money: every unit of absolute error costs cost_per_unit_error (1.0) per decision
    mae = [r for r in ds["curves"] if r["model"] == "ridge" and r["quality_rate"] == 0][0]["error"] * 0.8
    value = [v for v in ds["business"]["value_per_1000"] if v["model"] == "ridge" and v["quality_rate"] == 0][0]
    assert value["value"] == pytest.approx(-1000 * mae, rel=1e-3)


@pytest.mark.slow
def test_cheapest_route_prices_labels_and_compute(tmp_path):
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                        sizes=SIZES, business={"cost_per_label": 2.0, "cost_per_compute_hour": 0.0})
    build(study, bootstrap=20, target=1 - (2.0 * 512**-0.5 + 0.05) - 1e-9)  # base's own error at 512
    routes = {r["route"] + r["model"]: r for r in _summary(study)["datasets"]["synth"]["business"]["routes"]}
    labels, model = routes["more labelsbase"], routes["switch modelstrong"]
    assert labels["n_needed"] == pytest.approx(512, abs=1) and labels["new_labels"] == 0
    assert model["total_cost"] == 0 and labels["total_cost"] == 0
    build(study, bootstrap=20, target=1 - (2.0 * 1024**-0.5 + 0.05))  # base needs 512 more labels at 2.0 each
    routes = {r["route"] + r["model"]: r for r in _summary(study)["datasets"]["synth"]["business"]["routes"]}
    assert routes["more labelsbase"]["label_cost"] == pytest.approx(2.0 * 512, rel=1e-3)
    assert routes["switch modelstrong"]["cheapest"] and routes["switch modelstrong"]["new_labels"] == 0


def test_cost_matrix_uses_confusion_counts(tmp_path):
    from mvd.report.business import point_values
    import pandas as pd

    points = pd.DataFrame({"task": ["classification"] * 2, "test_accuracy": [0.9, 0.9],
                           "confusion": [json.dumps([[45, 5], [5, 45]]), json.dumps([[50, 0], [10, 40]])]})
    business = {"value_correct": 1.0, "cost_error": 1.0, "cost_false_positive": 1.0, "cost_false_negative": 10.0,
                "cost_matrix": None, "cost_per_unit_error": 1.0}
    values, notes = point_values(points, business)
    assert values.tolist() == pytest.approx([1000 * (0.9 - 0.05 - 0.5), 1000 * (0.9 - 1.0)])
    assert notes == []


def test_bad_inputs_refused_in_one_sentence_before_writing(tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "points").mkdir(parents=True)
    with pytest.raises(ConfigError, match="holds no successful points"):
        build(empty)
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                        sizes=SIZES, business={"cost_per_label": -1.0})
    with pytest.raises(ConfigError, match=r"business.cost_per_label=-1.0 must be a finite number >= 0"):
        build(study)
    good = write_study(tmp_path / "g", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                       sizes=SIZES)
    with pytest.raises(ConfigError, match=r"report.target=0.999 is reached by no fitted curve of dataset 'synth'"):
        build(good, target=0.999, bootstrap=10)
    with pytest.raises(ConfigError, match=r"report.baseline='svm' is not a model of this study; allowed: base, strong"):
        build(good, baseline="svm")
    assert sorted(p.name for p in good.iterdir()) == ["configs", "points"]
    with pytest.raises(SystemExit) as exit_:
        report_main([str(empty)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mvd-report: error: ") and err.count("\n") == 0


@pytest.mark.parametrize("name", sorted(p.stem for p in (CONF_DIR / "business").glob("*.yaml")))
@pytest.mark.slow
def test_business_presets_compose_and_pass_checks(make_cfg, name):
    cfg = make_cfg(f"business={name}")
    checked = check_business(OmegaConf.to_container(cfg.business))
    assert all(v is None or v >= 0 for k, v in checked.items() if k.startswith(("cost", "value")) and k != "cost_matrix")


def test_resample_interval_matches_numpy_inverted_cdf_quantiles():
    from mvd.report.aggregate import SeedResamples

    rs = SeedResamples([0, 1, 2, 3, 4], n=999, seed=1)
    values = np.random.default_rng(0).normal(size=(len(rs.counts), 4))
    values[0, 1], values[:, 2], values[-1, 3] = np.nan, np.nan, np.inf  # undefined resamples are left out
    low, high = rs.percentile(values)  # the fallback where a t-interval is undefined (tests/test_intervals.py)
    with pytest.warns(RuntimeWarning):
        expected = np.nanquantile(values[rs.inverse], [0.025, 0.975], axis=0, method="inverted_cdf")
    np.testing.assert_array_equal(low, expected[0])
    np.testing.assert_array_equal(high, expected[1])


@pytest.mark.slow
def test_report_shares_the_engines_error_metrics_without_importing_sklearn():
    import subprocess
    import sys

    code = ("import sys, mvd.report, mvd.metrics, mvd.report.study as s; "
            "assert s.LOWER_IS_BETTER is mvd.metrics.LOWER_IS_BETTER; "
            "assert 'sklearn' not in sys.modules, 'the report imported scikit-learn'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_short_single_seed_study_builds_with_honest_verdict(tmp_path):
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                        sizes=(16, 32), seeds=(0,))
    build(study, bootstrap=20)
    summary = _summary(study)
    verdict = summary["verdict"][0]
    assert "(one seed: no interval)" in verdict and "too short (fewer than 3 sizes)" in verdict
    assert summary["datasets"]["synth"]["equivalence"] == []
    assert all(not f["fitted"] for f in summary["datasets"]["synth"]["fits"])


@pytest.mark.slow
def test_routes_include_cleaning_and_price_the_oracle_as_review_of_every_label(tmp_path):
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05)}, sizes=SIZES, rates=(0.0, 0.4),
                        cleanings=("none", "oracle", "confident_learning"), noise_effect=0.3,
                        business={"cost_per_label": 1.0, "cost_per_clean_label": 3.0, "cost_per_compute_hour": 0.0})
    target = 1 - (2.0 * 256**-0.5 + 0.05 + 0.3 * 0.4 * 0.5) - 1e-9  # what half the noise gives at n=256
    build(study, bootstrap=20, target=target)
    routes = {r["route"]: r for r in _summary(study)["datasets"]["synth"]["business"]["routes"]}
    oracle, learned = routes["cleaning: oracle (every label reviewed)"], routes["cleaning: confident_learning"]
    assert oracle["n_needed"] == learned["n_needed"] == 256
    assert oracle["label_cost"] == 3.0 * 256 and learned["label_cost"] == 0.0 and learned["cheapest"]
    more = routes["more labels"]  # the noisy curve's floor is 0.05 + 0.12: it needs (a / (err - c))^(1/b)
    needed = (2.0 / (2.0 * 256**-0.5 + 0.06 - 0.12)) ** 2
    assert more["relation"] == "=" and more["n_needed"] == pytest.approx(np.ceil(needed), abs=1)
    assert more["label_cost"] == pytest.approx(more["n_needed"] - max(SIZES))


@pytest.mark.slow
def test_negative_cost_is_refused_when_a_job_is_planned(make_cfg):
    from mvd import curve

    with pytest.raises(ConfigError, match=r"business.cost_false_negative=-5.0 must be a finite number >= 0"):
        curve.plan(make_cfg("business=fraud", "business.cost_false_negative=-5"))
    with pytest.raises(ConfigError, match=r"business.cost_matrix=.* must be a square matrix"):
        curve.plan(make_cfg("business.cost_matrix=[[0,1],[1]]"))


def test_integer_cost_matrix_composes_and_is_checked(make_cfg):
    cfg = make_cfg("business.cost_matrix=[[0,1],[5,0]]")
    assert check_business(OmegaConf.to_container(cfg.business))["cost_matrix"] == [[0, 1], [5, 0]]


@pytest.mark.slow
def test_multirun_builds_the_report_through_the_hydra_callback(tmp_path):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "mvd.cli", "-m", "dataset=iris", "model=dummy,logreg,tree", "study=tiny",
           "curve.sizes=[16,32,64]", "curve.seeds=[0,1]", f"results_dir={tmp_path}", "progress=false",
           f"hydra.sweep.dir={tmp_path / 'multirun'}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    study = tmp_path / "tiny"
    assert f"report: {study / 'report.html'}" in done.stdout
    summary = _summary(study)
    jsonschema.validate(summary, schema())
    assert summary["baseline"] == "logreg" and f"verdict: {summary['datasets']['iris']['lead']}\n" in done.stdout
    assert summary["datasets"]["iris"]["decision"]["sentence"].startswith("At n = 64 on iris (logreg, clean data)")


@pytest.mark.slow
def test_per_cell_intervals_come_from_the_same_seed_resamples_as_every_other_interval(tmp_path):
    from mvd.report.aggregate import SeedResamples
    from mvd.report.summary import SEED

    seeds = tuple(range(6))
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05)}, sizes=SIZES, seeds=seeds, noise=0.02)
    build(study, bootstrap=300)
    cell = [r for r in _summary(study)["datasets"]["synth"]["curves"] if r["train_size"] == 64][0]
    import pandas as pd

    points = pd.read_parquet(next((study / "points").glob("*.parquet")))
    acc = points[points["train_size"] == 64].sort_values("seed")["test_accuracy"].to_numpy()
    rs = SeedResamples(seeds, n=300, seed=SEED)
    low, high = rs.interval(rs.means(acc[None, :], np.array(seeds)))
    assert cell["ci_low"] == pytest.approx(float(low[0]), rel=1e-5)
    assert cell["ci_high"] == pytest.approx(float(high[0]), rel=1e-5)
    assert cell["ci_low"] < cell["score"] < cell["ci_high"]


def _rewrite_points(study, drop):
    import pandas as pd

    for f in sorted((study / "points").glob("*.parquet")):
        pd.read_parquet(f).drop(columns=drop).to_parquet(f, index=False)


def test_points_from_a_foreign_writer_missing_a_column_are_refused_in_one_sentence(tmp_path, capsys):
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05)}, sizes=SIZES)
    _rewrite_points(study, ["primary_metric"])
    with pytest.raises(ConfigError, match=r"points file .*base-clean0-none.parquet lacks the column\(s\) "
                                          r"primary_metric that the report needs"):
        build(study)
    with pytest.raises(SystemExit) as exit_:
        report_main([str(study)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and err.count("\n") == 0 and "primary_metric" in err
    assert sorted(p.name for p in study.iterdir()) == ["configs", "points"]


@pytest.mark.slow
def test_points_without_quality_or_status_columns_are_read_as_clean_successful_points(tmp_path):
    from mvd.report.study import DEFAULTS

    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.05)},
                        sizes=SIZES)
    _rewrite_points(study, ["quality", "quality_rate", "cleaning", "status"])
    build(study, bootstrap=20)
    fits = _summary(study)["datasets"]["synth"]["fits"]
    assert {(f["quality"], f["quality_rate"], f["cleaning"]) for f in fits} == {
        (DEFAULTS["quality"], DEFAULTS["quality_rate"], DEFAULTS["cleaning"])}


@pytest.mark.slow
def test_under_a_shift_the_relabel_route_is_rows_from_the_target_distribution(tmp_path):
    study = write_study(tmp_path / "s", models={"base": (1, 2.0, 0.5, 0.05)}, sizes=SIZES, rates=(0.0, 0.5),
                        kind="covariate_shift", noise_effect=0.3)
    build(study, bootstrap=20, target=0.8)
    routes = [r["route"] for r in _summary(study)["datasets"]["synth"]["business"]["routes"]]
    assert "rows from the target distribution" in routes and not any("cleaner labels" in r for r in routes)


def test_learning_curves_colour_each_model_alike_in_every_panel_and_name_every_model():
    """Datasets of other modalities run other ladders: one colour per model across panels, one legend for all."""
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    from mvd.report import figures

    cond = ("clean", 0.0, "none")
    ladders = {"table": ["dummy", "logreg", "logreg (tuned)", "forest"], "text": ["dummy", "logreg", "wordllama"]}
    datasets, curves = {}, {}
    for name, models in ladders.items():
        datasets[name] = {"models": [{"model": m} for m in models], "higher_is_better": True, "metric": "accuracy",
                          "iso_performance": {"quality": cond[0], "quality_rate": cond[1], "cleaning": cond[2]},
                          "curves": [{"model": m, "quality": cond[0], "quality_rate": cond[1], "cleaning": cond[2],
                                      "ci_low": None, "ci_high": None} for m in models for _ in range(2)]}
        for i, m in enumerate(models):
            curves[(name, m) + cond] = SimpleNamespace(n=np.array([16.0, 32.0]), score=np.array([0.5, 0.6]) + i / 10,
                                                       fit=None)
    fig = figures.learning_curves(SimpleNamespace(summary={"datasets": datasets}, curves=curves))
    try:
        axes = [ax for ax in fig.axes if ax.get_visible()]
        colour = {}
        for ax in axes:
            for line in ax.get_lines():
                assert colour.setdefault(line.get_label(), line.get_color()) == line.get_color(), line.get_label()
        assert len({str(c) for c in colour.values()}) == 4                 # forest and wordllama differ
        assert colour["logreg (tuned)"] == colour["logreg"]                # a tuned curve: its model's colour,
        tuned = next(line for ax in axes for line in ax.get_lines() if line.get_label() == "logreg (tuned)")
        assert tuned.get_marker() == "s"                                   # square markers
        legend = fig.legends[0]
        assert [t.get_text() for t in legend.get_texts()] == ["dummy", "logreg", "logreg (tuned)", "forest", "wordllama"]
        fig.canvas.draw()                                                  # below every panel, over none
        top = legend.get_window_extent().y1
        assert all(ax.get_tightbbox().y0 >= top for ax in axes)
    finally:
        plt.close(fig)
