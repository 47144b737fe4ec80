"""The recording model: close mics with bleed, a spaced overhead pair, a little room, noise, input gains.

`draw_recording_params` draws every number (from a `conditions.Conditions`); `record_tracks` applies
them to the dry stems (geometry, levels and units: docs/synthetic-corpus.md).

    tracks, peak_caps_db = record_tracks(stems, draw_recording_params(rng), 44100)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy import signal

from mixwave_hf.data.synth.conditions import TRAINING_CONDITIONS, Conditions
from mixwave_hf.data.synth.kits import CALIBRATED_PEAK_DB, PIECES
from mixwave_hf.slots import DEFAULT_SLOTS

SPEED_OF_SOUND = 343.0
#: Slots with a close mic, each on the piece of the same name.
CLOSE_MIC_SLOTS = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3")
OVERHEAD_SLOTS = ("overhead_L", "overhead_R")
#: Where each piece sits (metres from the drummer's seat; right-handed kit, hi-hat on the left).
KIT_LAYOUT = {
    "kick": (0.0, 0.45, 0.35), "snare": (-0.2, 0.25, 0.65), "hihat": (-0.5, 0.3, 0.95),
    "tom_1": (-0.15, 0.5, 0.8), "tom_2": (0.15, 0.5, 0.8), "tom_3": (0.45, 0.2, 0.6),
    "crash_1": (-0.55, 0.65, 1.25), "crash_2": (0.45, 0.75, 1.3), "ride": (0.65, 0.4, 1.1),
}
#: How loud each piece radiates (dB against its calibrated stem), before a per-song ±2 dB.
SOURCE_DB = {"kick": -3.0, "snare": 4.0, "hihat": 0.0, "tom_1": 1.0, "tom_2": 1.0, "tom_3": 1.0,
             "crash_1": 6.0, "crash_2": 6.0, "ride": 4.0}
#: Rejection (dB) of off-axis sound by each close mic, before a per-song ±3 dB per piece.
MIC_REJECTION_DB = {"kick": 15.0, "snare": 3.0, "hihat": 4.0, "tom_1": 3.0, "tom_2": 3.0, "tom_3": 3.0}
CLOSE_DISTANCE = 0.05
OVERHEAD_REFERENCE_DB = -26.0  # 20 log10(5 cm / 1 m)
SOUND_CHECK_PEAK_DB = -12.0
INPUT_GAIN_RANGE_DB = TRAINING_CONDITIONS.input_gain_range_db
PEAK_CAP_DB = -1.0


@dataclass(frozen=True)
class RecordingParams:
    """Every number of one song's recording (dB, ms, Hz, metres)."""

    positions: dict            # piece -> [x, y, z]
    overhead_positions: dict   # slot -> [x, y, z]
    source_db: dict            # piece -> dB
    bleed_db: dict             # close-mic slot -> piece -> dB (own piece: 0)
    bleed_delay_ms: dict       # close-mic slot -> piece -> ms
    off_axis_cutoff_hz: dict   # close-mic slot -> low-pass of its bleed
    overhead_db: dict          # overhead slot -> piece -> dB
    overhead_delay_ms: dict    # overhead slot -> piece -> ms
    reflections: dict          # slot -> [[delay ms, gain dB], ...]
    reflection_cutoff_hz: float
    room_tail_rt60_s: float
    room_tail_db: float        # overheads' diffuse tail, energy against the direct sound
    room_tail_seed: int
    noise_db: dict             # slot -> noise floor RMS against the sound-check peak
    noise_seed: int
    sound_check_gain_db: dict  # slot -> dB
    input_gain_db: dict        # slot -> random dB (±12 under training conditions)

    def as_metadata(self) -> dict:
        """The parameters as JSON-serialisable data."""
        return asdict(self)


def _distance(a, b) -> float:
    return math.dist(a, b)  # not np.linalg.norm: BLAS may start threads


def _jitter(rng: np.random.Generator, scale: float) -> float:
    return float(rng.uniform(-scale, scale))


def _draw_close_mics(rng: np.random.Generator) -> tuple[dict, dict, dict, dict, dict]:
    """(piece positions, source levels, bleed dB and delays per close mic and piece, off-axis cutoffs)."""
    positions = {piece: [round(c + _jitter(rng, 0.05), 3) for c in KIT_LAYOUT[piece]] for piece in PIECES}
    source_db = {piece: round(SOURCE_DB[piece] + _jitter(rng, 2.0), 2) for piece in PIECES}
    bleed_db: dict[str, dict[str, float]] = {}
    bleed_delay_ms: dict[str, dict[str, float]] = {}
    for mic in CLOSE_MIC_SLOTS:
        bleed_db[mic], bleed_delay_ms[mic] = {}, {}
        for piece in PIECES:
            distance = max(CLOSE_DISTANCE, _distance(positions[mic], positions[piece]))
            if piece == mic:
                bleed_db[mic][piece], bleed_delay_ms[mic][piece] = 0.0, 0.0
                continue
            level = (source_db[piece] - 20 * np.log10(distance / CLOSE_DISTANCE) - MIC_REJECTION_DB[mic]
                     + _jitter(rng, 3.0))
            bleed_db[mic][piece] = round(float(level), 2)
            bleed_delay_ms[mic][piece] = round(1000 * distance / SPEED_OF_SOUND, 3)
    off_axis_cutoff_hz = {mic: round(float(rng.uniform(1000, 2500) if mic == "kick" else rng.uniform(2500, 7000)))
                          for mic in CLOSE_MIC_SLOTS}
    return positions, source_db, bleed_db, bleed_delay_ms, off_axis_cutoff_hz


def _draw_overheads(rng: np.random.Generator, positions: dict, source_db: dict) -> tuple[dict, dict, dict]:
    """(the overhead pair's positions, each overhead's level and delay of each piece)."""
    spacing = float(rng.uniform(0.7, 1.3))
    height = float(rng.uniform(1.6, 1.95))
    centre_y = 0.35 + _jitter(rng, 0.1)
    overhead_positions = {"overhead_L": [round(-spacing / 2, 3), round(centre_y, 3), round(height, 3)],
                          "overhead_R": [round(spacing / 2, 3), round(centre_y, 3), round(height, 3)]}
    overhead_db: dict[str, dict[str, float]] = {}
    overhead_delay_ms: dict[str, dict[str, float]] = {}
    for side, mic_position in overhead_positions.items():
        distances = {piece: _distance(mic_position, positions[piece]) for piece in PIECES}
        overhead_db[side] = {piece: round(float(OVERHEAD_REFERENCE_DB + source_db[piece] - 20 * np.log10(d)), 2)
                             for piece, d in distances.items()}
        overhead_delay_ms[side] = {piece: round(1000 * d / SPEED_OF_SOUND, 3) for piece, d in distances.items()}
    return overhead_positions, overhead_db, overhead_delay_ms


def _draw_reflections(rng: np.random.Generator, conditions: Conditions) -> dict[str, list[list[float]]]:
    """Six early reflections (delay ms, gain dB) per slot, in the ranges of `conditions`."""
    reflections = {}
    for slot in DEFAULT_SLOTS:
        overhead = slot in OVERHEAD_SLOTS
        delays = np.sort(rng.uniform(*conditions.overhead_reflection_ms, 6) if overhead
                         else rng.uniform(*conditions.close_reflection_ms, 6))
        gains = (rng.uniform(*conditions.overhead_reflection_db, 6) if overhead
                 else rng.uniform(*conditions.close_reflection_db, 6))
        reflections[slot] = [[round(float(d), 3), round(float(g), 2)] for d, g in zip(delays, gains, strict=True)]
    return reflections


def draw_recording_params(rng: np.random.Generator, conditions: Conditions = TRAINING_CONDITIONS) -> RecordingParams:
    """Draw one song's mic placement, levels, room and gains; room and gain ranges from `conditions`.

    Every conditions make the same draws in the same order, so only the ranges change.
    """
    positions, source_db, bleed_db, bleed_delay_ms, off_axis_cutoff_hz = _draw_close_mics(rng)
    overhead_positions, overhead_db, overhead_delay_ms = _draw_overheads(rng, positions, source_db)
    reflections = _draw_reflections(rng, conditions)

    # The loudest velocity-100 stroke a mic hears sets its sound-check gain; the overheads share one.
    loudest_overhead_db = max(max(levels.values()) for levels in overhead_db.values())
    sound_check_gain_db = {slot: round(SOUND_CHECK_PEAK_DB - CALIBRATED_PEAK_DB - (
        loudest_overhead_db if slot in OVERHEAD_SLOTS else 0.0), 2) for slot in DEFAULT_SLOTS}
    return RecordingParams(
        positions=positions,
        overhead_positions=overhead_positions,
        source_db=source_db,
        bleed_db=bleed_db,
        bleed_delay_ms=bleed_delay_ms,
        off_axis_cutoff_hz=off_axis_cutoff_hz,
        overhead_db=overhead_db,
        overhead_delay_ms=overhead_delay_ms,
        reflections=reflections,
        reflection_cutoff_hz=round(float(rng.uniform(3500, 7000))),
        room_tail_rt60_s=round(float(rng.uniform(*conditions.room_tail_rt60_s)), 3),
        room_tail_db=round(float(rng.uniform(*conditions.room_tail_db)), 2),
        room_tail_seed=int(rng.integers(2**31)),
        noise_db={slot: round(float(rng.uniform(-78.0, -64.0)), 2) for slot in DEFAULT_SLOTS},
        noise_seed=int(rng.integers(2**31)),
        sound_check_gain_db=sound_check_gain_db,
        input_gain_db={slot: round(float(rng.uniform(-conditions.input_gain_range_db,
                                                     conditions.input_gain_range_db)), 2)
                       for slot in DEFAULT_SLOTS},
    )


def draw_recording_stress(rng: np.random.Generator, conditions: Conditions) -> dict:
    """{"overhead_imbalance_db": {overhead slot: dB}, "rejection_cut_db": dB}: the overhead pair's
    imbalance (an extra gain on one side, drawn in `conditions.overhead_imbalance_db`, either sign)
    and how much the close mics' rejection is lowered. Zeros, and no draws, where `conditions` have none.
    """
    imbalance = dict.fromkeys(OVERHEAD_SLOTS, 0.0)
    if conditions.overhead_imbalance_db != (0.0, 0.0):
        side = OVERHEAD_SLOTS[int(rng.integers(len(OVERHEAD_SLOTS)))]
        sign = 1.0 if rng.random() < 0.5 else -1.0
        imbalance[side] = round(sign * float(rng.uniform(*conditions.overhead_imbalance_db)), 2)
    cut = 0.0
    if conditions.rejection_cut_db != (0.0, 0.0):
        cut = round(float(rng.uniform(*conditions.rejection_cut_db)), 2)
    return {"overhead_imbalance_db": imbalance, "rejection_cut_db": cut}


def with_recording_stress(params: RecordingParams, stress: dict) -> RecordingParams:
    """`params` with `stress` (from `draw_recording_stress`) applied: every close mic's bleed louder by
    the rejection cut, the overhead imbalance added to the overheads' input gains."""
    cut = stress["rejection_cut_db"]
    bleed_db = {mic: {piece: level if piece == mic else round(level + cut, 2) for piece, level in levels.items()}
                for mic, levels in params.bleed_db.items()}
    input_gain_db = {slot: round(gain + stress["overhead_imbalance_db"].get(slot, 0.0), 2)
                     for slot, gain in params.input_gain_db.items()}
    return replace(params, bleed_db=bleed_db, input_gain_db=input_gain_db)


def _add_delayed(out: np.ndarray, source: np.ndarray, delay: int, gain: float) -> None:
    """out[delay:] += gain * source[:len - delay], in place."""
    if delay < len(out):
        out[delay:] += np.float32(gain) * source[: len(out) - delay]


def _db(value: float) -> float:
    return 10 ** (value / 20)


def _lowpass(audio: np.ndarray, cutoff_hz: float, sample_rate: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff_hz, 0.45 * sample_rate), "low", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def room_tail_response(rt60_s: float, cutoff_hz: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """[samples] float32: a diffuse tail (exponentially decaying noise, low-passed), unit energy."""
    length = int(rt60_s * sample_rate)
    decay = np.exp(-6.91 * np.arange(length) / (rt60_s * sample_rate))  # -60 dB at rt60
    response = _lowpass((rng.standard_normal(length) * decay).astype(np.float32), cutoff_hz, sample_rate)
    response[: int(0.008 * sample_rate)] = 0.0  # the first reflections are modelled apart
    return (response / np.sqrt(np.sum(response.astype(np.float64) ** 2))).astype(np.float32)


def record_tracks(stems: dict[str, np.ndarray], params: RecordingParams, sample_rate: int) -> tuple[
        dict[str, np.ndarray], dict[str, float]]:
    """({slot: [samples] float32} recorded tracks of the 8 default slots, {slot: peak-cap gain dB}).

    `stems` are the dry pieces ({piece: [samples] float32}, dry.render_dry_pieces); the peak-cap gain
    is the attenuation (<= 0 dB) that brought a track's peak down to -1 dBFS.
    """
    length = len(next(iter(stems.values())))
    played = [piece for piece in PIECES if np.any(stems[piece])]

    def samples(milliseconds: float) -> int:
        return int(round(milliseconds * sample_rate / 1000))

    direct: dict[str, np.ndarray] = {}
    for mic in CLOSE_MIC_SLOTS:
        bleed = np.zeros(length, np.float32)
        for piece in played:
            if piece != mic:
                _add_delayed(bleed, stems[piece], samples(params.bleed_delay_ms[mic][piece]),
                             _db(params.bleed_db[mic][piece]))
        direct[mic] = stems[mic] + _lowpass(bleed, params.off_axis_cutoff_hz[mic], sample_rate)
    tail_rng = np.random.default_rng(params.room_tail_seed)
    for side in OVERHEAD_SLOTS:
        heard = np.zeros(length, np.float32)
        for piece in played:
            _add_delayed(heard, stems[piece], samples(params.overhead_delay_ms[side][piece]),
                         _db(params.overhead_db[side][piece]))
        tail = room_tail_response(params.room_tail_rt60_s, params.reflection_cutoff_hz, sample_rate, tail_rng)
        direct[side] = heard + np.float32(_db(params.room_tail_db)) * signal.oaconvolve(heard, tail)[:length]

    noise_rng = np.random.default_rng(params.noise_seed)
    tracks, peak_cap_db = {}, {}
    for slot in DEFAULT_SLOTS:
        reflected = np.zeros(length, np.float32)
        for delay_ms, gain_db in params.reflections[slot]:
            _add_delayed(reflected, direct[slot], samples(delay_ms), _db(gain_db))
        track = direct[slot] + _lowpass(reflected, params.reflection_cutoff_hz, sample_rate, order=1)
        tracks[slot], peak_cap_db[slot] = preamp(track, params.sound_check_gain_db[slot], params.noise_db[slot],
                                                 params.input_gain_db[slot], noise_rng)
    return tracks, peak_cap_db


def preamp(track: np.ndarray, sound_check_gain_db: float, noise_db: float, input_gain_db: float,
           noise_rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(the recorded [samples] float32 track, its peak-cap gain dB <= 0): what a mic heard, at its
    sound-check gain, with its noise floor (`noise_db` RMS against the sound-check peak, drawn from
    `noise_rng`), at its input gain, its peak capped at PEAK_CAP_DB. `track` is modified in place."""
    track *= np.float32(_db(sound_check_gain_db))
    noise_rms = _db(SOUND_CHECK_PEAK_DB + noise_db)
    track += np.float32(noise_rms) * noise_rng.standard_normal(len(track), dtype=np.float32)
    track *= np.float32(_db(input_gain_db))
    peak = float(np.max(np.abs(track))) if len(track) else 0.0
    cap = min(1.0, _db(PEAK_CAP_DB) / peak) if peak > 0 else 1.0
    return (track * np.float32(cap)).astype(np.float32), round(float(20 * np.log10(cap)), 3)
