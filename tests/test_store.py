"""The results store: atomic per-job files, failed points replaced, corrupt files named."""

import math

import pandas as pd
import pytest

from mvd import store


def _point(seed, n, status="ok", **extra):
    return {"study": "s", "run_id": "r", "seed": seed, "train_size": n, "status": status,
            "test_accuracy": 0.5 if status == "ok" else math.nan, "error": "" if status == "ok" else "boom",
            **extra}


def test_points_round_trip_with_their_types(tmp_path):
    curve = store.CurveFile(tmp_path, "r")
    curve.append(_point(1, 32, n_params=7))
    curve.append(_point(0, 16, confusion="[[1, 0], [0, 1]]"))
    frame = store.load(tmp_path)
    assert frame[["seed", "train_size"]].values.tolist() == [[0, 16], [1, 32]]
    assert frame["train_size"].dtype.kind == "i" and frame["test_accuracy"].dtype.kind == "f"
    assert frame["confusion"].tolist()[0] == "[[1, 0], [0, 1]]" and pd.isna(frame["confusion"].tolist()[1])
    assert list(frame.columns[:2]) == ["study", "run_id"]  # the contract's order first
    assert store.CurveFile(tmp_path, "r").done() == {(0, 16), (1, 32)}


def test_a_failed_point_is_replaced_not_duplicated(tmp_path):
    curve = store.CurveFile(tmp_path, "r")
    curve.append(_point(0, 16, status="failed"))
    assert curve.done() == set()
    curve.append(_point(0, 16))
    frame = store.load(tmp_path)
    assert len(frame) == 1 and frame["status"].item() == "ok"


def test_a_text_column_empty_in_a_stored_point_takes_text_from_a_later_writer(tmp_path):
    # a failed tuned point stores no tuning note; the next process reads it back as NaN, then stores a note
    store.CurveFile(tmp_path, "r").append(_point(0, 16, status="failed"))
    curve = store.CurveFile(tmp_path, "r")
    curve.append(_point(0, 23, tune_note="no inner split"))
    store.CurveFile(tmp_path, "r").append(_point(0, 32, tune_note="kept"))
    frame = store.load(tmp_path)
    assert pd.isna(frame["tune_note"].iloc[0]) and frame["tune_note"].tolist()[1:] == ["no inner split", "kept"]
    assert math.isnan(frame["test_accuracy"].iloc[0])


def test_a_corrupt_file_is_named_never_merged(tmp_path):
    store.CurveFile(tmp_path, "good").append(_point(0, 16))
    bad = store.points_dir(tmp_path) / "bad.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(store.StoreError, match=r"points file .*bad\.parquet is corrupt or unreadable"):
        store.load(tmp_path)


def test_hidden_temporary_files_are_never_read(tmp_path):
    store.CurveFile(tmp_path, "r").append(_point(0, 16))
    (store.points_dir(tmp_path) / ".r.parquet.123.tmp").write_bytes(b"half a file")
    assert len(store.load(tmp_path)) == 1


def test_an_empty_study_loads_as_an_empty_frame_with_the_contract(tmp_path):
    frame = store.load(tmp_path)
    assert frame.empty and list(frame.columns) == store.COLUMNS


def test_readers_never_see_a_mix_of_two_versions_while_a_writer_rewrites(tmp_path):
    """A sweep's progress line and a second launch read files that a writer is replacing.

    Read by path, pyarrow opened the file twice (footer, then pages) and a
    rename in between failed about one read in sixty here; every reader now
    holds one handle, so each read sees one whole version.
    """
    import threading

    curve = store.CurveFile(tmp_path, "r")
    curve.append(_point(0, 0))
    stop = threading.Event()

    def write():
        n = 1
        while not stop.is_set():
            curve.append(_point(n % 5, n, note="x" * (n % 40)))
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        sizes = [len(store.load(tmp_path)) + store.read_table(curve.path, columns=["seed"]).num_rows
                 for _ in range(400)]
    finally:
        stop.set()
        writer.join()
    assert min(sizes) >= 2 and sizes == sorted(sizes)  # whole versions, and never an older one after a newer


def test_a_released_claim_leaves_no_holder_note_even_when_interrupted(tmp_path):
    with store.claim(tmp_path, "curve", [0]):
        assert [p.name for p in store.locks_dir(tmp_path).glob("*.holder")] == ["curve.seed0.lock.holder"]
    assert not list(store.locks_dir(tmp_path).glob("*.holder"))
    with pytest.raises(KeyboardInterrupt), store.claim(tmp_path, "curve", [0, 1]):
        raise KeyboardInterrupt
    assert not list(store.locks_dir(tmp_path).glob("*.holder"))
