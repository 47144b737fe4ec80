"""Memory scaling of `mixwave mix`: peak RSS and seconds per song-second, 30 s to 60-minute sessions.

Each session is synthesized into a temporary folder (48 kHz 24-bit WAV, one mono file per track: decaying
noise bursts on a per-track beat, written in blocks so that the generator's own memory is bounded) and
mixed by the real command line, `python -m mixwave_hf.cli mix FOLDER -o mix.wav`, in a child process whose
peak RSS is its own (`os.wait4`'s rusage, taken by a small launcher process: `run_child`); the folder is
deleted after each session. The layouts:
- "8 tracks": one file per model slot (kick, snare, hihat, three toms, overhead L and R);
- "16 files": a studio session's folder, the names a console export gives (`SESSION_16`): kick in, out and
  sub, snare top and bottom, hi-hat, three toms and a tom bottom, overheads L and R as two mono files, room
  L and R, a kick ambience and a trash mic; the command line takes the primary mic of each slot and leaves
  the others out with a note.
Seconds include the process's start (importing torch, loading the model): the slope between the shortest
and the longest session is the time per song-second without it.

Run: `.venv/bin/python -m bench.memory [--quick]` (--quick: 30 s and 2 min, for a smoke run).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

REPOSITORY = Path(__file__).resolve().parent.parent
RATE = 48_000
SUBTYPE = "PCM_24"
#: Frames written per block: the generator holds one block per track, whatever the session's length.
WRITE_BLOCK = 2**16
#: One file per model slot.
SESSION_8 = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "overhead_L", "overhead_R")
#: A console export's names; the command line feeds the 8 slots from the primary mics and leaves out the rest.
SESSION_16 = ("01 Kick In", "02 Kick Out", "03 Kick Sub", "04 Snare Top", "05 Snare Bottom", "06 HiHat",
              "07 Tom 1", "08 Tom 1 Bottom", "09 Tom 2", "10 Floor Tom", "11 OH L", "12 OH R", "13 Room L",
              "14 Room R", "15 Kick Amb", "16 Trash")
LAYOUTS = {"8 tracks": SESSION_8, "16 files": SESSION_16}
FULL_SESSIONS = (("8 tracks", 30.0), ("8 tracks", 600.0), ("8 tracks", 3600.0), ("16 files", 3600.0))
QUICK_SESSIONS = (("8 tracks", 30.0), ("8 tracks", 120.0))
#: A bar of the synthetic beat (s): each track's pattern repeats with it, its level varies bar to bar.
BAR_SECONDS = 2.0


def track_bar(index: int, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """One bar of track `index`'s pattern, float32 mono: decaying noise bursts, 2 to 9 a bar by track, the
    close mics' short (20 ms decay), every fourth track's long (200 ms: overheads and rooms ring)."""
    rng = np.random.default_rng(seed + index)
    length = int(BAR_SECONDS * rate)
    strokes = 2 + index % 8
    decay = (0.2 if index % 4 == 3 else 0.02) * rate
    since = np.arange(length) % (length // strokes)
    offset = index * rate // 100  # tracks strike 10 ms apart, not all at once
    envelope = np.exp(-np.roll(since, offset) / decay)
    return (0.3 * rng.standard_normal(length) * envelope).astype(np.float32)


def write_track(path: Path, index: int, seconds: float, rate: int = RATE) -> None:
    """Write `seconds` of track `index` (`track_bar` repeated, each bar at its own level from -12 to 0 dB)
    to `path` as 24-bit WAV, `WRITE_BLOCK` frames at a time (the levels, one a bar, are the only whole-song
    array: 1,800 numbers an hour)."""
    bar = track_bar(index, rate)
    total = round(seconds * rate)
    levels = 10 ** (np.random.default_rng(1000 + index).uniform(-12.0, 0.0, total // len(bar) + 1) / 20)
    with soundfile.SoundFile(path, "w", rate, 1, SUBTYPE) as file:
        for start in range(0, total, WRITE_BLOCK):
            positions = np.arange(start, min(start + WRITE_BLOCK, total))
            file.write(bar[positions % len(bar)] * levels[positions // len(bar)].astype(np.float32))


def write_session(folder: Path, names: tuple[str, ...], seconds: float, rate: int = RATE) -> list[Path]:
    """One 24-bit mono WAV of `seconds` per name in `folder` (created); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.wav" for name in names]
    for index, path in enumerate(paths):
        write_track(path, index, seconds, rate)
    return paths


@dataclass(frozen=True)
class MixRun:
    """One `mixwave mix` of a synthesized session: its layout, song seconds, files, the child's peak RSS
    (bytes) and wall seconds."""

    layout: str
    seconds: float
    files: int
    peak_rss: int
    wall: float

    @property
    def seconds_per_song_second(self) -> float:
        return self.wall / self.seconds


def mix_command(folder: Path, output: Path) -> list[str]:
    """The command line that mixes `folder` into `output` with this interpreter and this checkout's package."""
    return [sys.executable, "-m", "mixwave_hf.cli", "mix", str(folder), "-o", str(output)]


#: Runs its arguments as a command and prints the command's peak RSS (KiB) and exit status. Measured from a small
#: process of its own because Linux carries the peak RSS of the process that execs a command into that command's
#: figure (exec records the old memory's high-water mark): run straight from this benchmark, whose RSS holds
#: torch and the other benchmarks' models, a mix's figure would be at least this process's peak.
_LAUNCHER = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(process.pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def run_child(command: list[str]) -> tuple[int, float]:
    """Run `command` in the repository with its output discarded; (its peak RSS in bytes, wall seconds).
    RuntimeError with the end of its stderr when it fails."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", _LAUNCHER, *command], cwd=REPOSITORY, stdout=subprocess.PIPE,
                                stderr=errors, text=True)
        wall = time.perf_counter() - start
        figures = result.stdout.split()
        status = int(figures[1]) if len(figures) == 2 and not result.returncode else result.returncode or "no figures"
        if status:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(command)} exited with {status}: "
                               f"{errors.read().decode(errors='replace').strip()[-800:]}")
    return int(figures[0]) * 1024, wall  # Linux gives ru_maxrss in KiB


def measure_session(layout: str, seconds: float, directory: Path) -> MixRun:
    """Synthesize a `layout` session of `seconds` in `directory`, mix it with the command line, delete it."""
    folder = directory / f"{layout.replace(' ', '-')}-{seconds:g}s"
    try:
        files = write_session(folder / "stems", LAYOUTS[layout], seconds)
        peak, wall = run_child(mix_command(folder / "stems", folder / "mix.wav"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return MixRun(layout, seconds, len(files), peak, wall)


def measure(sessions: tuple[tuple[str, float], ...] = FULL_SESSIONS) -> list[MixRun]:
    """`measure_session` of each (layout, seconds), in order, in one temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mixwave-bench-memory-") as directory:
        return [measure_session(layout, seconds, Path(directory)) for layout, seconds in sessions]


def song_length(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def report(runs: list[MixRun]) -> None:
    """Print a row per run, the ratio of the longest 8-track run's peak RSS to the shortest's, and the
    slope of wall time against song length."""
    print(f"`mixwave mix` of synthesized {RATE // 1000} kHz 24-bit sessions (a fresh process each; peak RSS "
          "from its rusage)")
    print(f"{'session':<22} {'files':>5} {'peak RSS':>10} {'seconds':>9} {'s per song-s':>12}")
    for run in runs:
        print(f"{run.layout + ', ' + song_length(run.seconds):<22} {run.files:5d} {run.peak_rss / 2**20:7.0f} MB "
              f"{run.wall:9.1f} {run.seconds_per_song_second:12.4f}")
    eight = sorted((run for run in runs if run.layout == "8 tracks"), key=lambda run: run.seconds)
    if len(eight) > 1:
        short, long = eight[0], eight[-1]
        slope = (long.wall - short.wall) / (long.seconds - short.seconds)
        print(f"peak RSS {song_length(long.seconds)} / {song_length(short.seconds)} (8 tracks): "
              f"{long.peak_rss / short.peak_rss:.2f}x; time per song-second between them: {slope:.4f} s "
              "(the process's start left out)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 s and 2 min 8-track sessions only")
    args = parser.parse_args()
    report(measure(QUICK_SESSIONS if args.quick else FULL_SESSIONS))


if __name__ == "__main__":
    main()
