"""One song, end to end: groove -> dry pieces -> recorded tracks -> the engineer's wet and dry mixes.

    song = render_song(seed=7, kit="avl_black_pearl", seconds=30.0)  # RenderedSong: tracks, mixes, metadata
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from importlib import metadata as package_metadata

import numpy as np

from mixwave_hf.data.synth.conditions import TRAINING_CONDITIONS, Conditions, RoomConditions, draw_tom_playing
from mixwave_hf.data.synth.dry import CHOKED_PIECES, render_dry_pieces
from mixwave_hf.data.synth.engineer import ENGINEERS, engineer_mix
from mixwave_hf.data.synth.grooves import (
    TOMS,
    HitEvent,
    draw_groove,
    draw_playing,
    events_as_metadata,
    restrict_toms,
)
from mixwave_hf.data.synth.kits import kit_spec
from mixwave_hf.data.synth.players import kit_player
from mixwave_hf.data.synth.recipes import CLASSIC_RECIPE, DEFAULT_RECIPE, CorpusRecipe, corpus_recipe
from mixwave_hf.data.synth.recording import (
    CLOSE_MIC_SLOTS,
    draw_recording_params,
    draw_recording_stress,
    record_tracks,
    with_recording_stress,
)
from mixwave_hf.data.synth.room import draw_room_recording, record_in_room
from mixwave_hf.slots import DEFAULT_SLOTS


@dataclass
class RenderedSong:
    """A rendered song: the 8 recorded tracks (model inputs) and the engineer's mixes (targets)."""

    tracks: dict[str, np.ndarray]  # the 8 default slots -> [samples] float32 mono, recorded (input) tracks
    wet_mix: np.ndarray            # [2, samples] float32, the engineer's mix (target)
    dry_mix: np.ndarray            # [2, samples] float32, the same levels and pans without effects
    sample_rate: int
    metadata: dict                 # JSON-serialisable: seed, kit, style, bpm, every parameter of every stage


def render_song(seed: int, kit: str, seconds: float, sample_rate: int = 44100, *, style: str | None = None,
                include_events: bool = True, conditions: Conditions | RoomConditions | None = None,
                recipe: str | CorpusRecipe = DEFAULT_RECIPE) -> RenderedSong:
    """Render `seconds` of a drum performance on `kit` (a name in KITS), fully determined by the arguments.

    The seed drives independent streams: the performance (style, tempo, strokes), the recording
    (room, mic placement, noise, input gains), what only some conditions draw (toms barely or never
    played; for the classic recipe's stress conditions the overhead imbalance and stronger bleed,
    recorded in metadata["stress"]), and how the song is played (brushes, rods, crashes, ride-only:
    recipes that draw it). The same seed on another kit is the same performance recorded the same
    way. `style` (one of grooves.STYLES) overrides the drawn style. `recipe` (recipes.RECIPES) sets
    the recording model, the engineer and the perspective; `conditions` (default: its training
    conditions) the ranges. The metadata holds every parameter and, with `include_events`, every
    stroke. Uses one core; loads the kit's samples once per process.
    """
    recipe, conditions = _checked_arguments(seed, seconds, sample_rate, conditions, recipe)
    spec = kit_spec(kit)
    seed, sample_rate = int(seed), int(sample_rate)
    # spawn(4) gives the same first three streams as spawn(3) and spawn(2): older songs are unchanged.
    groove_stream, recording_stream, conditions_stream, playing_stream = np.random.SeedSequence(seed).spawn(4)
    conditions_rng = np.random.default_rng(conditions_stream)
    playing = draw_playing(np.random.default_rng(playing_stream)) if recipe.draws_playing else None
    groove, events = draw_groove(np.random.default_rng(groove_stream), float(seconds), style, playing)
    toms, keep_tom_strokes = draw_tom_playing(conditions_rng, conditions)
    if keep_tom_strokes is not None:
        events = restrict_toms(events, keep_tom_strokes, conditions_rng, float(seconds), groove.touch)
    player = kit_player(spec.name, sample_rate)
    stems = render_dry_pieces(player, events, int(round(seconds * sample_rate)), seed)
    recording_rng = np.random.default_rng(recording_stream)
    if recipe.in_room:
        room = draw_room_recording(recording_rng, conditions, recipe.perspective)
        tracks, peak_cap_db = record_in_room(stems, room, sample_rate)
        recording, extra, room_rt60_s = room.as_metadata(), {}, room.rt60_s
    else:
        tracks, peak_cap_db, recording, extra = _record_classic(stems, recording_rng, conditions_rng, conditions,
                                                                sample_rate)
        room_rt60_s = None
    wet, dry, engineer = engineer_mix(tracks, stroke_onsets(events, sample_rate), sample_rate,
                                      ENGINEERS[recipe.engineer], recipe.perspective, room_rt60_s)
    metadata = {
        "synth_version": recipe.synth_version,
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
        "recording": {**recording, "peak_cap_db": peak_cap_db},
        "engineer": engineer,
        "software": _software_versions(),
    }
    if recipe is not CLASSIC_RECIPE:  # the classic corpus's metadata stays as it was
        metadata.update(recipe=recipe.name, perspective=recipe.perspective, conditions=conditions.name, toms=toms,
                        tom_strokes=sum(1 for event in events if event.piece in TOMS),
                        playing=playing.as_metadata() if playing else None)
    elif conditions != TRAINING_CONDITIONS:
        metadata["stress"] = {"conditions": conditions.name, "toms": toms,
                              "tom_strokes": sum(1 for event in events if event.piece in TOMS),
                              **extra, "ranges": conditions.as_metadata()}
    if include_events:
        metadata["events"] = events_as_metadata(events)
    return RenderedSong(tracks, wet, dry, sample_rate, metadata)


def _checked_arguments(seed: int, seconds: float, sample_rate: int, conditions: Conditions | RoomConditions | None,
                       recipe: str | CorpusRecipe) -> tuple[CorpusRecipe, Conditions | RoomConditions]:
    """(the recipe, the conditions: given, or the recipe's training ones); ValueError naming a bad argument."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed {seed!r}; expected a non-negative integer")
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds {seconds!r}; expected a positive number of seconds")
    if not (isinstance(sample_rate, (int, np.integer)) and 8000 <= sample_rate <= 192000):
        raise ValueError(f"sample rate {sample_rate!r}; expected an integer in 8000-192000 Hz")
    recipe = corpus_recipe(recipe)
    conditions = recipe.split_conditions["train"] if conditions is None else conditions
    if isinstance(conditions, RoomConditions) != recipe.in_room:
        raise ValueError(f"conditions {conditions.name!r} do not go with recipe {recipe.name!r}; expected "
                         f"{type(recipe.split_conditions['train']).__name__}")
    return recipe, conditions


def _record_classic(stems: dict[str, np.ndarray], recording_rng: np.random.Generator,
                    conditions_rng: np.random.Generator, conditions: Conditions, sample_rate: int) -> tuple:
    """(tracks, peak-cap dB, recording metadata, stress draws): the first recording model. The stress
    draws (overhead imbalance, stronger bleed) apply only under other than the training conditions."""
    recording = draw_recording_params(recording_rng, conditions)
    recording_stress = draw_recording_stress(conditions_rng, conditions)
    if conditions != TRAINING_CONDITIONS:
        recording = with_recording_stress(recording, recording_stress)
    tracks, peak_cap_db = record_tracks(stems, recording, sample_rate)
    return tracks, peak_cap_db, recording.as_metadata(), recording_stress


def stroke_onsets(events: list[HitEvent], sample_rate: int) -> dict[str, np.ndarray]:
    """{close-mic slot: onset samples of its own drum's strokes} (int64 arrays, possibly empty). Brush
    sweeps are left out: a continuous swish is no stroke to set a fader by."""
    return {slot: np.array([int(round(event.time * sample_rate)) for event in events
                            if event.piece == slot and event.articulation != "brush_sweep"], dtype=np.int64)
            for slot in CLOSE_MIC_SLOTS}


def _software_versions() -> dict[str, str]:
    versions = {}
    for package in ("tinysoundfont", "pedalboard", "numpy", "scipy", "pyloudnorm"):
        try:
            versions[package] = package_metadata.version(package)
        except package_metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions
