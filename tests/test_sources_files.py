"""``dataset=file`` (CSV, TSV, parquet; with and without a test file) and the prepared-data cache."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

from mvd import data
from mvd.data import Dataset
from mvd.errors import ConfigError
from mvd.sources import cache, files


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("MVD_CACHE", str(tmp_path / "cache"))
    data._MEMO.clear()
    yield
    data._MEMO.clear()


def _table(n=60, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 80, n),
        "city": rng.choice(["Oslo", "Lima", "Pune"], n),
        "zip": rng.choice([1000, 2000, 3000], n),
        "score": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "label": rng.choice(["no", "yes"], n),
    })


def _load(make_cfg, *overrides):
    return data.load(make_cfg("dataset=file", *overrides).dataset)


def _nothing_written(tmp_path):
    return not (tmp_path / "cache").exists()


def test_csv_without_test_file_infers_types(make_cfg, tmp_path):
    _table().to_csv(tmp_path / "t.csv", index=False)
    ds = _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label")
    assert isinstance(ds.X, pd.DataFrame) and ds.categorical == ["city"]
    assert ds.X["age"].dtype == np.float64 and ds.X["score"].isna().sum() == _table()["score"].isna().sum()
    assert ds.classes == ["no", "yes"] and ds.test_index is None and len(ds) == 60


def test_tsv_with_test_file_is_the_official_split(make_cfg, tmp_path):
    _table(60).to_csv(tmp_path / "train.tsv", sep="\t", index=False)
    _table(20, seed=1).to_csv(tmp_path / "test.tsv", sep="\t", index=False)
    ds = _load(make_cfg, f"dataset.path={tmp_path / 'train.tsv'}", f"dataset.test_path={tmp_path / 'test.tsv'}",
               "dataset.target=label", "dataset.categorical=[city,zip]")
    assert ds.categorical == ["city", "zip"] and ds.test_index.tolist() == list(range(60, 80))
    assert ds.X["zip"].iloc[60] == str(_table(20, seed=1)["zip"].iloc[0])


@pytest.mark.parametrize("with_test", [False, True])
def test_parquet(make_cfg, tmp_path, with_test):
    frame = _table().drop(columns=["city"])
    frame.to_parquet(tmp_path / "a.parquet")
    frame.iloc[:10].to_parquet(tmp_path / "b.parquet")
    extra = [f"dataset.test_path={tmp_path / 'b.parquet'}"] if with_test else []
    ds = _load(make_cfg, f"dataset.path={tmp_path / 'a.parquet'}", "dataset.target=label", *extra)
    # all numeric: a plain float array, NaN kept for the pipeline's imputer
    assert isinstance(ds.X, np.ndarray) and ds.X.shape == (70 if with_test else 60, 3)
    assert ds.feature_names == ["age", "zip", "score"] and np.isnan(ds.X).any()
    assert (ds.test_index is not None) == with_test


def test_regression_and_text_and_feature_subset(make_cfg, tmp_path):
    frame = _table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    ds = _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", "dataset.target=age", "dataset.task=regression",
               "dataset.columns.features=[zip,score]")
    assert ds.y.dtype == np.float64 and ds.X.shape == (60, 2) and ds.classes is None
    data._MEMO.clear()
    texts = pd.DataFrame({"body": ["good film", "bad plot", "great cast", "dull"] * 5, "y": [1, 0, 1, 0] * 5})
    texts.to_csv(tmp_path / "x.csv", index=False)
    ds = _load(make_cfg, f"dataset.path={tmp_path / 'x.csv'}", "dataset.target=y", "dataset.modality=text")
    assert ds.X.dtype == object and ds.X[0] == "good film" and ds.classes == ["0", "1"]


@pytest.mark.parametrize("overrides, message", [
    (["dataset.target=income"], r"dataset.target='income' is not a column; columns: age, city, zip, score, label\."),
    (["dataset.target=label", "dataset.categorical=[town]"], r"dataset.categorical names column 'town'"),
    (["dataset.target=label", "dataset.columns.features=[age,nope]"], r"dataset.columns.features names column 'nope'"),
    (["dataset.target=label", "dataset.numeric=[city]"], r"column 'city' is not numeric"),
    ([], r"dataset.target is not set; name the label column"),
])
@pytest.mark.slow
def test_bad_columns_are_refused_before_anything_is_written(make_cfg, tmp_path, overrides, message):
    _table().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ConfigError, match=message):
        _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", *overrides)
    assert _nothing_written(tmp_path)


def test_rows_without_a_target_are_dropped_and_integer_labels_keep_their_names(make_cfg, tmp_path):
    frame = _table().assign(label=[0, 1] * 30)
    frame.loc[[3, 7], "label"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    ds = _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label")
    assert len(ds) == 58 and ds.classes == ["0", "1"]
    assert ds.rows_dropped == 2 and ds.rows_dropped_reason == "their target 'label' is empty"


def test_one_class_target_is_refused(make_cfg, tmp_path):
    _table().assign(label="yes").to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ConfigError, match=r"the target has one class \('yes'\); classification needs at least 2"):
        _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label")
    assert _nothing_written(tmp_path)


@pytest.mark.slow
def test_files_not_in_the_claimed_format_are_refused(make_cfg, tmp_path):
    _table().to_csv(tmp_path / "fake.parquet", index=False)
    with pytest.raises(ConfigError, match=r"fake.parquet' is not a parquet file"):
        _load(make_cfg, f"dataset.path={tmp_path / 'fake.parquet'}", "dataset.target=label")
    _table().to_parquet(tmp_path / "fake.csv")
    with pytest.raises(ConfigError, match=r"fake.csv' is binary, not a CSV text file"):
        _load(make_cfg, f"dataset.path={tmp_path / 'fake.csv'}", "dataset.target=label")
    _table().to_csv(tmp_path / "comma.tsv", index=False)
    with pytest.raises(ConfigError, match=r"the file has one column: is the separator right"):
        _load(make_cfg, f"dataset.path={tmp_path / 'comma.tsv'}", "dataset.target=label")
    with pytest.raises(ConfigError, match=r"has no known suffix"):
        _load(make_cfg, f"dataset.path={tmp_path / 'data.xlsx'}", "dataset.target=label")
    with pytest.raises(ConfigError, match=r"dataset.format='xls' is not known"):
        _load(make_cfg, f"dataset.path={tmp_path / 'comma.tsv'}", "dataset.target=label", "dataset.format=xls")
    assert _nothing_written(tmp_path)


def test_missing_path_is_refused(make_cfg, tmp_path):
    with pytest.raises(ConfigError, match=r"dataset.path is not set; give your file"):
        _load(make_cfg)
    with pytest.raises(ConfigError, match=r"dataset.test_path='.*nope.csv' does not exist"):
        _table().to_csv(tmp_path / "t.csv", index=False)
        _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", f"dataset.test_path={tmp_path / 'nope.csv'}",
              "dataset.target=label")
    assert _nothing_written(tmp_path)


@pytest.mark.slow
def test_a_csv_never_seen_runs_end_to_end_with_one_command(tmp_path):
    _table(120).to_csv(tmp_path / "mine.csv", index=False)
    env = dict(os.environ, MVD_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    cmd = [sys.executable, "-m", "mvd.cli", "dataset=file", f"dataset.path={tmp_path / 'mine.csv'}",
           "dataset.target=label", "model=gbm", "curve=tiny", f"results_dir={tmp_path / 'results'}",
           f"hydra.run.dir={tmp_path / 'out'}", "progress=false"]
    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    from mvd import store

    (study,) = (tmp_path / "results").iterdir()  # a study of its own, named after the command
    points = store.load(study)
    assert (points["status"] == "ok").all() and points["dataset"].tolist() == ["mine", "mine"]  # the file's name


@pytest.mark.slow
def test_a_csv_too_small_for_the_split_is_one_sentence_exit_2_and_nothing_written(tmp_path):
    pd.DataFrame({"a": [1, 2, 3], "label": ["x", "y", "x"]}).to_csv(tmp_path / "three.csv", index=False)
    env = dict(os.environ, MVD_CACHE=str(tmp_path / "cache"), WANDB_MODE="disabled")
    cmd = [sys.executable, "-m", "mvd.cli", "dataset=file", f"dataset.path={tmp_path / 'three.csv'}",
           "dataset.target=label", f"results_dir={tmp_path / 'results'}", f"hydra.run.dir={tmp_path / 'out'}",
           "progress=false"]
    out = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "has 3 rows in 2 classes (the rarest, 'y', has 1); the stratified split needs at least 2 rows" in lines[0]
    assert not (tmp_path / "results").exists()


def test_the_split_check_refuses_exactly_what_the_splitter_cannot_do():
    from sklearn.model_selection import train_test_split

    from mvd import splits

    for y, fraction in [([0, 1, 0], 0.25), ([0, 0, 1, 1], 0.25), ([0, 0, 0, 1, 1, 1], 0.2), ([0, 0, 1, 1], 0.5),
                        ([0] * 5 + [1] * 2, 0.25), ([0] * 9 + [1] * 2 + [2] * 2, 0.1)]:
        y = np.asarray(y)
        try:
            train_test_split(np.arange(len(y)), test_size=fraction, random_state=0, stratify=y)
            works = True
        except ValueError:
            works = False
        try:
            splits.check_split(y, test_fraction=fraction, task="classification")
            allowed = True
        except ConfigError:
            allowed = False
        assert allowed == works, (y.tolist(), fraction)


def test_rows_with_an_empty_target_are_said_once_and_recorded_on_the_points(make_cfg, tmp_path, capsys):
    from mvd import curve

    frame = _table(80).assign(label=["no", "yes"] * 40)
    frame.loc[[3, 7, 11], "label"] = None
    frame.to_csv(tmp_path / "t.csv", index=False)
    cfg = make_cfg("dataset=file", f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label", "curve=tiny",
                   "model=tree")
    points = curve.run_curve(cfg)
    curve.run_curve(cfg)  # a second job of the same process: said once
    said = [line for line in capsys.readouterr().err.splitlines() if "left out" in line]
    assert said == ["mvd: dataset 't': left out 3 rows because their target 'label' is empty."]
    assert (points["rows_dropped"] == 3).all()
    assert (points["rows_dropped_reason"] == "their target 'label' is empty").all()


# --- the cache -------------------------------------------------------------------------


def _entries(tmp_path):
    return sorted((tmp_path / "cache" / "prepared").glob("*.arrow"))


@pytest.mark.slow
def test_cache_is_reused_then_rebuilt_when_corrupt_or_stale(make_cfg, tmp_path, monkeypatch):
    _table().to_csv(tmp_path / "t.csv", index=False)
    args = (f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label")
    first = _load(make_cfg, *args)
    [entry] = _entries(tmp_path)
    # reused: the parser is not called again
    data._MEMO.clear()
    calls = []
    real = files.read_table
    monkeypatch.setattr(files, "read_table", lambda *a: calls.append(a) or real(*a))
    again = _load(make_cfg, *args)
    assert calls == [] and again.X.equals(first.X) and np.array_equal(again.y, first.y)
    # one flipped byte in the middle: detected, rebuilt, same content
    raw = bytearray(entry.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    entry.write_bytes(bytes(raw))
    data._MEMO.clear()
    with pytest.warns(UserWarning, match="corrupt or stale; rebuilding"):
        rebuilt = _load(make_cfg, *args)
    assert len(calls) == 1 and rebuilt.X.equals(first.X) and cache.read(entry) is not None
    # truncated (a writer killed mid-way would never leave this, but a disk might)
    entry.write_bytes(entry.read_bytes()[:100])
    data._MEMO.clear()
    with pytest.warns(UserWarning):
        _load(make_cfg, *args)
    assert len(calls) == 2
    # stale: the file changed, so its checksum and the key change; the new rows are read
    _table(80).to_csv(tmp_path / "t.csv", index=False)
    data._MEMO.clear()
    assert len(_load(make_cfg, *args)) == 80 and len(calls) == 3 and len(_entries(tmp_path)) == 2


def test_cache_off_writes_nothing(make_cfg, tmp_path):
    _table().to_csv(tmp_path / "t.csv", index=False)
    _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label", "dataset.cache=false")
    assert _nothing_written(tmp_path)


def _datasets():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": [1.5, np.nan, 3.0, 4.0], "c": pd.Categorical(["x", None, "y", "x"])})
    return [
        Dataset("f", "classification", "tabular", frame, np.array([0, 1, 0, 1]), ["n", "y"], ["a", "c"],
                test_index=np.array([3]), categorical=["c"]),
        Dataset("t", "classification", "text", np.array(["héllo", "", "a\tb"], dtype=object),
                np.array([1, 0, 1]), ["0", "1"], ["text"]),
        Dataset("i", "classification", "image", rng.integers(0, 256, (5, 12)).astype(np.float32),
                np.arange(5) % 2, ["0", "1"], None, image_shape=(3, 2, 2), value_range=(0.0, 255.0)),
        Dataset("r", "regression", "tabular", rng.normal(size=(4, 3)), rng.normal(size=4)),
    ]


@pytest.mark.parametrize("ds", _datasets(), ids=lambda d: d.name)
def test_entries_round_trip_every_kind_of_dataset(tmp_path, ds):
    path = tmp_path / f"{ds.name}.arrow"
    cache.write(ds, path, "k")
    back = cache.read(path, "k")
    assert cache.read(path, "other key") is None
    if isinstance(ds.X, pd.DataFrame):
        pd.testing.assert_frame_equal(back.X, ds.X)
    else:
        assert back.X.dtype == ds.X.dtype and np.array_equal(back.X, ds.X)
    assert back.y.dtype == ds.y.dtype and np.array_equal(back.y, ds.y)
    assert (back.test_index is None) == (ds.test_index is None)
    for attr in ("name", "task", "modality", "classes", "feature_names", "image_shape", "categorical", "value_range"):
        assert getattr(back, attr) == getattr(ds, attr), attr


def test_concurrent_writers_never_expose_a_half_written_entry(tmp_path):
    ds = _datasets()[2]
    ds = Dataset(ds.name, ds.task, ds.modality, np.tile(ds.X, (4000, 1)), np.tile(ds.y, 4000), ds.classes,
                 image_shape=ds.image_shape)
    path = tmp_path / "shared.arrow"
    cache.write(ds, path, "k")
    bad, stop = [], threading.Event()

    def writer():
        for _ in range(15):
            cache.write(ds, path, "k")

    def reader():
        while not stop.is_set():
            got = cache.read(path, "k")
            if got is None or len(got) != len(ds):
                bad.append(got)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    assert bad == [] and sorted(p.name for p in tmp_path.iterdir()) == ["shared.arrow"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cache.read(path, "k") is not None


def test_an_unwritable_cache_warns_and_still_loads(make_cfg, tmp_path, monkeypatch):
    _table().to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="could not cache 't'"):
        ds = _load(make_cfg, f"dataset.path={tmp_path / 't.csv'}", "dataset.target=label")
    assert len(ds) == 60
