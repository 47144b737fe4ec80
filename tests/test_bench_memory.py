"""bench/memory.py: the synthesized sessions it writes, the layouts the command line reads from them, the child's
peak RSS, and its report on a one-second song mixed by the real `mixwave mix`.

bench/ is no package of the wheel: the module is loaded from its file (it imports numpy, soundfile and the
standard library at module level).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from mixwave_hf.slots import DEFAULT_SLOTS, assign_slots

BENCH_MEMORY = Path(__file__).resolve().parents[1] / "bench" / "memory.py"
_spec = importlib.util.spec_from_file_location("bench_memory", BENCH_MEMORY)
memory = sys.modules.setdefault("bench_memory", importlib.util.module_from_spec(_spec))  # dataclasses look it up
_spec.loader.exec_module(memory)


def test_a_session_is_one_24_bit_48_khz_mono_file_a_track_of_the_length_asked(tmp_path):
    paths = memory.write_session(tmp_path / "stems", memory.SESSION_8, 1.5)
    assert [path.name for path in paths] == [f"{slot}.wav" for slot in memory.SESSION_8]
    for path in paths:
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.frames, info.subtype) == (48_000, 1, 72_000, "PCM_24")
    audio, _ = soundfile.read(str(paths[0]), dtype="float32")
    assert 0.01 < np.abs(audio).max() <= 1.0


def test_a_track_is_the_same_whatever_the_block_it_is_written_in(tmp_path, monkeypatch):
    memory.write_track(tmp_path / "whole.wav", 3, 2.5)
    monkeypatch.setattr(memory, "WRITE_BLOCK", 1000)
    memory.write_track(tmp_path / "blocks.wav", 3, 2.5)
    whole, blocks = (soundfile.read(str(tmp_path / name), dtype="int32")[0] for name in ("whole.wav", "blocks.wav"))
    assert np.array_equal(whole, blocks)


def test_the_16_file_layout_feeds_every_slot_from_its_primary_mic_and_leaves_out_the_rest():
    assignment, unmatched, notes = assign_slots([f"{name}.wav" for name in memory.SESSION_16], DEFAULT_SLOTS)
    assert len(memory.SESSION_16) == 16 and sorted(assignment) == sorted(DEFAULT_SLOTS) and not unmatched
    assert assignment["kick"] == "01 Kick In.wav" and assignment["overhead_R"] == "12 OH R.wav"
    assert "Room L" in " ".join(notes) and "Snare Bottom" in " ".join(notes)


def test_a_child_reports_its_own_peak_rss_and_a_failing_one_its_error():
    small, _ = memory.run_child([sys.executable, "-c", "pass"])
    large, _ = memory.run_child([sys.executable, "-c", "b = bytearray(200 * 2**20); b[::4096] = b'x' * len(b[::4096])"])
    # The child's own peak, not this test process's (which holds torch, far more than 100 MB).
    assert 0 < small < 100 * 2**20 < 200 * 2**20 < large
    with pytest.raises(RuntimeError, match="no such thing"):
        memory.run_child([sys.executable, "-c", "raise SystemExit('no such thing')"])


def test_a_one_second_16_file_session_is_mixed_by_the_command_line_and_deleted(tmp_path, capsys):
    run = memory.measure_session("16 files", 1.0, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert (run.layout, run.seconds, run.files) == ("16 files", 1.0, 16) and run.peak_rss > 2**20 and run.wall > 0
    memory.report([run, memory.MixRun("8 tracks", 30.0, 8, 400 * 2**20, 6.0),
                   memory.MixRun("8 tracks", 120.0, 8, 420 * 2**20, 9.0)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("16 files, 1 s") and lines[3].split()[:6] == ["8", "tracks,", "30", "s", "8", "400"]
    assert lines[-1] == ("peak RSS 2 min / 30 s (8 tracks): 1.05x; time per song-second between them: 0.0333 s "
                         "(the process's start left out)")
