"""Progress of a whole multirun: jobs done / running / left, points done, elapsed, ETA.

It runs as a thread in the launching process and reads only what the jobs
leave on disk (their Hydra job folders, ``mvd_job.json`` files and points
files), so it works the same with the basic, joblib and submitit launchers.
In a terminal it prints a line whenever a job ends (or every ``interval``
seconds while points come in); in a log file (stdout not a TTY) it prints
the same lines, plain.

When the sweeper does not know its jobs up front (an optimiser proposes them
as it goes), there are no totals: the line counts jobs done and running and
the points the finished jobs stored, without an ETA.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["JobPlan", "SweepProgress", "format_seconds"]


@dataclass(frozen=True)
class JobPlan:
    """What one job of the sweep will produce: its curve file and its (seed, train_size) points."""

    num: int
    points_file: Path
    keys: frozenset


def format_seconds(seconds: float) -> str:
    seconds = int(round(max(0.0, seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else (f"{minutes}m{secs:02d}s" if minutes else f"{secs}s")


class SweepProgress:
    """Polls the sweep folder and the points files; ``snapshot()`` is the state, ``line()`` its text.

    ``jobs``: every job's plan, or None when the sweep is not known up front.
    """

    def __init__(self, jobs: list[JobPlan] | None, sweep_dir: Path, *, job_file: str,
                 interval: float | None = None, stream=None, clock=time.monotonic):
        self.known = jobs is not None
        self.jobs = jobs or []
        self.sweep_dir = Path(sweep_dir)
        self.job_file = job_file
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (10.0 if self.tty else 30.0)
        self.clock = clock
        self.started = clock()
        self.wall_start = time.time() - 1.0  # file times have coarse resolution on some filesystems
        self._files: dict[Path, tuple] = {}  # points file -> (mtime_ns, stored keys)
        self.stored_at_start = self._points_done()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- state -------------------------------------------------------------
    def _keys_in(self, path: Path) -> frozenset:
        from mvd.store import read_table

        try:
            mtime = path.stat().st_mtime_ns
        except FileNotFoundError:
            return frozenset()
        cached = self._files.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
        try:
            table = read_table(path, columns=["seed", "train_size"]).to_pydict()
        except Exception:  # being replaced right now, or damaged: the store names it, not the progress line
            return cached[1] if cached else frozenset()
        keys = frozenset(zip(map(int, table["seed"]), map(int, table["train_size"])))
        self._files[path] = (mtime, keys)
        return keys

    def _points_done(self) -> int:
        return sum(len(job.keys & self._keys_in(job.points_file)) for job in self.jobs)

    def _numbers(self, name: str) -> set[int]:
        found = set()
        for path in self.sweep_dir.glob(f"*/{name}"):
            job = path.parent.parent if name.startswith(".hydra/") else path.parent
            try:
                if job.name.isdigit() and path.stat().st_mtime >= self.wall_start:
                    found.add(int(job.name))
            except FileNotFoundError:
                continue
        return found

    def _new_points_of_done_jobs(self) -> int:
        import json

        total = 0
        for path in self.sweep_dir.glob(f"*/{self.job_file}"):
            try:
                if path.stat().st_mtime >= self.wall_start:
                    total += int(json.loads(path.read_text()).get("new") or 0)
            except (OSError, ValueError):  # being written right now
                continue
        return total

    def snapshot(self) -> dict:
        # files of this launch only: a reused sweep dir still holds the last launch's
        started = self._numbers(".hydra/hydra.yaml")
        done = self._numbers(self.job_file)
        if not self.known:
            return {"jobs": None, "done": len(done), "running": len(started - done), "left": None,
                    "points": self._new_points_of_done_jobs(), "total_points": None, "stored": 0,
                    "elapsed": self.clock() - self.started, "eta": None}
        total_points = sum(len(job.keys) for job in self.jobs)
        points = self._points_done()
        elapsed = self.clock() - self.started
        new = points - self.stored_at_start
        left_points = total_points - points
        eta = elapsed / new * left_points if new > 0 else None
        return {"jobs": len(self.jobs), "done": len(done), "running": len(started - done),
                "left": len(self.jobs) - len(started | done), "points": points, "total_points": total_points,
                "stored": self.stored_at_start, "elapsed": elapsed, "eta": eta}

    def line(self, state: dict | None = None) -> str:
        s = state or self.snapshot()
        if s["jobs"] is None:
            return (f"sweep: {s['done']} jobs done, {s['running']} running · {s['points']} new points stored"
                    f" · {format_seconds(s['elapsed'])} elapsed")
        stored = f" ({s['stored']} stored before)" if s["stored"] else ""
        eta = "ETA " + (format_seconds(s["eta"]) if s["eta"] is not None else "?")
        if s["points"] >= s["total_points"]:
            eta = "complete"
        return (f"sweep: {s['done']}/{s['jobs']} jobs done, {s['running']} running, {s['left']} left"
                f" · points {s['points']}/{s['total_points']}{stored}"
                f" · {format_seconds(s['elapsed'])} elapsed · {eta}")

    # -- reporting thread --------------------------------------------------
    def _emit(self, text: str) -> None:
        if self.tty:
            from mvd.console import console

            console.print(f"[bold blue]{text}[/bold blue]")
        else:
            print(text, file=self.stream, flush=True)

    def _loop(self) -> None:
        last_done, last_points, last_time = self._first["done"], self._first["points"], self.clock()
        while not self._stop.wait(min(1.0, self.interval)):
            try:
                state = self.snapshot()
            except Exception:  # progress must never take a sweep down
                continue
            due = self.clock() - last_time >= self.interval and state["points"] != last_points
            if state["done"] != last_done or due:
                self._emit(self.line(state))
                self._said = (state["done"], state["points"])
                last_done, last_points, last_time = state["done"], state["points"], self.clock()

    def start(self) -> "SweepProgress":
        self._first = self.snapshot()
        self._said = (self._first["done"], self._first["points"])
        self._emit(self.line(self._first))
        self._thread = threading.Thread(target=self._loop, name="mvd-sweep-progress", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        state = self.snapshot()
        if (state["done"], state["points"]) != self._said:  # the last word, unless already said
            self._emit(self.line(state))
