"""The room model: a drawn room with the kit and its microphones placed in it, impulse responses from
pyroomacoustics' image sources, and a statistical late tail per microphone.

`draw_room_recording` draws every number (from a `conditions.RoomConditions`); `record_in_room`
applies them to the dry stems (geometry, levels and the reasoning: docs/synthetic-corpus.md).

    tracks, peak_cap_db = record_in_room(stems, draw_room_recording(rng, SESSION_CONDITIONS, "audience"), 44100)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal

from mixwave_hf.data.synth.conditions import RoomConditions
from mixwave_hf.data.synth.kits import CALIBRATED_PEAK_DB, PIECES
from mixwave_hf.data.synth.recording import (
    CLOSE_DISTANCE,
    CLOSE_MIC_SLOTS,
    KIT_LAYOUT,
    OVERHEAD_SLOTS,
    SOUND_CHECK_PEAK_DB,
    SOURCE_DB,
    SPEED_OF_SOUND,
    preamp,
)
from mixwave_hf.slots import DEFAULT_SLOTS, check_perspective

#: Pieces that swing and radiate from a large, unevenly vibrating surface.
CYMBALS = ("hihat", "crash_1", "crash_2", "ride")
#: Ranges (ms, ±) of how far the path from a piece to a mic that is not its own close mic sways (one
#: draw per song): independently per mic, so what two distant mics hear of a cymbal's high end is
#: largely unrelated, as on real sessions (a spaced pair's coherence above 2 kHz is about 0.1).
SWAY_MS = {"cymbal": (0.05, 0.25), "drum": (0.01, 0.05)}
#: Image sources model the room up to this time after the direct sound; a statistical tail follows.
MIXING_TIME_S = 0.06
#: The late tail decays this much faster above TAIL_SPLIT_HZ (air and surfaces absorb highs more).
TAIL_HIGH_RT60_RATIO = 0.6
TAIL_SPLIT_HZ = 4000.0
#: Overhead pair layouts: spaced (A-B), ORTF (17 cm, 110 degrees), XY (coincident, 90 degrees).
PAIR_TYPES = (("spaced", 0.6), ("ortf", 0.2), ("xy", 0.2))
_FRACTIONAL_DELAY_LEAD = 40  # pyroomacoustics centres an 81-tap fractional-delay filter on each path


@dataclass(frozen=True)
class RoomRecordingParams:
    """Every number of one song's recording in a room (metres, seconds, dB, Hz; room coordinates)."""

    room_size: list            # [length, width, height]
    rt60_s: float              # Sabine reverberation time of the drawn absorption
    absorption: float          # energy absorption of every surface
    seat: list                 # the drummer's seat [x, y, z]; the kit faces `facing_deg`
    facing_deg: float
    positions: dict            # piece -> [x, y, z]
    source_db: dict            # piece -> dB against its calibrated stem
    mic_positions: dict        # slot -> [x, y, z]
    mic_aims: dict             # slot -> unit vector [x, y, z]
    mic_pattern: dict          # slot -> p of p + (1 - p) cos(angle): 1 omni, 0.5 cardioid
    pair_type: str             # spaced, ortf or xy
    perspective: str           # which physical overhead feeds overhead_L (the one panned left)
    kick_isolation_db: float   # the kick drum's shell between its inside mic and the other pieces
    off_axis_cutoff_hz: dict   # close-mic slot -> low-pass on what it hears of other pieces
    reflection_cutoff_hz: float
    sway_ms: dict              # "cymbal" / "drum" -> depth of the path's sway (ms, ±)
    sway_seed: int
    tail_seed: int
    noise_db: dict             # slot -> noise floor RMS against the sound-check peak
    noise_seed: int
    sound_check_gain_db: dict  # slot -> dB
    input_gain_db: dict        # slot -> random dB

    def as_metadata(self) -> dict:
        """The parameters as JSON-serialisable data."""
        return asdict(self)


def _rounded(vector) -> list[float]:
    return [round(float(value), 3) for value in vector]


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def _to_room(local: np.ndarray, seat: np.ndarray, facing: float) -> np.ndarray:
    """Kit coordinates (metres from the seat: x right, y away from the drummer, z up) -> room coordinates."""
    cos, sin = math.cos(facing), math.sin(facing)
    return seat + np.array([cos * local[0] - sin * local[1], sin * local[0] + cos * local[1], local[2]])


def _turned(vector: np.ndarray, facing: float) -> np.ndarray:
    """A direction in kit coordinates -> room coordinates."""
    return _to_room(vector, np.zeros(3), facing)


def _draw_room(rng: np.random.Generator, conditions: RoomConditions) -> tuple[np.ndarray, float, float]:
    """(room size, Sabine RT60, absorption): the drawn RT60, or the nearest one the room's size allows."""
    size = np.array([rng.uniform(*span) for span in conditions.room_size_m])
    size[:2] = np.sort(size[:2])[::-1]
    volume = float(np.prod(size))
    surface = 2 * float(size[0] * size[1] + size[0] * size[2] + size[1] * size[2])
    wanted = float(rng.uniform(*conditions.rt60_s))
    absorption = float(np.clip(0.161 * volume / (surface * wanted), 0.02, 0.95))
    return size, 0.161 * volume / (surface * absorption), absorption


def _draw_close_mics(rng: np.random.Generator, conditions: RoomConditions, local: dict) -> tuple[dict, dict, dict]:
    """(position, aim, pattern) per close-mic slot, in kit coordinates: above the drum's edge, aimed at it;
    the kick mic inside the shell, aimed back at the beater."""
    positions, aims, patterns = {}, {}, {}
    for slot in CLOSE_MIC_SLOTS:
        piece = local[slot]
        distance = float(rng.uniform(*conditions.close_distance_m))
        if slot == "kick":
            offset = np.array([rng.uniform(-0.05, 0.05), 1.0, rng.uniform(-0.1, 0.1)])
            distance = float(rng.uniform(*conditions.kick_mic_distance_m))
        else:
            azimuth = rng.uniform(0, 2 * np.pi)
            elevation = rng.uniform(np.radians(50), np.radians(80))
            offset = np.array([np.cos(elevation) * np.cos(azimuth), np.cos(elevation) * np.sin(azimuth),
                               np.sin(elevation)])
        positions[slot] = piece + distance * _unit(offset)
        aims[slot] = _unit(piece - positions[slot])
        patterns[slot] = round(float(rng.uniform(0.55, 0.65)), 3)  # real cardioids are not ideal at the rear
    return positions, aims, patterns


def _draw_overheads(rng: np.random.Generator, local: dict) -> tuple[str, dict, dict, dict]:
    """(pair type, position, aim, pattern) of the drummer's-left and -right overhead, in kit coordinates."""
    names = [name for name, _ in PAIR_TYPES]
    pair_type = names[int(rng.choice(len(names), p=[share for _, share in PAIR_TYPES]))]
    cymbal_height = max(local[piece][2] for piece in CYMBALS)
    centre = np.array([rng.uniform(-0.15, 0.15), rng.uniform(0.3, 0.55), cymbal_height + rng.uniform(0.4, 0.9)])
    if pair_type == "spaced":
        half = rng.uniform(0.3, 0.65)
        pattern = float(rng.choice([0.5, 1.0]))
        positions = {"left": centre - [half, 0, 0], "right": centre + [half, 0, 0]}
        aims = {side: np.array([0.0, 0.0, -1.0]) for side in positions}
    else:
        half, angle = (0.085, np.radians(55)) if pair_type == "ortf" else (0.01, np.radians(45))
        pattern = 0.5
        positions = {"left": centre - [half, 0, 0], "right": centre + [half, 0, 0]}
        aims = {"left": _unit(np.array([-np.sin(angle), 0.2, -np.cos(angle)])),
                "right": _unit(np.array([np.sin(angle), 0.2, -np.cos(angle)]))}
    return pair_type, positions, aims, {side: round(pattern, 3) for side in positions}


def _overhead_sides(perspective: str) -> dict[str, str]:
    """Overhead slot -> the physical mic ("left"/"right" of the drummer) it carries, in `perspective`."""
    if check_perspective(perspective) == "drummer":
        return {"overhead_L": "left", "overhead_R": "right"}
    return {"overhead_L": "right", "overhead_R": "left"}


def draw_room_recording(rng: np.random.Generator, conditions: RoomConditions, perspective: str) -> RoomRecordingParams:
    """Draw one song's room, kit placement, microphones, levels and gains from the ranges of `conditions`.

    `perspective` only names the overheads: overhead_L is the one panned left in that perspective
    (in `audience`, the mic on the drummer's right).
    """
    size, rt60, absorption = _draw_room(rng, conditions)
    margin = 1.0
    seat = np.array([rng.uniform(margin, max(margin, size[0] - margin)),
                     rng.uniform(margin, max(margin, size[1] - margin)), 0.0])
    facing = float(rng.uniform(0, 2 * np.pi))
    local = {piece: np.array(KIT_LAYOUT[piece]) + rng.uniform(-0.05, 0.05, 3) for piece in PIECES}
    source_db = {piece: round(SOURCE_DB[piece] + float(rng.uniform(-2, 2)), 2) for piece in PIECES}
    close_positions, close_aims, patterns = _draw_close_mics(rng, conditions, local)
    pair_type, pair_positions, pair_aims, pair_patterns = _draw_overheads(rng, local)
    sides = _overhead_sides(perspective)
    mic_local = {**close_positions, **{slot: pair_positions[side] for slot, side in sides.items()}}
    aims = {**close_aims, **{slot: pair_aims[side] for slot, side in sides.items()}}
    patterns.update({slot: pair_patterns[side] for slot, side in sides.items()})
    bounds = size - 0.05
    positions = {piece: _rounded(np.clip(_to_room(point, seat, facing), 0.05, bounds))
                 for piece, point in local.items()}
    mic_positions = {slot: _rounded(np.clip(_to_room(mic_local[slot], seat, facing), 0.05, bounds))
                     for slot in DEFAULT_SLOTS}
    mic_aims = {slot: _rounded(_turned(aims[slot], facing)) for slot in DEFAULT_SLOTS}
    direct_db = _direct_levels_db(positions, mic_positions, mic_aims, patterns, source_db)
    loudest_overhead = max(max(direct_db[slot].values()) for slot in OVERHEAD_SLOTS)
    sound_check = {slot: round(SOUND_CHECK_PEAK_DB - CALIBRATED_PEAK_DB - (
        loudest_overhead if slot in OVERHEAD_SLOTS else max(direct_db[slot].values())), 2) for slot in DEFAULT_SLOTS}
    return RoomRecordingParams(
        room_size=_rounded(size), rt60_s=round(rt60, 3), absorption=round(absorption, 4),
        seat=_rounded(seat), facing_deg=round(math.degrees(facing), 2), positions=positions, source_db=source_db,
        mic_positions=mic_positions, mic_aims=mic_aims, mic_pattern=patterns, pair_type=pair_type,
        perspective=perspective, kick_isolation_db=round(float(rng.uniform(*conditions.kick_isolation_db)), 2),
        off_axis_cutoff_hz={slot: round(float(rng.uniform(1000, 2500) if slot == "kick" else rng.uniform(3000, 8000)))
                            for slot in CLOSE_MIC_SLOTS},
        reflection_cutoff_hz=round(float(rng.uniform(3000, 8000))),
        sway_ms={kind: round(float(rng.uniform(*span)), 3) for kind, span in SWAY_MS.items()},
        sway_seed=int(rng.integers(2**31)), tail_seed=int(rng.integers(2**31)),
        noise_db={slot: round(float(rng.uniform(-78.0, -64.0)), 2) for slot in DEFAULT_SLOTS},
        noise_seed=int(rng.integers(2**31)), sound_check_gain_db=sound_check,
        input_gain_db=_draw_input_gains(rng, conditions),
    )


def _draw_input_gains(rng: np.random.Generator, conditions: RoomConditions) -> dict[str, float]:
    """{slot: dB}: a random gain per track in ±conditions.input_gain_range_db, and on one overhead (at
    random, either sign) an extra imbalance drawn in conditions.overhead_imbalance_db, if any."""
    span = conditions.input_gain_range_db
    gains = {slot: round(float(rng.uniform(-span, span)), 2) for slot in DEFAULT_SLOTS}
    if conditions.overhead_imbalance_db != (0.0, 0.0):
        side = OVERHEAD_SLOTS[int(rng.integers(len(OVERHEAD_SLOTS)))]
        sign = 1.0 if rng.random() < 0.5 else -1.0
        gains[side] = round(gains[side] + sign * float(rng.uniform(*conditions.overhead_imbalance_db)), 2)
    return gains


def _pickup(pattern: float, aim, source, mic) -> float:
    """A first-order microphone's gain towards `source`: p + (1 - p) cos(angle off its aim)."""
    direction = np.asarray(source, float) - np.asarray(mic, float)
    cosine = float(np.dot(aim, direction) / max(np.linalg.norm(direction), 1e-9))
    return max(pattern + (1 - pattern) * cosine, 0.0)


def _direct_levels_db(positions: dict, mic_positions: dict, mic_aims: dict, patterns: dict,
                      source_db: dict) -> dict[str, dict[str, float]]:
    """{slot: {piece: dB}}: each piece's direct sound at each mic (0 dB: on axis at 5 cm)."""
    levels = {}
    for slot, mic in mic_positions.items():
        levels[slot] = {}
        for piece, source in positions.items():
            distance = max(math.dist(source, mic), 0.01)
            gain = _pickup(patterns[slot], mic_aims[slot], source, mic) * CLOSE_DISTANCE / distance
            levels[slot][piece] = source_db[piece] + 20 * math.log10(max(gain, 1e-6))
    return levels


def _directivity_factor(pattern: float) -> float:
    """How much less of a diffuse field a first-order pattern picks up than an omni (3 for a cardioid)."""
    return 1.0 / (pattern**2 + (1 - pattern) ** 2 / 3)


def _critical_distance(params: RoomRecordingParams) -> float:
    """Metres from an omni source where its reverberant field equals its direct sound (Sabine)."""
    absorption_area = 0.161 * float(np.prod(params.room_size)) / params.rt60_s
    return math.sqrt(absorption_area / (16 * math.pi))


def image_source_responses(params: RoomRecordingParams, pieces: list[str], sample_rate: int) -> dict[
        tuple[str, str], np.ndarray]:
    """{(slot, piece): [samples] float32}: pyroomacoustics' image-source response of every played piece
    at every mic (directivity included), up to MIXING_TIME_S, scaled so a source 5 cm on axis is ~1."""
    import pyroomacoustics as pra  # only rendering the room-model corpus needs it
    from pyroomacoustics.directivities import CardioidFamily, DirectionVector

    size = np.array(params.room_size)
    order = int(min(14, math.ceil(SPEED_OF_SOUND * MIXING_TIME_S / size.min()) + 2))
    room = pra.ShoeBox(size, fs=sample_rate, materials=pra.Material(params.absorption), max_order=order)
    for piece in pieces:
        room.add_source(params.positions[piece])
    directivities = []
    for slot in DEFAULT_SLOTS:
        x, y, z = params.mic_aims[slot]
        orientation = DirectionVector(azimuth=math.atan2(y, x), colatitude=math.acos(np.clip(z, -1, 1)), degrees=False)
        directivities.append(CardioidFamily(orientation, p=params.mic_pattern[slot]))
    mics = np.array([params.mic_positions[slot] for slot in DEFAULT_SLOTS]).T
    room.add_microphone_array(pra.MicrophoneArray(mics, sample_rate, directivity=directivities))
    room.compute_rir()
    length = int(MIXING_TIME_S * sample_rate)
    fade = np.cos(np.linspace(0, np.pi / 2, int(0.005 * sample_rate))) ** 2
    responses = {}
    for mic_index, slot in enumerate(DEFAULT_SLOTS):
        for source_index, piece in enumerate(pieces):
            response = np.zeros(length)
            raw = np.asarray(room.rir[mic_index][source_index])[_FRACTIONAL_DELAY_LEAD:length + _FRACTIONAL_DELAY_LEAD]
            response[: len(raw)] = raw * CLOSE_DISTANCE
            response[-len(fade):] *= fade
            responses[(slot, piece)] = response
    return responses


def _duller_reflections(response: np.ndarray, direct_sample: int, cutoff_hz: float, sample_rate: int) -> np.ndarray:
    """`response` with everything after its direct sound low-passed (surfaces absorb the highs)."""
    split = direct_sample + int(0.001 * sample_rate)
    sos = signal.butter(1, cutoff_hz, "low", fs=sample_rate, output="sos")
    out = response.copy()
    out[split:] = signal.sosfilt(sos, response[split:])
    return out


def swaying(stem: np.ndarray, depth_ms: float, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """[samples] float32: `stem` heard through a path whose length sways by up to ±`depth_ms` (a few slow
    random sinusoids): a cymbal swinging after its stroke, a drum head struck off centre. Two mics
    given independent sways hear the same source with unrelated high-frequency phase."""
    samples = np.arange(len(stem))
    coarse = np.arange(0, len(stem) + 64, 64)  # the sway is slow: computed every 64 samples, interpolated
    rates = rng.uniform(0.3, 3.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    sway = np.sin(2 * np.pi * rates[:, None] * coarse[None] / sample_rate + phases[:, None]).sum(axis=0) / 3
    position = samples - np.interp(samples, coarse, sway) * depth_ms / 1000 * sample_rate
    return np.interp(position, samples, stem).astype(np.float32)


def path_responses(params: RoomRecordingParams, pieces: list[str], sample_rate: int) -> dict[tuple[str, str],
                                                                                               np.ndarray]:
    """{(slot, piece): [samples] float32}: the whole early path from a piece's stem to a mic: source
    level, image sources, duller reflections; for a close mic's bleed, its duller off-axis sound (and
    the kick shell)."""
    responses = image_source_responses(params, pieces, sample_rate)
    paths = {}
    for (slot, piece), response in responses.items():
        distance = math.dist(params.positions[piece], params.mic_positions[slot])
        response = _duller_reflections(response, int(distance / SPEED_OF_SOUND * sample_rate),
                                       params.reflection_cutoff_hz, sample_rate)
        if slot in CLOSE_MIC_SLOTS and slot != piece:
            sos = signal.butter(2, params.off_axis_cutoff_hz[slot], "low", fs=sample_rate, output="sos")
            response = signal.sosfilt(sos, response) * (10 ** (-params.kick_isolation_db / 20) if slot == "kick" else 1)
        paths[(slot, piece)] = (response * 10 ** (params.source_db[piece] / 20)).astype(np.float32)
    return paths


def late_tail(params: RoomRecordingParams, slot: str, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """[samples] float32: the mic's diffuse tail from MIXING_TIME_S on, independent noise decaying at the
    room's RT60 (faster above TAIL_SPLIT_HZ), with the energy Sabine's diffuse field gives a source of
    unit level, less what the mic's pattern rejects."""
    rt60 = params.rt60_s
    length = int(min(1.5 * rt60, 3.0) * sample_rate)
    time = np.arange(length) / sample_rate
    noise = rng.standard_normal(length)
    sos = signal.butter(2, TAIL_SPLIT_HZ, "low", fs=sample_rate, output="sos")
    low = signal.sosfilt(sos, noise)
    tail = low * np.exp(-6.91 * time / rt60) + (noise - low) * np.exp(-6.91 * time / (rt60 * TAIL_HIGH_RT60_RATIO))
    start = int(MIXING_TIME_S * sample_rate)
    ramp = int(0.005 * sample_rate)
    tail[:start - ramp] = 0.0
    tail[start - ramp:start] *= np.sin(np.linspace(0, np.pi / 2, ramp)) ** 2
    tail = signal.sosfilt(signal.butter(1, params.reflection_cutoff_hz, "low", fs=sample_rate, output="sos"), tail)
    energy = (CLOSE_DISTANCE / _critical_distance(params)) ** 2 / _directivity_factor(params.mic_pattern[slot])
    energy *= math.exp(-13.8 * MIXING_TIME_S / rt60)
    return (tail * math.sqrt(energy / np.sum(tail**2))).astype(np.float32)


def record_in_room(stems: dict[str, np.ndarray], params: RoomRecordingParams, sample_rate: int) -> tuple[
        dict[str, np.ndarray], dict[str, float]]:
    """({slot: [samples] float32} recorded tracks of the 8 default slots, {slot: peak-cap gain dB}).

    `stems` are the dry pieces ({piece: [samples] float32}, dry.render_dry_pieces); every mic hears
    every played piece through its path (`path_responses`; `swaying` unless it is the mic's own drum)
    and the room's tail (`late_tail`); then
    the preamp: sound-check gain, noise floor, input gain and the peak cap (`recording.preamp`).
    """
    length = len(next(iter(stems.values())))
    played = [piece for piece in PIECES if np.any(stems[piece])]
    paths = path_responses(params, played, sample_rate) if played else {}
    tail_rng = np.random.default_rng(params.tail_seed)
    sway_rng = np.random.default_rng(params.sway_seed)
    noise_rng = np.random.default_rng(params.noise_seed)
    tracks, peak_cap_db = {}, {}
    for slot in DEFAULT_SLOTS:
        heard = np.zeros(length, np.float32)
        reverberant = np.zeros(length, np.float32)
        for piece in played:
            stem = stems[piece] if slot == piece else swaying(
                stems[piece], params.sway_ms["cymbal" if piece in CYMBALS else "drum"], sway_rng, sample_rate)
            heard += signal.oaconvolve(stem, paths[(slot, piece)])[:length].astype(np.float32)
            isolation = 10 ** (-params.kick_isolation_db / 20) if slot == "kick" and piece != "kick" else 1.0
            reverberant += np.float32(isolation * 10 ** (params.source_db[piece] / 20)) * stems[piece]
        tail = late_tail(params, slot, tail_rng, sample_rate)
        if played:
            heard += signal.oaconvolve(reverberant, tail)[:length].astype(np.float32)
        tracks[slot], peak_cap_db[slot] = preamp(heard, params.sound_check_gain_db[slot], params.noise_db[slot],
                                                 params.input_gain_db[slot], noise_rng)
    return tracks, peak_cap_db
