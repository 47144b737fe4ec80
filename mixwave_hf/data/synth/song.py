"""One song, end to end: groove -> dry pieces -> recorded tracks -> the engineer's wet and dry mixes.

    song = render_song(seed=7, kit="avl_black_pearl", seconds=30.0)  # RenderedSong: tracks, mixes, metadata
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from importlib import metadata as package_metadata

import numpy as np

from mixwave_hf.data.synth.conditions import TRAINING_CONDITIONS, Conditions, draw_tom_playing
from mixwave_hf.data.synth.dry import CHOKED_PIECES, render_dry_pieces
from mixwave_hf.data.synth.engineer import engineer_mix
from mixwave_hf.data.synth.grooves import TOMS, HitEvent, draw_groove, events_as_metadata, restrict_toms
from mixwave_hf.data.synth.kits import kit_player, kit_spec
from mixwave_hf.data.synth.recording import (
    CLOSE_MIC_SLOTS,
    draw_recording_params,
    draw_recording_stress,
    record_tracks,
    with_recording_stress,
)
from mixwave_hf.slots import DEFAULT_SLOTS

#: Bumped whenever a change to any stage changes the audio a (seed, kit, seconds) renders.
SYNTH_VERSION = 1


@dataclass
class RenderedSong:
    """A rendered song: the 8 recorded tracks (model inputs) and the engineer's mixes (targets)."""

    tracks: dict[str, np.ndarray]  # the 8 default slots -> [samples] float32 mono, recorded (input) tracks
    wet_mix: np.ndarray            # [2, samples] float32, the engineer's mix (target)
    dry_mix: np.ndarray            # [2, samples] float32, the same levels and pans without effects
    sample_rate: int
    metadata: dict                 # JSON-serialisable: seed, kit, style, bpm, every parameter of every stage


def render_song(seed: int, kit: str, seconds: float, sample_rate: int = 44100, *, style: str | None = None,
                include_events: bool = True, conditions: Conditions = TRAINING_CONDITIONS) -> RenderedSong:
    """Render `seconds` of a drum performance on `kit` (a name in KITS), fully determined by the arguments.

    The seed drives independent streams: the performance (style, tempo, strokes) and the recording
    (mic placement, room, noise, input gains); the same seed on another kit is the same performance
    recorded the same way. `style` (one of grooves.STYLES) overrides the drawn style. The metadata
    holds every parameter and, with `include_events`, every stroke (time, piece, articulation,
    velocity). Uses one core; loads the kit's soundfont once per process.

    `conditions` set the ranges of the recording and of tom playing (conditions.py). Under other than
    the training conditions, a third stream draws what only they have (toms barely or never played,
    the overhead imbalance, the stronger bleed), recorded in metadata["stress"]; the training
    conditions never draw from it, so their songs are those rendered before conditions existed.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}; expected a non-negative integer")
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds {seconds!r}; expected a positive number of seconds")
    if not (isinstance(sample_rate, (int, np.integer)) and 8000 <= sample_rate <= 192000):
        raise ValueError(f"sample rate {sample_rate!r}; expected an integer in 8000-192000 Hz")
    spec = kit_spec(kit)
    seed, sample_rate = int(seed), int(sample_rate)
    # spawn(3) gives the same first two streams as spawn(2): training songs are unchanged by the third.
    groove_stream, recording_stream, conditions_stream = np.random.SeedSequence(seed).spawn(3)
    conditions_rng = np.random.default_rng(conditions_stream)
    groove, events = draw_groove(np.random.default_rng(groove_stream), float(seconds), style)
    toms, keep_tom_strokes = draw_tom_playing(conditions_rng, conditions)
    if keep_tom_strokes is not None:
        events = restrict_toms(events, keep_tom_strokes, conditions_rng, float(seconds))
    player = kit_player(spec.name, sample_rate)
    length = int(round(seconds * sample_rate))
    stems = render_dry_pieces(player, events, length)
    recording = draw_recording_params(np.random.default_rng(recording_stream), conditions)
    recording_stress = draw_recording_stress(conditions_rng, conditions)
    if conditions != TRAINING_CONDITIONS:
        recording = with_recording_stress(recording, recording_stress)
    tracks, peak_cap_db = record_tracks(stems, recording, sample_rate)
    wet, dry, engineer = engineer_mix(tracks, stroke_onsets(events, sample_rate), sample_rate)
    metadata = {
        "synth_version": SYNTH_VERSION,
        "seed": seed,
        "kit": spec.name,
        "seconds": float(seconds),
        "sample_rate": sample_rate,
        "style": groove.style,
        "bpm": groove.bpm,
        "slots": list(DEFAULT_SLOTS),
        "kit_spec": spec.as_metadata(),
        "kit_calibration_db": {piece: {art: round(db, 3) for art, db in arts.items()}
                               for piece, arts in player.calibration_db.items()},
        "groove": groove.as_metadata(),
        "stroke_counts": dict(Counter(event.piece for event in events)),
        "dry_render": {"choke_fade_seconds": dict(CHOKED_PIECES)},
        "recording": {**recording.as_metadata(), "peak_cap_db": peak_cap_db},
        "engineer": engineer,
        "software": _software_versions(),
    }
    if conditions != TRAINING_CONDITIONS:
        metadata["stress"] = {"conditions": conditions.name, "toms": toms,
                              "tom_strokes": sum(1 for event in events if event.piece in TOMS),
                              **recording_stress, "ranges": conditions.as_metadata()}
    if include_events:
        metadata["events"] = events_as_metadata(events)
    return RenderedSong(tracks, wet, dry, sample_rate, metadata)


def stroke_onsets(events: list[HitEvent], sample_rate: int) -> dict[str, np.ndarray]:
    """{close-mic slot: onset samples of its own drum's strokes} (int64 arrays, possibly empty)."""
    return {slot: np.array([int(round(event.time * sample_rate)) for event in events if event.piece == slot],
                           dtype=np.int64) for slot in CLOSE_MIC_SLOTS}


def _software_versions() -> dict[str, str]:
    versions = {}
    for package in ("tinysoundfont", "pedalboard", "numpy", "scipy", "pyloudnorm"):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions
