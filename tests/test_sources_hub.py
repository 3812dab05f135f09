"""``hf`` and ``openml`` sources and their catalogue configs, on local fixtures.

Hugging Face: parquet files written by ``datasets`` with the hub datasets'
own features and column names, loaded through ``load_dataset`` on the folder.
OpenML: a ``fetch_openml`` data_home filled with the API's JSON answers and an
ARFF file, so scikit-learn's own code path reads them and no host is reached.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from mvd import data
from mvd.errors import ConfigError

datasets = pytest.importorskip("datasets")
from datasets import ClassLabel, Features, Image, Value  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("MVD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    data._MEMO.clear()
    yield
    data._MEMO.clear()


def _write(folder: Path, split: str, columns: dict, features: Features) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_dict(columns, features=features).to_parquet(str(folder / f"{split}.parquet"))


def _images(n, shape, seed):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, shape, dtype=np.uint8) for _ in range(n)]


FASHION = ["T - shirt / top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _hub_fixture(name: str, root: Path) -> Path:
    """A folder in the hub dataset's layout: its splits, features and column names."""
    folder = root / name
    if name in ("fashion_mnist", "cifar10"):
        image_col, shape, names = ("image", (28, 28), FASHION) if name == "fashion_mnist" else ("img", (32, 32, 3), CIFAR)
        feats = Features({image_col: Image(), "label": ClassLabel(names=names)})
        for split, n, seed in (("train", 30, 0), ("test", 10, 1)):
            _write(folder, split, {image_col: _images(n, shape, seed), "label": [i % 10 for i in range(n)]}, feats)
    elif name in ("ag_news", "imdb"):
        names = ["World", "Sports", "Business", "Sci/Tech"] if name == "ag_news" else ["neg", "pos"]
        feats = Features({"text": Value("string"), "label": ClassLabel(names=names)})
        for split, n in (("train", 24), ("test", 8)):
            texts = [f"{split} text number {i} about {names[i % len(names)]}" for i in range(n)]
            _write(folder, split, {"text": texts, "label": [i % len(names) for i in range(n)]}, feats)
    elif name == "sst2":
        feats = Features({"idx": Value("int32"), "sentence": Value("string"),
                          "label": ClassLabel(names=["negative", "positive"])})
        for split, n in (("train", 20), ("validation", 6), ("test", 6)):
            labels = [-1] * n if split == "test" else [i % 2 for i in range(n)]
            _write(folder, split, {"idx": list(range(n)), "sentence": [f"a {split} sentence {i}" for i in range(n)],
                                   "label": labels}, feats)
    return folder


# name: (rows, X shape per row, classes, official test rows, image_shape)
HUB = {
    "fashion_mnist": (40, (784,), sorted(FASHION), 10, (1, 28, 28)),
    "cifar10": (40, (3072,), sorted(CIFAR), 10, (3, 32, 32)),
    "ag_news": (32, (), sorted(["World", "Sports", "Business", "Sci/Tech"]), 8, None),
    "imdb": (32, (), ["neg", "pos"], 8, None),
    "sst2": (26, (), ["negative", "positive"], 6, None),
}


@pytest.mark.parametrize("name", list(HUB))
@pytest.mark.slow
def test_hf_catalogue_configs_on_fixture_files(make_cfg, tmp_path, name):
    rows, row_shape, classes, n_test, image_shape = HUB[name]
    folder = _hub_fixture(name, tmp_path / "hub")
    ds = data.load(make_cfg(f"dataset={name}", f"dataset.path={folder}").dataset)
    assert len(ds) == rows and ds.X.shape[1:] == row_shape and ds.classes == classes
    assert ds.test_index.tolist() == list(range(rows - n_test, rows)) and ds.image_shape == image_shape
    if image_shape:  # channels first, flattened, the 0-255 grey levels
        assert ds.X.dtype == np.float32 and ds.modality == "image" and ds.value_range == (0.0, 255.0)
        first = np.asarray(_images(1, (28, 28) if name == "fashion_mnist" else (32, 32, 3), 0)[0])
        expected = first if first.ndim == 2 else first.transpose(2, 0, 1)
        assert np.array_equal(ds.X[0], expected.ravel())
    else:
        assert ds.X.dtype == object and ds.modality == "text" and isinstance(ds.X[0], str)
    # labels keep ClassLabel's names: row 1 of train is label code 1
    code = 1
    names = FASHION if name == "fashion_mnist" else CIFAR if name == "cifar10" else None
    if names:
        assert ds.classes[ds.y[1]] == names[code]


@pytest.mark.slow
def test_hf_drops_unlabelled_rows_and_checks_splits_and_columns(make_cfg, tmp_path):
    folder = _hub_fixture("sst2", tmp_path / "hub")
    ds = data.load(make_cfg("dataset=sst2", f"dataset.path={folder}", "dataset.test_split=test").dataset)
    assert len(ds) == 20 and ds.test_index.size == 0
    assert ds.rows_dropped == 6 and ds.rows_dropped_reason == "they are unlabelled (-1)"
    data._MEMO.clear()
    with pytest.raises(ConfigError, match=r"dataset split 'dev' is not in .*; splits: train, validation, test"):
        data.load(make_cfg("dataset=sst2", f"dataset.path={folder}", "dataset.test_split=dev").dataset)
    with pytest.raises(ConfigError, match=r"dataset.columns.text='text' is not a column of .*; columns: idx, sentence, label"):
        data.load(make_cfg("dataset=sst2", f"dataset.path={folder}", "dataset.columns.text=text").dataset)
    with pytest.raises(ConfigError, match=r"dataset.path='.*nowhere' could not be loaded with datasets.load_dataset"):
        data.load(make_cfg("dataset=sst2", f"dataset.path={tmp_path / 'nowhere'}").dataset)


def test_hf_tabular_and_warm_cache(make_cfg, tmp_path, monkeypatch):
    # the default target column is "label"; its ClassLabel names are kept
    feats = Features({"x1": Value("float32"), "kind": Value("string"), "label": ClassLabel(names=["lo", "hi"])})
    folder = tmp_path / "tab"
    _write(folder, "train", {"x1": [0.5, 1.5, 2.5, 3.5], "kind": ["a", "b", "a", "b"], "label": [0, 1, 0, 1]}, feats)
    cfg = make_cfg("dataset=imdb", "dataset.name=tab", "dataset.modality=tabular", "dataset.target=null",
                   "dataset.train_split=train", "dataset.test_split=null", "dataset.columns={}",
                   f"dataset.path={folder}").dataset
    ds = data.load(cfg)
    assert ds.categorical == ["kind"] and ds.classes == ["hi", "lo"] and ds.test_index is None
    assert [ds.classes[v] for v in ds.y] == ["lo", "hi", "lo", "hi"]
    # warm: the prepared entry is read, not rebuilt
    from mvd.sources import hf

    monkeypatch.setattr(hf, "_build", lambda *a: pytest.fail("rebuilt a cached dataset"))
    data._MEMO.clear()
    assert data.load(cfg).X.equals(ds.X)


# --- OpenML ----------------------------------------------------------------------------


def _gz_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(obj).encode()))


def _openml_home(home: Path, data_id: int, name: str, columns: list, rows: list, target: str) -> None:
    """A fetch_openml data_home as scikit-learn leaves it after a download: JSON answers and ARFF, gzipped.

    ``columns`` is ``[(name, None | [nominal values])]``.
    """
    arff = [f"@RELATION {name}", ""]
    for col, values in columns:
        arff.append(f"@ATTRIBUTE '{col}' " + ("NUMERIC" if values is None else "{" + ",".join(values) + "}"))
    arff += ["", "@DATA"] + [",".join(map(str, r)) for r in rows]
    body = ("\n".join(arff) + "\n").encode()
    home = home / "openml"  # fetch_openml keeps its files in <data_home>/openml
    api = home / "openml.org" / "api" / "v1" / "json" / "data"
    file_id = 9_000_000 + data_id
    _gz_json(api / f"{data_id}.gz", {"data_set_description": {
        "id": str(data_id), "name": name, "version": "1", "format": "ARFF", "status": "active",
        "description": f"{name}: a small fixture in the OpenML layout",
        "file_id": str(file_id), "default_target_attribute": target,
        "url": f"https://api.openml.org/data/v1/download/{file_id}/{name}.arff",
        "md5_checksum": hashlib.md5(body).hexdigest(),
    }})
    _gz_json(api / "features" / f"{data_id}.gz", {"data_features": {"feature": [
        {"index": str(i), "name": col, "data_type": "numeric" if values is None else "nominal",
         **({} if values is None else {"nominal_value": values}),
         "is_target": str(col == target).lower(), "is_ignore": "false", "is_row_identifier": "false",
         "number_of_missing_values": "0"}
        for i, (col, values) in enumerate(columns)]}})
    _gz_json(api / "qualities" / f"{data_id}.gz", {"data_qualities": {"quality": [
        {"name": "NumberOfInstances", "value": f"{len(rows)}.0"}]}})
    arff_path = home / "openml.org" / "data" / "v1" / "download" / str(file_id) / f"{name}.arff.gz"
    arff_path.parent.mkdir(parents=True)
    arff_path.write_bytes(gzip.compress(body))


def _covertype(home: Path, n=42) -> None:
    numeric = ["Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology", "Vertical_Distance_To_Hydrology",
               "Horizontal_Distance_To_Roadways", "Hillshade_9am", "Hillshade_Noon", "Hillshade_3pm",
               "Horizontal_Distance_To_Fire_Points"]
    binary = [f"Wilderness_Area{i}" for i in range(1, 5)] + [f"Soil_Type{i}" for i in range(1, 41)]
    columns = [(c, None) for c in numeric] + [(c, ["0", "1"]) for c in binary] + [("class", [str(k) for k in range(1, 8)])]
    rng = np.random.default_rng(0)
    rows = [[*rng.integers(0, 3000, 10), *rng.integers(0, 2, 44), 1 + i % 7] for i in range(n)]
    _openml_home(home, 1596, "covertype", columns, rows, "class")


@pytest.mark.slow
def test_openml_covertype_config_through_fetch_openml(make_cfg, tmp_path, monkeypatch):
    home = tmp_path / "openml_home"
    _covertype(home)
    # no host may be reached: sklearn must find everything in data_home
    import sklearn.datasets._openml as skopenml

    monkeypatch.setattr(skopenml, "urlopen", lambda *a, **k: pytest.fail(f"network access: {a}"))
    ds = data.load(make_cfg("dataset=covertype", f"dataset.root={home}").dataset)
    assert len(ds) == 42 and ds.X.shape == (42, 54) and ds.classes == [str(k) for k in range(1, 8)]
    assert len(ds.categorical) == 44 and ds.categorical[0] == "Wilderness_Area1" and ds.test_index is None
    assert ds.X["Elevation"].dtype == np.float64
    # warm cache: fetch_openml is not called again
    from mvd.sources import openml

    monkeypatch.setattr(openml, "fetch", lambda **k: pytest.fail("fetched a cached dataset"))
    data._MEMO.clear()
    assert data.load(make_cfg("dataset=covertype", f"dataset.root={home}").dataset).X.equals(ds.X)


@pytest.mark.slow
def test_openml_higgs_config_and_bad_input(make_cfg, tmp_path, monkeypatch):
    home = tmp_path / "openml_home"
    names = ["lepton_pT", "lepton_eta", "lepton_phi", "missing_energy_magnitude", "missing_energy_phi"] + [
        f"jet{j}{q}" for j in range(1, 5) for q in ("pt", "eta", "phi", "b-tag")] + [
        "m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb"]
    rows = [[i % 2, *np.round(np.random.default_rng(i).normal(size=28), 3)] for i in range(30)]
    _openml_home(home, 23512, "higgs", [("class", ["0", "1"])] + [(c, None) for c in names], rows, "class")
    import sklearn.datasets._openml as skopenml

    monkeypatch.setattr(skopenml, "urlopen", lambda *a, **k: pytest.fail(f"network access: {a}"))
    ds = data.load(make_cfg("dataset=higgs", f"dataset.root={home}").dataset)
    assert ds.X.shape == (30, 28) and isinstance(ds.X, np.ndarray) and ds.classes == ["0", "1"]
    # by name: the search answer names the active version's id
    search = home / "openml" / "openml.org" / "api" / "v1" / "json" / "data" / "list" / "data_name" / "higgs"
    _gz_json(search / "limit" / "2" / "status" / "active" / ".gz",
             {"data": {"dataset": [{"did": 23512, "name": "higgs", "version": 1, "status": "active"}]}})
    data._MEMO.clear()
    by_name = data.load(make_cfg("dataset=higgs", f"dataset.root={home}", "dataset.openml_id=null",
                                 "dataset.openml_name=higgs").dataset)
    assert np.array_equal(by_name.X, ds.X)
    with pytest.raises(ConfigError, match=r"needs exactly one of dataset.openml_id or dataset.openml_name"):
        data.load(make_cfg("dataset=higgs", "dataset.openml_name=higgs").dataset)
    with pytest.raises(ConfigError, match=r"dataset.target='klass' is not a column"):
        data.load(make_cfg("dataset=higgs", f"dataset.root={home}", "dataset.target=klass").dataset)
    # the refused configs wrote nothing: only the entries by id and by name exist
    assert len(list((tmp_path / "cache" / "prepared").iterdir())) == 2
