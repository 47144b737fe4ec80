"""The fixed "engineers": each applies the same mixing rules to every song, so the mix is learnable.

`engineer_mix` levels, processes (pedalboard), pans and sums the 8 recorded tracks into the wet mix
(the target) and the dry mix (levels, faders and pans only). `ENGINEERS`: `classic` (the first corpus:
compression on every track, bus compressor, limiter) and `light` (balance, pan and EQ, gentle
compression, no limiter); the rules: docs/synthetic-corpus.md.

    wet, dry, settings = engineer_mix(tracks, stroke_onsets, 44100, LIGHT_ENGINEER, "audience")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pedalboard

from mixwave_hf.loudness import integrated_loudness
from mixwave_hf.slots import DEFAULT_SLOTS, check_perspective, mirrored_pan

SLOT_ROLES = {"kick": "kick", "snare": "snare", "hihat": "hihat", "tom_1": "tom", "tom_2": "tom", "tom_3": "tom",
              "overhead_L": "overhead", "overhead_R": "overhead"}
#: Pan per slot, -1 (left) to 1 (right), constant-power, from the drummer's perspective (hi-hat left).
PANS = {"kick": 0.0, "snare": -0.08, "hihat": -0.45, "tom_1": -0.25, "tom_2": 0.15, "tom_3": 0.5,
        "overhead_L": -0.85, "overhead_R": 0.85}
#: Loudness (LUFS) every track is levelled to before its effects.
TRACK_LOUDNESS_LUFS = -20.0
#: Seconds after each stroke that a close mic's level is measured on.
STROKE_WINDOW_SECONDS = 0.4
FADER_DB = {"kick": 0.0, "snare": 0.0, "hihat": -8.0, "tom": -3.0, "overhead": -6.0}
#: Post-fader reverb sends (dB); roles not listed send nothing.
REVERB_SEND_DB = {"snare": -4.0, "tom": -6.0, "overhead": -14.0}
REVERB_RETURN_DB = -11.0
#: Loudness of the summed tracks before the bus compressor, and of the mix before the limiter.
BUS_LOUDNESS_LUFS = -20.0
LIMITER_INPUT_LUFS = -24.0
LIMITER_THRESHOLD_DB = -5.0
OUTPUT_PEAK_DB = -1.0


def insert_chain(role: str) -> pedalboard.Pedalboard:
    """The EQ and dynamics on a track of `role` (kick, snare, hihat, tom, overhead); input at ~-20 LUFS."""
    if role == "kick":
        plugins = [pedalboard.HighpassFilter(30.0), pedalboard.PeakFilter(60.0, 4.0, 1.2),
                   pedalboard.PeakFilter(380.0, -5.0, 1.4), pedalboard.PeakFilter(3500.0, 4.0, 1.2),
                   pedalboard.Compressor(threshold_db=-10.0, ratio=4.0, attack_ms=10.0, release_ms=90.0)]
    elif role == "snare":
        plugins = [pedalboard.HighpassFilter(90.0), pedalboard.PeakFilter(200.0, 3.0, 1.2),
                   pedalboard.PeakFilter(900.0, -2.0, 1.5), pedalboard.PeakFilter(5000.0, 3.0, 1.0),
                   pedalboard.HighShelfFilter(10000.0, 2.0),
                   pedalboard.Compressor(threshold_db=-11.0, ratio=4.0, attack_ms=5.0, release_ms=110.0)]
    elif role == "hihat":
        plugins = [pedalboard.HighpassFilter(300.0), pedalboard.PeakFilter(1000.0, -2.0, 1.0),
                   pedalboard.HighShelfFilter(9000.0, 2.0),
                   pedalboard.Compressor(threshold_db=-15.0, ratio=2.0, attack_ms=10.0, release_ms=80.0)]
    elif role == "tom":
        plugins = [pedalboard.HighpassFilter(60.0), pedalboard.PeakFilter(400.0, -4.0, 1.2),
                   pedalboard.PeakFilter(4000.0, 3.0, 1.0),
                   pedalboard.NoiseGate(threshold_db=-34.0, ratio=3.0, attack_ms=1.0, release_ms=150.0),
                   pedalboard.Compressor(threshold_db=-14.0, ratio=3.0, attack_ms=10.0, release_ms=150.0)]
    elif role == "overhead":
        plugins = [pedalboard.HighpassFilter(150.0), pedalboard.PeakFilter(400.0, -2.0, 1.0),
                   pedalboard.HighShelfFilter(10000.0, 2.0),
                   pedalboard.Compressor(threshold_db=-15.0, ratio=2.0, attack_ms=20.0, release_ms=200.0)]
    else:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(set(SLOT_ROLES.values()))}")
    return pedalboard.Pedalboard(plugins)


def reverb_chain() -> pedalboard.Pedalboard:
    """The reverb on the send bus (stereo in, 100% wet out)."""
    return pedalboard.Pedalboard([
        pedalboard.HighpassFilter(200.0),
        pedalboard.Reverb(room_size=0.45, damping=0.5, wet_level=1.0, dry_level=0.0, width=1.0),
        pedalboard.LowpassFilter(9000.0),
    ])


def bus_chain() -> pedalboard.Pedalboard:
    """Bus compression on the summed mix (input at BUS_LOUDNESS_LUFS)."""
    return pedalboard.Pedalboard([pedalboard.Compressor(threshold_db=-16.0, ratio=2.0, attack_ms=10.0,
                                                        release_ms=150.0)])


def stroke_regions(onsets: np.ndarray, length: int, window: int) -> np.ndarray:
    """Boolean [length] mask: the `window` samples after every onset sample."""
    marks = np.zeros(length + 1, np.int32)
    onsets = np.asarray(onsets, dtype=np.int64)
    onsets = onsets[(onsets >= 0) & (onsets < length)]
    np.add.at(marks, onsets, 1)
    np.add.at(marks, np.minimum(onsets + window, length), -1)
    return np.cumsum(marks[:length]) > 0


def _pan_gains(pan: float) -> tuple[float, float]:
    angle = (pan + 1) * np.pi / 4
    return float(np.cos(angle)), float(np.sin(angle))


def _db(value: float) -> float:
    return 10 ** (value / 20)


def light_insert_chain(role: str) -> pedalboard.Pedalboard:
    """The light engineer's EQ and gentle dynamics on a track of `role`; input at ~-20 LUFS. Mostly EQ:
    overheads and hi-hat brightened (+5 dB shelves), 1.3-1.5:1 compression on kick, snare and overheads."""
    if role == "kick":
        plugins = [pedalboard.HighpassFilter(30.0), pedalboard.PeakFilter(60.0, 3.0, 1.0),
                   pedalboard.PeakFilter(380.0, -4.0, 1.4), pedalboard.PeakFilter(3500.0, 3.0, 1.2),
                   pedalboard.Compressor(threshold_db=-14.0, ratio=1.5, attack_ms=15.0, release_ms=100.0)]
    elif role == "snare":
        plugins = [pedalboard.HighpassFilter(80.0), pedalboard.PeakFilter(200.0, 2.0, 1.2),
                   pedalboard.PeakFilter(900.0, -2.0, 1.5), pedalboard.HighShelfFilter(6000.0, 3.0),
                   pedalboard.Compressor(threshold_db=-16.0, ratio=1.5, attack_ms=8.0, release_ms=120.0)]
    elif role == "hihat":
        plugins = [pedalboard.HighpassFilter(250.0), pedalboard.PeakFilter(1000.0, -2.0, 1.0),
                   pedalboard.HighShelfFilter(8000.0, 5.0)]
    elif role == "tom":
        plugins = [pedalboard.HighpassFilter(60.0), pedalboard.PeakFilter(400.0, -3.0, 1.2),
                   pedalboard.PeakFilter(4000.0, 2.0, 1.0)]
    elif role == "overhead":
        plugins = [pedalboard.HighpassFilter(120.0), pedalboard.PeakFilter(400.0, -2.0, 1.0),
                   pedalboard.HighShelfFilter(8000.0, 5.0),
                   pedalboard.Compressor(threshold_db=-20.0, ratio=1.3, attack_ms=20.0, release_ms=200.0)]
    else:
        raise ValueError(f"unknown role {role!r}; expected one of {sorted(set(SLOT_ROLES.values()))}")
    return pedalboard.Pedalboard(plugins)


@dataclass(frozen=True)
class Engineer:
    """One engineer's fixed rules; faders and reverb sends in dB by role (roles not listed send nothing).

    bus: the classic master stage (bus compressor, limiter) or, without it, the mix levelled to
    `mix_loudness_lufs` unless that would peak above OUTPUT_PEAK_DB (no limiter: the dynamics stay).
    reverb_below_rt60_s: the reverb send only for rooms deader than this (None: always).
    """

    name: str
    insert_chain: Callable[[str], pedalboard.Pedalboard]
    fader_db: dict[str, float]
    reverb_send_db: dict[str, float]
    reverb_return_db: float
    reverb_below_rt60_s: float | None
    bus: bool
    mix_loudness_lufs: float | None = None


CLASSIC_ENGINEER = Engineer("classic", insert_chain, FADER_DB, REVERB_SEND_DB, REVERB_RETURN_DB, None, True)
LIGHT_ENGINEER = Engineer("light", light_insert_chain, {"kick": 0.0, "snare": 0.0, "hihat": -6.0, "tom": -2.0,
                                                        "overhead": -4.0},
                          {"snare": -8.0, "tom": -10.0}, -18.0, 0.45, False, -18.0)
ENGINEERS = {engineer.name: engineer for engineer in (CLASSIC_ENGINEER, LIGHT_ENGINEER)}


def perspective_pans(perspective: str) -> dict[str, float]:
    """Pan per slot in `perspective` ("drummer": PANS; "audience": mirrored by `slots.mirrored_pan`)."""
    if check_perspective(perspective) == "drummer":
        return dict(PANS)
    return {slot: mirrored_pan(slot, pan) for slot, pan in PANS.items()}


def engineer_mix(tracks: dict[str, np.ndarray], stroke_onsets: dict[str, np.ndarray], sample_rate: int,
                 engineer: Engineer = CLASSIC_ENGINEER, perspective: str = "drummer",
                 room_rt60_s: float | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """(wet [2, samples] float32, dry [2, samples] float32, settings) for the 8 recorded tracks.

    `tracks` maps each slot of DEFAULT_SLOTS to [samples] float32; `stroke_onsets` maps each close-mic
    slot to the onset samples of its own drum's strokes (an empty array: the drum is not played, the
    track is muted). `room_rt60_s` (seconds) lets the engineer skip the reverb in a live room.
    `settings` records every level measured and gain applied (JSON-serialisable).
    """
    pans = perspective_pans(perspective)
    reverb = engineer.reverb_below_rt60_s is None or (room_rt60_s or 0.0) < engineer.reverb_below_rt60_s
    wet_bus, dry_bus, send_bus, measured, level_db = _track_buses(tracks, stroke_onsets, sample_rate, engineer,
                                                                  pans, reverb)
    if send_bus.any():
        wet_bus += np.float32(_db(engineer.reverb_return_db)) * reverb_chain()(send_bus, sample_rate)
    wet, master = _classic_master(wet_bus, sample_rate) if engineer.bus else _light_master(wet_bus, sample_rate,
                                                                                          engineer)
    wet_loudness = integrated_loudness(wet, sample_rate)
    dry_gain_db = _gain_to(dry_bus, sample_rate, wet_loudness) if np.isfinite(wet_loudness) else 0.0
    dry, dry_trim_db = _peak_capped(dry_bus * np.float32(_db(dry_gain_db)))
    settings = {
        "track_loudness_lufs": measured,
        "level_db": level_db,
        "fader_db": {slot: engineer.fader_db[SLOT_ROLES[slot]] for slot in DEFAULT_SLOTS},
        "pan": pans,
        **master,
        "wet_loudness_lufs": round(wet_loudness, 3) if np.isfinite(wet_loudness) else None,
        "dry_gain_db": dry_gain_db,
        "dry_peak_trim_db": dry_trim_db,
    }
    if engineer is not CLASSIC_ENGINEER:  # the classic corpus's metadata stays as it was
        settings.update(engineer=engineer.name, perspective=perspective, reverb=bool(send_bus.any()))
    return wet.astype(np.float32), dry.astype(np.float32), settings


def _track_buses(tracks: dict[str, np.ndarray], stroke_onsets: dict[str, np.ndarray], sample_rate: int,
                 engineer: Engineer, pans: dict[str, float], reverb: bool) -> tuple:
    """(wet bus, dry bus, reverb send bus [2, samples] float32, measured LUFS and level dB per slot):
    every track levelled, processed, faded and panned."""
    length = len(tracks[DEFAULT_SLOTS[0]])
    window = int(STROKE_WINDOW_SECONDS * sample_rate)
    wet_bus = np.zeros((2, length), np.float32)
    dry_bus = np.zeros((2, length), np.float32)
    send_bus = np.zeros((2, length), np.float32)
    measured, level_db = {}, {}
    for slot in DEFAULT_SLOTS:
        role = SLOT_ROLES[slot]
        track = tracks[slot]
        if role == "overhead":
            loudness = integrated_loudness(track, sample_rate)
        else:
            regions = stroke_regions(stroke_onsets.get(slot, np.zeros(0)), length, window)
            loudness = integrated_loudness(track[regions], sample_rate) if regions.any() else float("-inf")
        measured[slot] = round(loudness, 3) if np.isfinite(loudness) else None
        if not np.isfinite(loudness):
            level_db[slot] = None  # muted: its drum is never struck (or the track is silent)
            continue
        level_db[slot] = round(TRACK_LOUDNESS_LUFS - loudness, 3)
        levelled = track * np.float32(_db(level_db[slot]))
        processed = engineer.insert_chain(role)(levelled[None], sample_rate)[0]
        fader = np.float32(_db(engineer.fader_db[role]))
        left, right = _pan_gains(pans[slot])
        for channel, gain in enumerate((left, right)):
            wet_bus[channel] += np.float32(gain) * fader * processed
            dry_bus[channel] += np.float32(gain) * fader * levelled
            if reverb and role in engineer.reverb_send_db:
                send_bus[channel] += np.float32(gain * _db(engineer.reverb_send_db[role])) * fader * processed
    return wet_bus, dry_bus, send_bus, measured, level_db


def _classic_master(wet_bus: np.ndarray, sample_rate: int) -> tuple[np.ndarray, dict]:
    """(the mix, its settings): bus compression, a level into the limiter, the limiter, the peak cap."""
    bus_gain_db = _gain_to(wet_bus, sample_rate, BUS_LOUDNESS_LUFS)
    compressed = bus_chain()(wet_bus * np.float32(_db(bus_gain_db)), sample_rate)
    limiter_gain_db = _gain_to(compressed, sample_rate, LIMITER_INPUT_LUFS)
    limited = pedalboard.Limiter(threshold_db=LIMITER_THRESHOLD_DB, release_ms=100.0)(
        compressed * np.float32(_db(limiter_gain_db)), sample_rate)
    wet, wet_trim_db = _peak_capped(limited * np.float32(_db(OUTPUT_PEAK_DB)))
    return wet, {"bus_gain_db": bus_gain_db, "limiter_gain_db": limiter_gain_db, "wet_peak_trim_db": wet_trim_db}


def _light_master(wet_bus: np.ndarray, sample_rate: int, engineer: Engineer) -> tuple[np.ndarray, dict]:
    """(the mix, its settings): levelled to the engineer's loudness, turned down if it would peak above
    OUTPUT_PEAK_DB; no compressor or limiter, so the mix keeps the tracks' dynamics."""
    mix_gain_db = _gain_to(wet_bus, sample_rate, engineer.mix_loudness_lufs)
    wet, wet_trim_db = _peak_capped(wet_bus * np.float32(_db(mix_gain_db)))
    return wet, {"mix_gain_db": mix_gain_db, "wet_peak_trim_db": wet_trim_db}


def _gain_to(audio: np.ndarray, sample_rate: int, target_lufs: float) -> float:
    """dB that brings `audio` to `target_lufs` (0 for silence)."""
    loudness = integrated_loudness(audio, sample_rate)
    return round(float(target_lufs - loudness), 3) if np.isfinite(loudness) else 0.0


def _peak_capped(audio: np.ndarray) -> tuple[np.ndarray, float]:
    """(audio scaled down so its peak is at most OUTPUT_PEAK_DB, the dB applied (<= 0))."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    limit = _db(OUTPUT_PEAK_DB)
    if peak <= limit:
        return audio, 0.0
    return audio * np.float32(limit / peak * 0.9999), round(float(20 * np.log10(limit / peak * 0.9999)), 4)
