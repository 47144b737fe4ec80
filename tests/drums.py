"""Simple synthesised drum tracks (sine sweeps and noise): a seeded test signal needing no soundfonts.

    from drums import synthesize_drum_tracks  # tests/ is on sys.path under pytest
    tracks = synthesize_drum_tracks(seconds=2.0, sample_rate=44100, seed=3)  # {slot: [samples] float32}
"""

from __future__ import annotations

import numpy as np

from mixwave_hf.resources import EXAMPLE_FILE_NAMES


def synthesize_drum_tracks(seconds: float = 4.0, sample_rate: int = 44100, seed: int = 0,
                           bpm: float = 110.0) -> dict[str, np.ndarray]:
    """A seeded drum groove as {slot: [samples] float32} for the 8 default slots, at `sample_rate`.

    One bar repeats: kick on 1 and 3 (and the "and" of 3), snare on 2 and 4, hi-hat eighths with
    accents; the last beat is a tom fill. Overheads hear every piece with per-piece pan and delay.
    """
    rng = np.random.default_rng(seed)
    length = int(round(seconds * sample_rate))
    eighth = 60.0 / bpm / 2
    hits: dict[str, list[tuple[float, float]]] = {slot: [] for slot in EXAMPLE_FILE_NAMES}
    time, step = 0.0, 0
    while time < seconds:
        position = step % 8
        fill = seconds - time < 4 * eighth
        if position in (0, 4, 5):
            hits["kick"].append((time, 0.9 if position != 5 else 0.6))
        if position in (2, 6) and not fill:
            hits["snare"].append((time, 0.85))
        if not fill:
            hits["hihat"].append((time, 0.7 if position % 2 == 0 else 0.45))
        else:
            tom = ("tom_1", "tom_2", "tom_3")[min(2, int((time - (seconds - 4 * eighth)) / (4 * eighth / 3)))]
            hits[tom].append((time, 0.8))
        time += eighth * (1 + rng.uniform(-0.02, 0.02))  # a little timing feel
        step += 1

    voices = {
        "kick": lambda n: _tone(n, sample_rate, 110.0, 45.0, 0.35, rng) + 0.2 * _noise(n, sample_rate, 0.01, rng),
        "snare": lambda n: 0.5 * _tone(n, sample_rate, 220.0, 180.0, 0.12, rng) + _noise(n, sample_rate, 0.18, rng),
        "hihat": lambda n: _highpass(_noise(n, sample_rate, 0.05, rng)),
        "tom_1": lambda n: _tone(n, sample_rate, 260.0, 200.0, 0.4, rng),
        "tom_2": lambda n: _tone(n, sample_rate, 180.0, 140.0, 0.45, rng),
        "tom_3": lambda n: _tone(n, sample_rate, 120.0, 90.0, 0.55, rng),
    }
    recorded_gain = {"kick": 0.3, "snare": 0.35, "hihat": 0.12, "tom_1": 0.3, "tom_2": 0.3, "tom_3": 0.3}
    pan = {"kick": 0.0, "snare": -0.1, "hihat": -0.5, "tom_1": -0.3, "tom_2": 0.2, "tom_3": 0.5}
    tracks = {slot: np.zeros(length, np.float32) for slot in EXAMPLE_FILE_NAMES}
    for piece, voice in voices.items():
        for start_seconds, velocity in hits[piece]:
            start = int(start_seconds * sample_rate)
            sound = voice(min(int(0.6 * sample_rate), length - start)) * velocity * recorded_gain[piece]
            tracks[piece][start : start + len(sound)] += sound
        for side, sign in (("overhead_L", -1.0), ("overhead_R", 1.0)):
            level = 0.12 * np.sqrt(0.5 * (1 + sign * pan[piece]))
            delay = int(sample_rate * 0.001 * (3.0 - 1.5 * sign * pan[piece]))  # the farther mic hears it later
            tracks[side][delay:] += level * tracks[piece][: length - delay] / recorded_gain[piece]
    for side in ("overhead_L", "overhead_R"):
        tracks[side] += rng.normal(0.0, 1e-4, length).astype(np.float32)  # the room's noise floor
    return {slot: audio.astype(np.float32) for slot, audio in tracks.items()}


def _tone(n: int, sample_rate: int, start_hz: float, end_hz: float, decay: float, rng) -> np.ndarray:
    t = np.arange(n) / sample_rate
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / 0.03)
    phase = 2 * np.pi * np.cumsum(frequency) / sample_rate + rng.uniform(0, 2 * np.pi)
    return (np.sin(phase) * np.exp(-t / decay)).astype(np.float32)


def _noise(n: int, sample_rate: int, decay: float, rng) -> np.ndarray:
    t = np.arange(n) / sample_rate
    return (rng.normal(0.0, 0.5, n) * np.exp(-t / decay)).astype(np.float32)


def _highpass(audio: np.ndarray) -> np.ndarray:
    return np.diff(audio, prepend=0.0).astype(np.float32)

