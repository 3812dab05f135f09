"""A multirun killed at any moment and rerun ends with exactly the points of an uninterrupted run.

Real ``mvd -m`` processes on a tiny study (wine, forest then logreg, 5 sizes x
2 seeds = 20 points), killed as a group (like Ctrl-C in a terminal or a
scheduler's kill) with SIGKILL, SIGINT or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mvd import store

MVD = str(Path(sys.executable).with_name("mvd"))
STUDY = "ft"
ARGS = ["-m", "dataset=wine", "model=forest,logreg", "curve.sizes=[16,32,48,64,96]", "curve.seeds=[0,1]",
        f"study={STUDY}", "progress=false", "report.build=false"]
TOTAL = 20
# what differs between two runs of the same points

# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = [pytest.mark.timeout(240), pytest.mark.xdist_group("fault_tolerance")]


def launch(root: Path, name: str, *extra: str, args: list[str] = ARGS) -> subprocess.Popen:
    """Start ``mvd -m`` in its own process group, results under ``root/results``."""
    cmd = [MVD, *args, f"results_dir={root / 'results'}", f"hydra.sweep.dir={root / name}", *extra]
    env = dict(os.environ, WANDB_MODE="disabled")
    # Ctrl-C's default action, as in a terminal: a process inherits an ignored SIGINT, and a pytest-xdist worker
    # can hold one (after an in-process test whose library ignores it), so its mvd would run on through the "Ctrl-C"
    return subprocess.Popen(cmd, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out[-3000:]
    return out


def stored_points(root: Path) -> int:
    """Rows in the study's points files right now (files being replaced count as they were)."""
    total = 0
    for path in (root / "results" / STUDY / "points").glob("*.parquet"):
        try:
            total += pq.read_metadata(path).num_rows
        except Exception:
            pass
    return total


def kill_when(proc: subprocess.Popen, ready, sig: int, timeout: float = 120) -> None:
    """Send ``sig`` to the whole group as soon as ``ready()``; fail if the run ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the run ended before the moment of the kill; the test needs a slower study"
        assert time.monotonic() < deadline, "the moment of the kill never came"
        time.sleep(0.01)
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def numbers(frame: pd.DataFrame) -> pd.DataFrame:
    return (store.without_volatile(frame).sort_values(["model", "seed", "train_size"])
            .reset_index(drop=True))


def assert_readable_and_partial(root: Path, *, partial: bool = True) -> None:
    """After a kill: every visible points file is whole data; temporaries are hidden; the study is incomplete."""
    folder = root / "results" / STUDY / "points"
    for path in folder.iterdir():
        if not path.name.startswith("."):
            assert path.suffix == ".parquet", f"{path.name} is visible but not a points file"
            pq.read_table(path)
    frame = store.load(root / "results" / STUDY)
    assert not partial or len(frame) < TOTAL, "the kill came after the last point"
    assert not frame.duplicated(["run_id", "seed", "train_size"]).any()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> pd.DataFrame:
    """The points of one uninterrupted run."""
    root = tmp_path_factory.mktemp("reference")
    finish(launch(root, "sweep"))
    frame = store.load(root / "results" / STUDY)
    assert len(frame) == TOTAL and (frame["status"] == "ok").all()
    return numbers(frame)


@pytest.mark.slow
def test_sigkill_at_three_moments_then_rerun_is_exact(tmp_path, reference):
    first_job_done = lambda: any((tmp_path / "third").glob("*/mvd_job.json"))  # noqa: E731
    moments = [("first", lambda: stored_points(tmp_path) >= 1),     # inside the first curve
               ("second", lambda: stored_points(tmp_path) >= 6),    # later in the same curve, after a resume
               ("third", first_job_done)]                            # between the curves / in the second
    for name, ready in moments:
        kill_when(launch(tmp_path, name), ready, signal.SIGKILL)
        # the second curve is fast enough to finish in the instant before the third kill lands
        assert_readable_and_partial(tmp_path, partial=name != "third")
    finish(launch(tmp_path, "rerun"))
    final = store.load(tmp_path / "results" / STUDY)
    pd.testing.assert_frame_equal(numbers(final), reference)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_sigint_and_sigterm_then_rerun_is_exact(tmp_path, reference, sig):
    kill_when(launch(tmp_path, "killed"), lambda: stored_points(tmp_path) >= 3, sig)
    assert_readable_and_partial(tmp_path)
    out = finish(launch(tmp_path, "rerun"))
    assert "stored" in out
    pd.testing.assert_frame_equal(numbers(store.load(tmp_path / "results" / STUDY)), reference)


@pytest.mark.slow
@pytest.mark.parametrize("single", [False, True], ids=["multirun", "single-run-with-progress"])
def test_ctrl_c_ends_in_one_line_with_exit_130_and_releases_its_locks(tmp_path, single):
    """No traceback: one line that counts the stored points and says how to resume; no .holder note left."""
    args = [a for a in ARGS if a not in ("-m", "model=forest,logreg", "progress=false")] + ["model=forest"] \
        if single else ARGS
    proc = launch(tmp_path, "killed", *(["progress=true"] if single else []), args=args)
    kill_when(proc, lambda: stored_points(tmp_path) >= 3, signal.SIGINT)
    out = proc.stdout.read()
    assert proc.returncode == 130, out[-3000:]
    assert "Traceback" not in out and "KeyboardInterrupt" not in out, out[-3000:]
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[-1] == (f"mvd: interrupted; {stored_points(tmp_path)} points stored; "
                         f"rerun the same command to resume."), out[-3000:]
    assert not list((tmp_path / "results" / STUDY / "locks").glob("*.holder"))


@pytest.mark.slow
def test_sigkill_under_joblib_then_rerun_is_exact(tmp_path, reference):
    kill_when(launch(tmp_path, "killed", "hydra/launcher=joblib"), lambda: stored_points(tmp_path) >= 4,
              signal.SIGKILL)
    assert_readable_and_partial(tmp_path)
    finish(launch(tmp_path, "rerun", "hydra/launcher=joblib"))
    pd.testing.assert_frame_equal(numbers(store.load(tmp_path / "results" / STUDY)), reference)


def _new_points(out: str) -> int:
    return sum(int(line.split(": ")[1].split(" new")[0]) for line in out.splitlines() if " new, " in line)


@pytest.mark.slow
def test_two_launches_at_once_share_the_work_without_corruption(tmp_path, reference):
    """Both launches succeed; each point is fitted once (claims) and stored once."""
    first, second = launch(tmp_path, "one"), launch(tmp_path, "two")
    outs = [finish(first), finish(second)]
    final = store.load(tmp_path / "results" / STUDY)
    pd.testing.assert_frame_equal(numbers(final), reference)
    assert sum(_new_points(out) for out in outs) == TOTAL
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "results" / STUDY / "points").iterdir())


@pytest.mark.slow
def test_failed_jobs_are_listed_and_the_exit_code_says_so(tmp_path, reference):
    """A points file damaged while the sweep runs fails its job in one sentence (named, never merged);
    the other job runs; exit status 1.  (Damaged before the sweep, it is refused before any work.)"""
    finish(launch(tmp_path, "first"))
    (victim,) = (tmp_path / "results" / STUDY / "points").glob("wine-logreg-*.parquet")
    proc = launch(tmp_path, "second", "curve.seeds=[0,1,2]")
    # forest runs first: its first new point means every job was checked, and logreg has not started
    deadline = time.monotonic() + 120
    while stored_points(tmp_path) <= TOTAL:
        assert proc.poll() is None and time.monotonic() < deadline, "the forest job never stored a point"
        time.sleep(0.01)
    victim.write_bytes(b"not parquet")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out[-3000:]
    assert "failed  wine · logreg · clean" in out and victim.name in out and "Traceback" not in out
    assert "mvd: 1 job(s) and 0 point(s) failed" in out
    assert "done  wine · forest · clean: 5 new, 10 stored" in out


@pytest.mark.slow
def test_failed_points_make_the_exit_code_nonzero(tmp_path):
    args = [a for a in ARGS if not a.startswith("model=")] + ["model=forest"]
    proc = launch(tmp_path, "bad", "+model.classification.max_depth=-1", args=args)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out[-3000:]
    assert "0 job(s) and 10 point(s) failed" in out


def test_a_claimed_curve_makes_the_second_claimant_wait_and_say_who_holds_it(tmp_path):
    import threading

    said, order = [], []

    def second() -> None:
        with store.claim(tmp_path, "curve", [1, 2], notify=said.append):
            order.append("second")

    with store.claim(tmp_path, "curve", [0, 1], notify=said.append):
        waiter = threading.Thread(target=second)
        waiter.start()
        deadline = time.monotonic() + 10
        while not said and time.monotonic() < deadline:
            time.sleep(0.01)
        order.append("first releases")
    waiter.join(timeout=10)
    assert order == ["first releases", "second"]
    assert len(said) == 1 and "curve seed 1 is held by pid" in said[0] and "waiting" in said[0]
    # disjoint seeds of the same curve never wait for each other
    with store.claim(tmp_path, "curve", [5], notify=said.append), store.claim(tmp_path, "curve", [6], notify=said.append):
        pass
    assert len(said) == 1
