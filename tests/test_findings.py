"""The findings table: one row per dataset, read from a summary.json; the README's atlas table is it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mvd.report import findings
from mvd.report.cli import main as report_main

ROOT = Path(__file__).resolve().parents[1]
FAIR_MIND = ROOT / "results" / "fair_mind"
ATLAS = ROOT / "results" / "atlas"


def _summary(path: Path) -> dict:
    return json.loads((path / "summary.json").read_text())


def test_rows_read_the_decision_the_upgrade_the_shares_the_tuning_and_the_backtest():
    summary = _summary(FAIR_MIND)
    by_name = {r["dataset"]: r for r in findings.rows(summary)}
    assert list(by_name) == list(summary["datasets"])
    magic = summary["datasets"]["magic"]
    chosen = next(lv for lv in magic["decision"]["levers"] if lv["lever"] == magic["decision"]["chosen"])
    row = by_name["magic"]
    assert row["n"] == "16–4,096" and row["task"] == "classification (accuracy)"
    ties = "".join(f"ties {' and '.join(magic['decision']['ties'])}; " for _ in magic["decision"]["ties"][:1])
    assert row["decision at the operating point"].startswith(
        f"n = 4,096, clean: {chosen['lever']} (+{chosen['gain']:.1f} [{chosen['ci_low']:.1f}, {chosen['ci_high']:.1f}]"
        f"{', extrapolated' if chosen['extrapolated'] else ''}; {ties}{'settled' if magic['decision']['settled'] else 'open'}")
    mind = magic["attribution"]["shares"]["mind"]
    assert row["shares of the gain"].startswith(f"mind {100 * mind['share']:.0f}% [{100 * mind['ci_low']:.0f}, ")
    # from the first size where every rung can fit (below it default gbm predicts the prior)
    assert magic["attribution"]["small_size"] == 45 and row["shares of the gain"].endswith("(n 45→4,096)")
    assert row["tuning changed the answer?"] == "no"
    # the attribution's best model is chosen among the rungs run under every condition, and the cell says so
    # where others ran under fewer (the atlas's modern rungs, on clean data only)
    atlas = _summary(ATLAS)
    bc = atlas["datasets"]["breast_cancer"]
    assert bc["attribution"]["best_model"] == "logreg" and "realmlp" not in bc["attribution"]["compared"]
    assert {r["dataset"]: r for r in findings.rows(atlas)}["breast_cancer"]["best model vs the baseline, in data"] == (
        "none run under every condition beats logreg")
    assert "no model run under every data condition beats logreg at n=426" in bc["verdict"]
    # where the best rung at the largest shared size is the baseline itself, there is no upgrade to price
    alone = _summary(FAIR_MIND)
    alone["datasets"]["breast_cancer"]["attribution"]["best_model"] = "logreg"
    assert {r["dataset"]: r for r in findings.rows(alone)}["breast_cancer"]["best model vs the baseline, in data"] == (
        "none beats logreg")
    # at the operating point, measured on the curves or a bound in words (equivalence.cell)
    from mvd.report.equivalence import cell
    assert magic["attribution"]["best_model"] == "catboost"
    assert row["best model vs the baseline, in data"] == "catboost: " + cell(magic["equivalence"], "catboost", 4096)
    assert row["backtest"] == "3/3"
    short = _summary(FAIR_MIND)
    short["datasets"]["magic"]["backtest"] = {"decisions": None, "intervals": None, "note": "no backtest: 3 sizes"}
    assert {r["dataset"]: r for r in findings.rows(short)}["magic"]["backtest"] == "none: no backtest: 3 sizes"


def test_tuning_cell_names_the_default_rung_answer_when_tuning_changed_it():
    summary = _summary(FAIR_MIND)
    entry = summary["datasets"]["magic"]
    entry["decision"]["without_tuning"] = "the next 4,096 labels"
    entry["backtest"] = {"decisions": {"trials": [{"hit": True}, {"hit": False}, {"hit": True}]}}
    row = {r["dataset"]: r for r in findings.rows(summary)}["magic"]
    assert row["tuning changed the answer?"] == "yes (default rungs: the next 4,096 labels)"
    assert row["backtest"] == "2/3"
    entry["decision"]["without_tuning"] = "switching logreg -> forest"  # a model either way
    row = {r["dataset"]: r for r in findings.rows(summary)}["magic"]
    assert row["tuning changed the answer?"] == "the model only (default rungs: switching logreg -> forest)"
    entry["decision"]["ties"] = ["switching logreg -> forest"]   # tied with the chosen lever: a tie, no change
    row = {r["dataset"]: r for r in findings.rows(summary)}["magic"]
    assert row["tuning changed the answer?"] == "no (a tie: switching logreg -> forest gains as much)"
    entry["decision"]["without_tuning"] = None
    assert {r["dataset"]: r for r in findings.rows(summary)}["magic"]["tuning changed the answer?"] == "not tuned"


def test_table_is_markdown_with_one_line_per_dataset_and_pipes_escaped():
    summary = _summary(FAIR_MIND)
    summary["datasets"]["adult"]["task"] = "a|b"
    lines = findings.table(summary).splitlines()
    assert lines[0] == "| " + " | ".join(findings.COLUMNS) + " |" and len(lines) == 2 + len(summary["datasets"])
    assert "a\\|b" in lines[2] and all(len(re.findall(r"(?<!\\)\|", line)) == len(findings.COLUMNS) + 1 for line in lines)


def test_cli_prints_the_table_without_rebuilding_and_refuses_a_study_without_a_summary(tmp_path, capsys):
    assert report_main([str(FAIR_MIND), "--findings"]) == 0
    assert capsys.readouterr().out == findings.table(_summary(FAIR_MIND))
    with pytest.raises(SystemExit) as exc:
        report_main([str(tmp_path), "--findings"])
    assert exc.value.code == 2 and "summary.json does not exist" in capsys.readouterr().err


def test_the_readme_findings_table_is_the_committed_atlas_summary():
    if (ATLAS / "IN_PROGRESS").exists() or not (ATLAS / "summary.json").exists():
        pytest.skip("the atlas is still running: results/atlas has no summary.json yet")
    assert findings.table(_summary(ATLAS)) in (ROOT / "README.md").read_text()


def test_a_study_mixing_tasks_prices_each_dataset_against_its_own_linear_rung(tmp_path):
    from mvd.report.study import read_study
    from mvd.report.summary import analyse
    from tests.synthetic_study import write_study

    study = write_study(tmp_path / "s", models={"logreg": (1, 2.0, 0.5, 0.05), "gbm": (4, 1.0, 0.5, 0.05)},
                        datasets=("cls",), noise=0.005)
    write_study(study, models={"ridge": (1, 80.0, 0.3, 40.0), "gbm": (4, 60.0, 0.3, 35.0)}, datasets=("reg",),
                task="regression", noise=0.5)
    summary = analyse(read_study(study, bootstrap=50)).summary
    assert summary["baseline"] == "logreg"
    reg = summary["datasets"]["reg"]
    assert reg["attribution"]["baseline"] == "ridge" and {r["baseline"] for r in reg["equivalence"]} == {"ridge"}
    assert summary["datasets"]["cls"]["attribution"]["baseline"] == "logreg"
    row = {r["dataset"]: r for r in findings.rows(summary)}["reg"]
    assert row["best model vs the baseline, in data"].startswith("gbm: ") and row["shares of the gain"] != "–"


def test_the_decision_cell_lists_ties_and_the_kind_of_answer_it_is_open_against():
    import numpy as np

    from mvd.report.decision import decide
    from tests.report_helpers import lever_points

    base = np.array([0.800, 0.801, 0.799, 0.800, 0.800])
    swing = np.array([0.01, -0.01, 0.01, -0.01, 0.01])
    tied = lever_points({("base", 1): {128: base, 256: base + 0.01}, ("zeta", 3): {128: base + 0.18},
                         ("alpha", 2): {128: base + 0.18 + 1e-15}})
    d = decide(tied, n_now=128)["toy"].to_dict()
    cell = findings._decision({"decision": d})
    assert cell.startswith("n = 128, clean: switching base -> ")
    assert "; ties switching base -> " in cell and cell.endswith("; settled)")
    close = lever_points({("base", 1): {128: base, 256: base + 0.10 + swing}, ("strong", 3): {128: base + 0.10 - swing}})
    d = decide(close, n_now=128)["toy"].to_dict()
    assert "(+10.2 [8.8, 11.6]; open against a better model)" in findings._decision({"decision": d})
    # the tuning cell finds a model lever's default version, which is no lever of its own
    tuned = lever_points({("base", 1): {128: base, 256: base + 0.01}, ("strong", 3): {128: base + 0.05},
                          ("strong (tuned)", 3): {128: base + 0.10}})
    d = decide(tuned, n_now=128)["toy"].to_dict()
    assert findings._tuning({"decision": d}) == "the model only (default rungs: switching base -> strong)"


def _multiplier(entry: dict, model: str, n: int) -> str:
    row = next(r for r in entry["equivalence"] if r["model"] == model and r["train_size"] == n and r["quality_rate"] == 0
               and r["cleaning"] == "none")
    assert row["kind"] == "measured"
    return f"{row['multiplier']:.3g}×"


def test_the_readme_bullets_are_the_committed_atlas_summary():
    """Every number of the README's atlas bullets, recomputed from summary.json."""
    if (ATLAS / "IN_PROGRESS").exists() or not (ATLAS / "summary.json").exists():
        pytest.skip("the atlas is still running: results/atlas has no summary.json yet")
    s, readme = _summary(ATLAS), " ".join((ROOT / "README.md").read_text().split())
    ds = s["datasets"]
    settled = sorted(n for n, e in ds.items() if e["decision"]["settled"])
    assert settled == ["adult", "letter", "magic", "mnist", "optdigits", "places_country", "places_region", "spambase"]
    assert f"a better model is the settled answer on {len(settled)} of {len(ds)} datasets" in readme
    assert all(ds[n]["decision"]["levers"][0] and ds[n]["decision"]["chosen"].startswith("switching") for n in settled)
    open_to_data = sorted(n for n, e in ds.items() if not e["decision"]["settled"] and e["lead"].startswith(f"On {n}")
                          and "not yet settled against doubling the labels" in e["lead"])
    assert open_to_data == ["digits", "places_name_country", "sms_spam"]
    names = ds["places_name_country"]
    assert names["decision"]["chosen"] == "switching logreg -> wordllama" and "+3.3 points of macro_f1 [3.0, 3.5]" in names["lead"]
    assert "+3.3 macro-F1 points with WordLlama's pretrained embeddings" in readme
    nothing = sorted(n for n, e in ds.items() if "nothing measured" in e["lead"])
    assert nothing == ["breast_cancer", "iris", "wine"]
    assert [int(ds[n]["decision"]["n_test"]) for n in nothing] == [143, 38, 45]
    assert "(their test sets hold 143, 38 and 45 rows per seed)" in readme
    assert "(digits: ahead by +1.0 [−0.8, 2.8])" in readme and "ahead by +1.0 [−0.8, 2.8]" in ds["digits"]["lead"]
    # the modern rungs at the pool: who wins, against whom, in the lead's own numbers
    magic = ds["magic"]
    assert magic["decision"]["chosen"] == "switching logreg -> catboost" and magic["decision"]["settled"]
    assert "+9.6 points [9.1, 10.0]" in magic["lead"] and "magic (+9.6 [9.1, 10.0] with CatBoost)" in readme
    # TabM, measured to 1,024 rows and behind CatBoost there, is held behind it at the pool
    assert max(r["train_size"] for r in magic["curves"] if r["model"] == "tabm") == 1024
    at_1024 = {r["model"]: r["score"] for r in magic["curves"] if r["train_size"] == 1024 and r["quality"] == "clean"
               and r["model"] in ("tabm", "catboost")}
    gap = 100 * (at_1024["catboost"] - at_1024["tabm"])
    tabm = next(lv for lv in magic["decision"]["levers"] if lv["lever"] == "switching logreg -> tabm")
    catboost = next(lv for lv in magic["decision"]["levers"] if lv["lever"] == "switching logreg -> catboost")
    assert tabm["extrapolated"] and tabm["family"] == "measured order (no extrapolated crossing)"
    assert tabm["gain"] == pytest.approx(catboost["gain"] - gap, abs=1e-3)
    assert f"trails CatBoost there on magic by {gap:.2f} points" in readme and f"it reads {tabm['gain']:+.1f}" in readme
    for name, rung, text in (("spambase", "catboost", "+3.2 points [2.1, 4.3]"),
                             ("optdigits", "realmlp", "+2.9 points [2.3, 3.5]"), ("adult", "catboost", "+1.9 points [1.5, 2.3]"),
                             ("digits", "realmlp", "+1.6 points [0.1, 3.1]")):
        assert ds[name]["decision"]["chosen"] == f"switching logreg -> {rung}" and text in ds[name]["lead"], name
        assert text.replace(" points", "") in readme or f"+{text.split()[0][1:]} points with" in readme, name
    gains = {n: {lv["lever"]: lv for lv in ds[n]["decision"]["levers"]} for n in ds}
    assert f"{gains['magic']['switching logreg -> catboost']['gain']:+.1f}" == "+9.6" and "+9.6 [9.1, 10.0]" in readme
    for name, old, text in (("magic", "gbm", "+9.6 against +9.0"), ("spambase", "gbm", "+3.2 against +2.9"),
                            ("optdigits", "mlp (tuned)", "+2.9 against the tuned MLP's +2.0"),
                            ("digits", "mlp", "+1.6 against +1.2")):
        assert f"{gains[name][f'switching logreg -> {old}']['gain']:+.1f}" in text and text in readme, name
    assert "gbm's +1.5 [1.4, 1.6] was still open" in readme and "CatBoost's +1.9 is settled" in readme
    bc = ds["breast_cancer"]["decision"]
    assert bc["chosen"] == "switching logreg -> realmlp" and bc["ties"] == ["the next 426 labels"]
    assert f"RealMLP's +{gains['breast_cancer']['switching logreg -> realmlp']['gain']:.1f} now ties it" in readme
    assert not any("xgboost" in e["decision"]["chosen"] for e in ds.values())
    # tuned CatBoost, measured up to 1,024 rows: the measured default is the lever wherever the pool is larger
    boost = {n: next(lv for lv in e["decision"]["levers"] if lv["lever"] == "switching logreg -> catboost")
             for n, e in ds.items() if n in gains and "switching logreg -> catboost" in gains[n]}
    assert not any("catboost (tuned)" in e["decision"]["chosen"] for e in ds.values())
    assert sorted(n for n, lv in boost.items() if lv["tuning_mattered"] is False) == ["breast_cancer", "iris", "wine"]
    larger = sorted(n for n, lv in boost.items() if lv["tuning_mattered"] is None)
    assert larger == ["adult", "digits", "letter", "magic", "optdigits", "spambase"]
    assert all(boost[n]["alternative"]["lever"] == "switching logreg -> catboost (tuned)" for n in larger)
    assert all(not boost[n]["extrapolated"] for n in larger)
    assert [f"{boost[n]['alternative']['gain']:+.1f}" for n in ("adult", "optdigits")] == ["+2.2", "+2.2"]
    assert "(tuned, extrapolated: +2.2 on adult and on optdigits)" in readme
    assert [n for n, e in ds.items() if any("xgboost" in t for t in e["decision"]["ties"])] == ["iris"]
    # at small n, read off logreg's measured curve
    for dataset, model, n in (("adult", "xgboost", 128), ("digits", "xgboost", 128), ("optdigits", "xgboost", 128),
                              ("breast_cancer", "xgboost", 128), ("optdigits", "realmlp", 512)):
        assert f"{_multiplier(ds[dataset], model, n)}" in readme, (dataset, model)
    assert all(next(r["multiplier"] for r in ds[d]["equivalence"] if r["model"] == "xgboost" and r["train_size"] == 128)
               < 1 for d in ("adult", "digits", "optdigits", "breast_cancer"))
    for dataset, model, n in (("digits", "realmlp", 128), ("optdigits", "realmlp", 128), ("spambase", "catboost", 128)):
        row = next(r for r in ds[dataset]["equivalence"] if r["model"] == model and r["train_size"] == n
                   and r["quality_rate"] == 0 and r["cleaning"] == "none")
        assert row["kind"] == "measured" and row["display"].replace("x [", "× [") in readme, row["display"]
    # more labels, forecast past the pool and open, against the named rival
    more = sorted(n for n, e in ds.items() if e["decision"]["chosen"].startswith("the next"))
    assert more == ["diabetes"] and not ds["diabetes"]["decision"]["settled"]
    lead = ds["diabetes"]["lead"]
    assert "+0.498 rmse [−3.084, 4.080]" in lead and "against tuning ridge" in lead, lead
    assert "+0.498 rmse [−3.084, 4.080] (against tuning ridge)" in readme
    assert "+0.7 [0.1, 1.3], open" in readme and "+0.7 points [0.1, 1.3]" in ds["breast_cancer"]["decision"]["sentence"]
    assert "MNIST (+9.7 [8.3, 10.2] with the CNN" in readme and "+9.7 points [8.3, 10.2]" in ds["mnist"]["lead"]
    r = ds["mnist"]["decision"]["ranking"]
    assert (r["rung"], r["against"], r["measured_to"], r["reach"], r["band"]) == ("cnn", "forest", 1024, 3, "5-10")
    assert (f"extrapolated from its 1,024 rows, where it led the forest by {r['lead']:.2f} points; on real curves an "
            f"order with a lead of 5–10 points held three doublings on in {r['held']:.0%} of {r['pairs']:,} pairs"
            ).replace("%", " %") in readme
    assert [n for n, e in ds.items() if e["decision"]["ranking"]] == ["mnist"]
    # letter: RealMLP, measured to 8,192 rows, leads gbm's measured gain; the README quotes what its first 2,048
    # rows had forecast, which the measurement fell inside
    letter = gains["letter"]
    assert ds["letter"]["decision"]["chosen"] == "switching logreg -> realmlp" and ds["letter"]["decision"]["settled"]
    realmlp = letter["switching logreg -> realmlp"]
    assert not realmlp["extrapolated"] and "+20.2 points [19.6, 20.7]" in ds["letter"]["lead"]
    assert 16.9 <= realmlp["gain"] <= 22.3
    assert ("letter (+20.2 [19.6, 20.7] with RealMLP, measured at 8,192 rows; extrapolated from its first 2,048 rows "
            f"it had read +19.6 [16.9, 22.3]; gbm's {letter['switching logreg -> gbm']['gain']:+.1f} follows)") in readme
    assert f"letter ({realmlp['gain']:+.1f} against {letter['switching logreg -> gbm']['gain']:+.1f})" in readme
    for name, model, text in (("places_country", "knn (tuned)", "+66.1 [65.2, 67.1]"),
                              ("places_region", "hierarchical", "+31.9 [31.6, 32.3]")):
        assert ds[name]["metric"] == "macro_f1" and ds[name]["decision"]["chosen"] == f"switching logreg -> {model}"
        assert f"{text.replace(' [', ' points of macro_f1 [')}" in ds[name]["lead"] and text in readme
    table = findings.table(s)
    assert sum(("does not reach it" in line or "floor lies above" in line) for line in table.splitlines()) == 12
    assert "never reaches the stronger rung on 12 datasets" in readme
    for dataset, model, n in (("magic", "gbm", 128), ("spambase", "gbm", 362), ("letter", "gbm", 512),
                              ("sms_spam", "embedbag", 724), ("adult", "gbm", 2048)):
        assert f"{_multiplier(ds[dataset], model, n)}" in readme, (dataset, model)
    places = sorted(n for n in ds if n.startswith("places_"))
    assert places == ["places_country", "places_name_country", "places_region"]
    shares = {n: e["attribution"]["shares"] for n, e in ds.items() if n not in places}
    assert len(shares) == 12
    quantity = sorted(round(100 * v["quantity"]["share"]) for v in shares.values())
    assert f"{quantity[0]}–{quantity[-1]} % of it" in readme
    mind = {n: round(100 * v["mind"]["share"]) for n, v in shares.items()}
    assert max(mind.values()) == mind["iris"] == 11 and mind["letter"] == -3 and mind["wine"] == -7
    quality = {n: round(100 * v["quality"]["share"]) for n, v in shares.items()}
    assert sorted(quality[n] for n in ("wine", "breast_cancer", "iris")) == [56, 62, 75]
    assert sorted(quality[n] for n in ("magic", "mnist", "letter", "sms_spam"))[::3] == [8, 17]
    assert all(ds[n]["attribution"]["reference_quality"]["quality"] == "label_noise"
               and ds[n]["attribution"]["reference_quality"]["quality_rate"] == 0.2 for n in shares)
    # the GeoNames tasks run clean data only: mind and quantity, the mind's share the largest of any dataset
    geo = sorted(round(100 * ds[n]["attribution"]["shares"]["mind"]["share"]) for n in places)
    assert set(ds[places[0]]["attribution"]["shares"]) == {"mind", "quantity"} and geo[-1] > max(mind.values())
    assert f"the model upgrade explains about half ({geo[0]}–{geo[-1]} %)" in readme
    assert all(ds[n]["attribution"]["reference_quality"]["quality"] == "clean" for n in places)
    # the objectives: macro-F1 keeps every choice but magic's; log loss keeps the kind of answer on 9 of 11
    kinds = {"labels": "data", "step": "data", "model": "mind", "tune": "mind"}
    rows = {n: {r["objective"]: r for r in e["objectives"]["rows"]} for n, e in ds.items()}
    primary = {n: e["metric"] for n, e in ds.items()}
    classif = [n for n in ds if primary[n] == "accuracy"]
    assert [n for n in classif if rows[n]["macro_f1"]["chosen"] != rows[n]["accuracy"]["chosen"]] == ["magic"]
    assert rows["magic"]["macro_f1"]["chosen"] == "switching logreg -> tabm"
    assert rows["magic"]["accuracy"]["chosen"] == "switching logreg -> catboost" and magic["decision"]["n_now"] > 1024
    assert "the chosen lever is the same on 10 of 11 (on magic TabM's lead, extrapolated past its 1,024 rows" in readme
    changed = sorted(n for n in classif if kinds[rows[n]["log_loss"]["kind"]] != kinds[rows[n]["accuracy"]["kind"]])
    assert len(classif) == 11
    assert changed == ["breast_cancer", "wine"] and all(rows[n]["log_loss"]["kind"] == "labels" for n in changed)
    assert "it is the same kind of answer on 9, and on breast_cancer and wine" in readme
    names = rows["places_name_country"]
    assert all(r["chosen"] == "switching logreg -> wordllama" for r in names.values())
    assert not names["macro_f1"]["settled"] and names["accuracy"]["settled"]
    tuned = {n for n, e in ds.items() for lv in e["decision"]["levers"] if lv["lever"] == e["decision"]["chosen"]
             and lv.get("tuning_mattered")}
    assert tuned == {"places_country", "sms_spam"}
    assert ds["optdigits"]["decision"]["without_tuning"] == ds["optdigits"]["decision"]["chosen"]
    assert "on optdigits the tuned MLP it chose before now trails RealMLP at its defaults" in readme
    assert rows["sms_spam"]["log_loss"]["chosen"] == "switching logreg -> embedbag" and rows["sms_spam"]["log_loss"]["settled"]
    # the backtest, beside the simple rules on the same trials
    total = {}
    for e in ds.values():
        for rule, v in ((e["backtest"] or {}).get("decisions") or {}).get("rules", {}).items():
            t = total.setdefault(rule, [0, 0, 0.0])
            t[0] += v["hits"]
            t[1] += v["trials"]
            t[2] += v["mean_regret"] * v["trials"]
    assert {r: (t[0], t[1]) for r, t in total.items()} == {"method": (36, 40), "half": (37, 40), "again": (34, 40),
                                                          "last": (34, 40)}
    flat = " ".join(readme.split())
    # ... per unit: the 38 trials on rates and diabetes's 2 in RMSE are never added
    pooled = s["backtest"]
    rates, rmse = pooled["points"]["rules"], pooled["rmse"]["rules"]
    assert (rates["method"]["hits"], rates["method"]["trials"]) == (34, 38)
    assert (rmse["method"]["hits"], rmse["method"]["trials"]) == (2, 2)
    assert (f"36 of 40 backtests: 34 of the 38 on rates (mean regret {rates['method']['mean_regret']:.2f} points) and "
            "both on diabetes's RMSE") in flat
    said = {r: f"{rates[r]['hits']} ({rates[r]['mean_regret']:.2f})" for r in ("half", "again", "last")}
    assert f"the last one\" {said['half']}, \"the last one again\" {said['again']}, \"no more gain\" {said['last']}" in flat
    misses = {n: (r["method"]["hits"], r["method"]["trials"]) for n, e in ds.items()
              for r in [((e["backtest"] or {}).get("decisions") or {}).get("rules", {})]
              if r and r["method"]["hits"] < r["method"]["trials"]}
    assert misses == {"adult": (2, 3), "breast_cancer": (2, 3), "digits": (2, 3), "wine": (0, 1)}
    assert "(adult 2/3, breast_cancer 2/3, digits 2/3, wine 0/1)" in readme
    # the error of the more-labels forecast on the same trials, and how far the datasets tell the rules apart
    diff = pooled["points"]["labels_error_difference"]
    assert pooled["points"]["datasets"] == 14 and "the 14 datasets cannot tell from none" in flat
    assert (f"(mean error {rates['half']['labels_error']:.2f} points against the forecast's "
            f"{rates['method']['labels_error']:.2f})") in flat
    ci = {r: f"{d['value']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]".replace("-", "−") for r, d in diff.items()}
    assert all(v in flat for v in ci.values())
    assert diff["half"]["ci_low"] < 0 < diff["half"]["ci_high"] and diff["again"]["ci_low"] < 0 < diff["again"]["ci_high"]
    assert diff["last"]["ci_low"] > 0
    held = [(e["backtest"]["intervals"]["held_out"], e["backtest"]["intervals"]["coverage"])
            for e in ds.values() if (e["backtest"] or {}).get("intervals")]
    n_held = sum(h for h, _ in held)
    c80 = sum(h * c["80"] for h, c in held) / n_held
    c95 = sum(h * c["95"] for h, c in held) / n_held
    assert f"held {100 * c80:.0f} % and {100 * c95:.0f} % of the {n_held} held-out means" in readme


def test_the_readme_pretraining_bullet_is_the_committed_atlas_summary():
    """The pretraining multipliers the README quotes, read from the atlas's sms_spam pretraining rows."""
    if (ATLAS / "IN_PROGRESS").exists() or not (ATLAS / "summary.json").exists():
        pytest.skip("the atlas is still running: results/atlas has no summary.json yet")
    ds = _summary(ATLAS)["datasets"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    pairs = {p["model"]: {r["train_size"]: r for r in p["rows"]} for p in ds["sms_spam"]["pretraining"]}
    tuned, default = pairs["wordllama (tuned)"], pairs["wordllama"]
    for rows, n, loss in ((tuned, 32, False), (tuned, 91, False), (tuned, 256, True), (tuned, 4180, True),
                          (default, 45, False), (default, 4096, True)):
        row = rows[n]
        assert row["kind"] == "measured" and row["loss"] is loss, (n, row)
        assert row["display"].replace("x [", "× [") in readme, row["display"]
    # the gain where bag-of-words' own tuned curve is best, the loss from 256 rows on
    assert max(tuned.values(), key=lambda r: r["multiplier"] if r["kind"] == "measured" else 0)["train_size"] == 32
    assert min(n for n, r in tuned.items() if r["loss"] and r["ci_high"] < 1) == 256
    assert min(n for n, r in default.items() if r["loss"] and r["ci_high"] < 1) == 4096
    # logreg on bag-of-words at defaults scores the majority-class rate at 45 rows
    assert default[45]["bag_of_words_error"] == default[16]["bag_of_words_error"]
    assert ds["sms_spam"]["decision"]["chosen"] == "tuning logreg"


CARDINALITY = ROOT / "results" / "cardinality"


def test_the_readme_cardinality_bullets_are_the_committed_cardinality_summary():
    """The many-classes bullets, read from results/cardinality/summary.json."""
    if not (CARDINALITY / "summary.json").exists():
        pytest.skip("results/cardinality has no summary.json yet")
    s = _summary(CARDINALITY)
    readme = " ".join((ROOT / "README.md").read_text().split())
    family = s["cardinality"]["families"]["places_region"]
    members = {m["classes"] if m["top_classes"] else "all": m for m in family["members"]}
    assert family["direction"] == "stays with a better model at every number of classes"
    assert sum(m["settled"] for m in members.values()) == 4 and "settled at 4 of 5" in readme
    assert members[2]["answer"] == "no lever gains" and s["n_points"] == 1510 and "**1,510 points**" in readme
    assert sorted({int(x) for d in s["datasets"].values() for x in d["seeds"]}) == [0, 1, 2, 3, 4]

    def ci(m, key=""):
        g = m[key] if key else m
        return f"+{g['gain']:.1f} [{g['ci_low']:.1f}, {g['ci_high']:.1f}]"

    for k, model in ((8, "knn"), (32, "forest"), (246, "forest"), ("all", "hierarchical")):
        assert members[k]["answer"] == "a better model" and members[k]["lever_model"] == model
        assert ci(members[k]) in readme, k
    assert members[246]["model_gains_most"]["group"] == "tail" and members[246]["data_gains_most"]["group"] == "head"
    assert members[32]["model_gains_most"]["group"] == "torso" and members[32]["data_gains_most"]["group"] == "tail"
    for k, key in ((246, "model_gains_most"), (246, "data_gains_most"), (32, "model_gains_most"), (32, "data_gains_most")):
        g = members[k][key]
        assert f"{g['gain']:+.1f} [{g['ci_low']:.1f}, " in readme, (k, key)
    # at 246 regions the hierarchical rung ties the forest; over all regions it beats every flat rung
    structure = s["cardinality"]["structure"]
    assert {r["flat"]: r["verdict"] for r in structure["places_region_top246"]["rows"]}["forest"] == "ties"
    flat = {r["flat"]: r for r in structure["places_region"]["rows"]}
    assert {f: r["verdict"] for f, r in flat.items()} == {"forest": "beats", "knn": "beats", "logreg": "beats"}
    assert (flat["forest"]["n"], flat["knn"]["n"], flat["logreg"]["n"]) == (4096, 16384, 16384)
    for f, key in (("forest", "lead"), ("forest", "accuracy_lead"), ("knn", "lead"), ("logreg", "lead")):
        r = flat[f]
        assert f"{r[key]:+.1f} [{r[key + '_ci_low']:.1f}, {r[key + '_ci_high']:.1f}]" in readme, (f, key)
    # the country from coordinates: a tuned knn, and tuning changed the model
    country = s["datasets"]["places_country"]
    chosen = next(lv for lv in country["decision"]["levers"] if lv["lever"] == country["decision"]["chosen"])
    assert chosen["lever"] == "switching logreg -> knn (tuned)" and chosen["tuning_mattered"]
    assert country["decision"]["settled"] and ci(chosen) in readme
    assert "best default rung is the forest" in readme and chosen["alternative"]["lever"] == "switching logreg -> knn"
    best_default = max((lv for lv in country["decision"]["levers"] if lv["kind"] == "model"
                        and "(tuned)" not in lv["lever"]), key=lambda lv: lv["gain"])
    assert best_default["lever"] == "switching logreg -> forest"
    rows = {r["train_size"]: r for r in s["datasets"]["places_name_country"]["pretraining"][0]["rows"]}
    for n in (64, 256):
        assert rows[n]["kind"] == "measured" and rows[n]["display"].replace("x [", "× [") in readme
    assert min(n for n in rows if rows[n]["kind"] == "at_least") == 1024 and "From 1,024 rows" in readme
    assert all(rows[n]["kind"] == "at_least" for n in rows if n >= 1024) and "≥ 2× at 8,192" in readme
    lead = s["datasets"]["places_name_country"]["lead"]
    assert lead.startswith("On places_name_country at 16,384 rows: switch logreg to wordllama (+3.3 points of macro_f1 "
                           "[3.0, 3.5]); not yet settled against doubling the labels (ahead by +2.4 [−0.2, 5.0];")
    assert "switching to WordLlama (+3.3 [3.0, 3.5] macro-F1 points), not yet settled against doubling the labels " \
           "(ahead by +2.4 [−0.2, 5.0])" in readme
    # the backtest beside the simple rules
    total = {}
    for e in s["datasets"].values():
        for rule, v in ((e["backtest"] or {}).get("decisions") or {}).get("rules", {}).items():
            t = total.setdefault(rule, [0, 0])
            t[0], t[1] = t[0] + v["hits"], t[1] + v["trials"]
    assert total == {"method": [18, 20], "half": [18, 20], "again": [18, 20], "last": [20, 20]}
    assert "won in 18 of 20 backtests, as \"half the last gain\" and \"the last gain again\" did" in readme
    top8 = s["datasets"]["places_region_top8"]["backtest"]["decisions"]["rules"]["method"]
    assert (top8["hits"], top8["trials"]) == (1, 3) and "its two misses are at 8 regions (1 of 3)" in readme
    err = {}
    for e in s["datasets"].values():
        for rule, v in ((e["backtest"] or {}).get("decisions") or {}).get("rules", {}).items():
            err.setdefault(rule, []).extend([v["labels_error"]] * v["trials"])
    mean = {r: sum(v) / len(v) for r, v in err.items()}
    assert min(mean, key=mean.get) == "method"
    assert (f"(mean error {mean['method']:.2f} points; half the last gain {mean['half']:.2f}, the last gain again "
            f"{mean['again']:.2f})") in readme
    # ... which its datasets cannot tell apart
    diff = s["backtest"]["points"]["labels_error_difference"]
    assert s["backtest"]["points"]["datasets"] == 7 and "its 7 datasets cannot tell it from either" in readme
    flat = " ".join(readme.split())
    for rule in ("half", "again"):
        d = diff[rule]
        assert d["ci_low"] < 0 < d["ci_high"]
        assert f"{d['value']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]".replace("-", "−") in flat
