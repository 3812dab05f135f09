"""Quality corruptions: rates, determinism, nesting, refusals, and the untouched test set."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from mvd import curve, quality, splits
from mvd.config import CONF_DIR
from mvd.data import Dataset
from mvd.errors import ConfigError

KINDS = sorted(p.stem for p in (CONF_DIR / "quality").glob("*.yaml"))
TABULAR_MODELS = sorted(
    p.stem for p in (CONF_DIR / "model").glob("*.yaml")
    if "tabular" in OmegaConf.load(p).get("modalities", ["tabular", "image"])
    and OmegaConf.load(p).get("classification") is not None
)
METRICS = ["test_accuracy", "test_balanced_accuracy", "test_macro_f1", "test_log_loss", "train_score", "n_fit"]


def _node(name="label_noise", rate=0.2, mode="symmetric"):
    """A quality config node as the YAML files write it (mode only for label noise)."""
    node = {"_target_": quality.BUILTIN.get(name, "mvd.quality.Clean"), "name": name, "rate": rate}
    if name == "label_noise":
        node["mode"] = mode
    return node


def _q(name="label_noise", rate=0.2, mode="symmetric") -> quality.Corruption:
    return quality.build(_node(name, rate, mode))


def _ds(task="classification", modality="tabular", X=None, y=None, n_classes=10, value_range=None):
    rng = np.random.default_rng(0)
    n = 4000
    if y is None:
        y = rng.integers(0, n_classes, n) if task == "classification" else rng.normal(size=n)
    if X is None:
        X = rng.normal(size=(len(y), 6))
    classes = [str(c) for c in range(n_classes)] if task == "classification" else None
    return Dataset(name="toy", task=task, modality=modality, X=X, y=y, classes=classes,
                   value_range=value_range)


def _within_binomial(count: int, n: int, rate: float) -> bool:
    """Observed count within 4.5 binomial standard deviations of n * rate."""
    return abs(count - n * rate) <= 4.5 * np.sqrt(n * rate * (1 - rate)) + 1


# --- the corruptions themselves ------------------------------------------------------


@pytest.mark.parametrize("mode", ["symmetric", "pairwise"])
@pytest.mark.parametrize("rate", [0.05, 0.2, 0.4])
def test_label_noise_share_within_binomial_tolerance(mode, rate):
    ds = _ds()
    out = _q(rate=rate, mode=mode).corrupt(ds.X, ds.y, ds, seed=3)
    flipped = out.y != ds.y
    assert np.array_equal(flipped, out.corrupted)  # the truth is exactly the changed labels
    assert _within_binomial(int(flipped.sum()), len(ds.y), rate)


def test_symmetric_never_flips_to_itself_and_reaches_every_other_class():
    ds = _ds(n_classes=4)
    out = _q(rate=0.6).corrupt(ds.X, ds.y, ds, seed=0)
    bad = out.corrupted
    assert bad.any() and np.all(out.y[bad] != ds.y[bad])
    for c in range(4):
        targets = np.unique(out.y[bad & (ds.y == c)])
        assert sorted(targets) == sorted(set(range(4)) - {c})


def test_symmetric_binary_flips_to_the_other_class():
    ds = _ds(n_classes=2)
    out = _q(rate=0.3).corrupt(ds.X, ds.y, ds, seed=1)
    assert np.array_equal(out.y[out.corrupted], 1 - ds.y[out.corrupted])


def test_pairwise_flips_each_class_to_one_fixed_partner():
    ds = _ds(n_classes=5)
    partners = {}
    for seed in (0, 1):
        out = _q(rate=0.5, mode="pairwise").corrupt(ds.X, ds.y, ds, seed=seed)
        pairs = {(int(a), int(b)) for a, b in zip(ds.y[out.corrupted], out.y[out.corrupted])}
        mapping = dict(pairs)
        assert len(mapping) == len(pairs) == 5  # one partner per class
        assert all(a != b for a, b in pairs)
        assert sorted(mapping.values()) == list(range(5))  # a permutation without fixed points
        partners[seed] = mapping
    again = _q(rate=0.5, mode="pairwise").corrupt(ds.X, ds.y, ds, seed=0)
    assert dict(zip(ds.y[again.corrupted].tolist(), again.y[again.corrupted].tolist())) == partners[0]


def test_regression_target_noise_has_rate_times_target_std():
    ds = _ds(task="regression", n_classes=0)
    out = _q(rate=0.3).corrupt(ds.X, ds.y, ds, seed=0)
    noise = out.y - ds.y
    assert out.corrupted.all()
    assert np.std(noise) == pytest.approx(0.3 * np.std(ds.y), rel=0.05)


@pytest.mark.parametrize("name", ["label_noise", "feature_noise", "missing", "imbalance", "duplicates"])
def test_same_seed_same_corruption_other_seed_another(name):
    ds = _ds()
    one = _q(name, 0.3).corrupt(ds.X, ds.y, ds, seed=7)
    two = _q(name, 0.3).corrupt(ds.X, ds.y, ds, seed=7)
    other = _q(name, 0.3).corrupt(ds.X, ds.y, ds, seed=8)
    order = splits.nested_order(one.y, seed=7, task="classification")
    a, b, c = one.subset(order, 500), two.subset(order, 500), other.subset(order, 500)
    assert np.array_equal(a[0], b[0], equal_nan=True) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[2], b[2])
    assert not (np.array_equal(a[0], c[0], equal_nan=True) and np.array_equal(a[1], c[1]))


@pytest.mark.parametrize("name", ["label_noise", "feature_noise", "missing", "imbalance", "duplicates"])
def test_corrupt_never_modifies_its_inputs(name):
    ds = _ds()
    X, y = ds.X.copy(), ds.y.copy()
    _q(name, 0.4).corrupt(ds.X, ds.y, ds, seed=0)
    assert np.array_equal(ds.X, X) and np.array_equal(ds.y, y)


def test_lower_rate_corrupts_a_subset_of_the_rows_of_a_higher_rate():
    ds = _ds()
    low = _q(rate=0.1).corrupt(ds.X, ds.y, ds, seed=0)
    high = _q(rate=0.3).corrupt(ds.X, ds.y, ds, seed=0)
    assert np.all(high.corrupted[low.corrupted])
    assert np.array_equal(low.y[low.corrupted], high.y[low.corrupted])


def test_nested_prefixes_share_corrupted_rows():
    ds = _ds()
    out = _q(rate=0.3).corrupt(ds.X, ds.y, ds, seed=0)
    order = splits.nested_order(out.y, seed=0, task="classification")
    X_s, y_s, bad_s = out.subset(order, 100)
    X_l, y_l, bad_l = out.subset(order, 400)
    assert np.array_equal(X_l[:100], X_s) and np.array_equal(y_l[:100], y_s)
    assert np.array_equal(bad_l[:100], bad_s) and bad_s.any()


def test_feature_noise_scales_with_each_feature_std_and_clips_images():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 3)) * np.array([1.0, 10.0, 100.0])
    ds = _ds(X=X, y=rng.integers(0, 2, 5000), n_classes=2)
    out = _q("feature_noise", 0.2).corrupt(X, ds.y, ds, seed=0)
    assert out.corrupted.all()
    np.testing.assert_allclose(np.std(out.X - X, axis=0), 0.2 * np.std(X, axis=0), rtol=0.05)
    pixels = rng.integers(0, 17, size=(2000, 64)).astype(float)
    img = _ds(X=pixels, y=rng.integers(0, 2, 2000), n_classes=2, value_range=(0.0, 16.0))
    noisy = _q("feature_noise", 0.5).corrupt(pixels, img.y, img, seed=0).X
    assert noisy.min() == 0.0 and noisy.max() == 16.0 and not np.array_equal(noisy, pixels)


def test_feature_noise_on_a_frame_leaves_categorical_columns_alone():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=300), "c": rng.choice(["x", "y"], 300)})
    ds = Dataset(name="t", task="classification", modality="tabular", X=frame,
                 y=rng.integers(0, 2, 300), classes=["0", "1"], categorical=["c"])
    out = _q("feature_noise", 0.5).corrupt(frame, ds.y, ds, seed=0)
    assert out.X["c"].equals(frame["c"]) and not np.allclose(out.X["a"], frame["a"])


def test_missing_cells_within_binomial_tolerance_and_rows_flagged():
    ds = _ds()
    out = _q("missing", 0.15).corrupt(ds.X, ds.y, ds, seed=0)
    cells = np.isnan(out.X)
    assert _within_binomial(int(cells.sum()), cells.size, 0.15)
    assert np.array_equal(out.corrupted, cells.any(axis=1))
    assert np.array_equal(out.X[~cells], ds.X[~cells])


def test_imbalance_thins_every_class_but_the_largest():
    y = np.repeat([0, 1, 2], [500, 300, 200])
    ds = _ds(y=y, n_classes=3)
    out = _q("imbalance", 0.6).corrupt(ds.X, y, ds, seed=0)
    assert list(np.bincount(out.y)) == [500, 120, 80]
    assert _q("imbalance", 0.6).pool_size(y) == len(out.y) == 700
    assert out.info["imbalance_ratio"] == pytest.approx(500 / 80)
    assert not out.corrupted.any()
    kept = {row.tobytes() for row in out.X}
    assert len(kept) == 700 and kept <= {row.tobytes() for row in ds.X}  # rows kept as they were


def test_duplicates_are_earlier_rows_of_the_same_nested_subset():
    ds = _ds()
    out = _q("duplicates", 0.3).corrupt(ds.X, ds.y, ds, seed=0)
    order = splits.nested_order(out.y, seed=0, task="classification")
    for n in (16, 100, 1000):
        X_n, y_n, bad = out.subset(order, n)
        assert bad.sum() == int(np.floor(0.3 * n))  # the share of every subset, exactly
        originals = {(r.tobytes(), t) for r, t in zip(X_n[~bad], y_n[~bad])}
        assert len(originals) == n - bad.sum()
        assert {(r.tobytes(), t) for r, t in zip(X_n[bad], y_n[bad])} <= originals
    X_big, y_big, bad_big = out.subset(order, 1000)
    assert np.array_equal(X_big[:100], out.subset(order, 100)[0]) and np.array_equal(bad_big[:100], out.subset(order, 100)[2])


# --- refusals ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_rate_outside_unit_interval_is_refused(rate):
    with pytest.raises(ConfigError, match=r"quality.rate=.*outside \[0, 1\)"):
        _q(rate=rate).check(_ds())


@pytest.mark.parametrize(("node", "ds", "match"), [
    (_node("clean", 0.2), _ds(), "quality.rate=0.2 with quality=clean"),
    (_node("label_noise", 0.1, "hard"), _ds(), "quality.mode='hard' is not known"),
    (_node("dirt", 0.1), _ds(), "quality.name='dirt' is not the kind Clean implements"),
    ({"name": "dirt", "rate": 0.1}, _ds(), "quality='dirt' is not known"),
    ({**_node("missing", 0.1), "mode": "pairwise"}, _ds(), r"quality.mode='pairwise' is not an option of mvd.quality.Missing; allowed: name, rate"),
    (_node("feature_noise", 0.1), _ds(modality="text", X=np.array(["a b"] * 10), y=np.zeros(10, int)),
     "quality='feature_noise' does not apply to text"),
    (_node("missing", 0.1), _ds(modality="text", X=np.array(["a b"] * 10), y=np.zeros(10, int)),
     "quality='missing' does not apply to text"),
    (_node("imbalance", 0.1), _ds(task="regression"), "quality='imbalance' needs classes"),
    (_node("label_noise", 0.1, "pairwise"), _ds(task="regression"), "quality.mode='pairwise' needs classes"),
])
def test_quality_that_does_not_apply_is_refused(node, ds, match):
    with pytest.raises(ConfigError, match=match):
        quality.build(node).check(ds)


def test_refused_before_any_work(make_cfg, tmp_path):
    cfg = make_cfg("curve=tiny", "quality=label_noise", "quality.rate=1.0")
    with pytest.raises(ConfigError, match="quality.rate=1.0"):
        curve.plan(cfg)
    assert not (tmp_path / "results").exists()


def test_imbalance_sizes_fit_the_thinned_pool(make_cfg):
    cfg = make_cfg("dataset=breast_cancer", "quality=imbalance", "quality.rate=0.5", "curve.seeds=[0,1,2]")
    p = curve.plan(cfg)
    thinned = min(
        p.corruption.pool_size(p.dataset.y[splits.split(p.dataset.y, seed=s, test_fraction=0.25,
                                                        task="classification")[0]])
        for s in (0, 1, 2)
    )
    assert p.sizes[-1] == thinned < 426
    cfg = make_cfg("dataset=breast_cancer", "quality=imbalance", "quality.rate=0.5", "curve.sizes=[16,400]")
    with pytest.raises(ConfigError, match="curve.sizes has \\[400\\] larger than the training pool"):
        curve.plan(cfg)


# --- end to end -------------------------------------------------------------------------


# kinds that need to be told where to act on digits (a band of a pixel's value: a numeric subgroup)
WHERE = {"subgroup_shift": ("quality.column=pixel_3_4", "quality.band=[0,8]")}


def _where(kind: str) -> tuple:
    return WHERE.get(kind, ())


def _run(make_cfg, *overrides):
    frame = curve.run_curve(make_cfg("curve=tiny", *overrides))
    assert (frame["status"] == "ok").all(), frame["error"].tolist()
    return frame.sort_values(["seed", "train_size"]).reset_index(drop=True)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.slow
def test_every_quality_runs_end_to_end(make_cfg, kind):
    frame = _run(make_cfg, "dataset=digits", f"quality={kind}", *_where(kind))
    assert (frame["quality"] == kind).all()
    rate = OmegaConf.load(CONF_DIR / "quality" / f"{kind}.yaml").rate
    assert (frame["quality_rate"] == rate).all()
    if kind in ("label_noise", "feature_noise", "missing", "duplicates"):
        assert (frame["n_corrupted"] > 0).all()
    if kind == "duplicates":
        assert list(frame["n_corrupted"]) == [int(0.3 * 16), int(0.3 * 32)]
    if kind == "imbalance":
        assert (frame["imbalance_ratio"] > 1).all()


@pytest.mark.parametrize("kind", ["label_noise", "feature_noise", "missing", "duplicates"])
@pytest.mark.slow
def test_regression_qualities_run_end_to_end(make_cfg, kind):
    frame = _run(make_cfg, "dataset=diabetes", "model=ridge", f"quality={kind}")
    assert np.isfinite(frame["test_rmse"]).all()


@pytest.mark.parametrize(("kind", "mode"), [(k, "symmetric") for k in KINDS if k != "clean"]
                         + [("label_noise", "pairwise")])
@pytest.mark.parametrize("model", ["logreg", "tree"])
@pytest.mark.slow
def test_rate_zero_gives_numbers_identical_to_clean(make_cfg, kind, mode, model):
    clean = _run(make_cfg, f"model={model}")
    mode_override = [f"quality.mode={mode}"] if kind == "label_noise" else []
    zero = _run(make_cfg, f"model={model}", f"quality={kind}", "quality.rate=0", *mode_override, *_where(kind))
    pd.testing.assert_frame_equal(clean[METRICS], zero[METRICS])
    assert (zero["n_corrupted"] == 0).all()


@pytest.mark.parametrize("model", TABULAR_MODELS)
@pytest.mark.slow
def test_missing_values_are_imputed_for_every_tabular_model(make_cfg, model):
    frame = _run(make_cfg, "dataset=wine", f"model={model}", "quality=missing", "quality.rate=0.3")
    assert (frame["n_corrupted"] > 0).all()


@pytest.mark.slow
def test_test_set_is_bit_identical_under_every_corruption(make_cfg, test_set_digests):
    seen = test_set_digests
    for kind in KINDS:
        _run(make_cfg, "dataset=digits", f"quality={kind}", "quality.rate=0.4" if kind != "clean" else "quality.rate=0",
             *_where(kind))
    assert len(seen) == len(KINDS)
    assert all(digests == seen[("clean", "none")] for digests in seen.values())
