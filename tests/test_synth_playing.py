"""How songs are played: sticks, brushes or rods; crashes or none; time on the hi-hat, the ride or both.

Grooves drawn without a Playing must be the grooves drawn before Playing existed (pinned below);
brush grooves sweep and tap the snare; rods and brushes play softer.
"""

import dataclasses
import hashlib
import json
from collections import Counter

import numpy as np
import pytest

from mixwave_hf.data.synth.grooves import (
    STYLES,
    TOMS,
    Playing,
    draw_groove,
    draw_playing,
    events_as_metadata,
    restrict_toms,
)
from mixwave_hf.data.synth.playing import IMPLEMENT_SHARES, IMPLEMENT_STYLES, TIMEKEEPING_SHARES

# The styles drawn before Playing existed, and a digest of draw_groove's parameters and events (then
# restrict_toms and the generator's next draw) over seeds 0-5 and every style, computed before the change.
CLASSIC_STYLES = (None, "rock", "funk", "shuffle", "half_time", "four_on_the_floor", "jazz")
PINNED_GROOVES_SHA256 = "c23b4c360e972369659bf8f17b4a41b5338e1a1ac1c30d8d5f6f3736cb58676e"


def grooves_digest(playing: Playing | None) -> str:
    payload = []
    for seed in range(6):
        for style in CLASSIC_STYLES:
            rng = np.random.default_rng(seed)
            params, events = draw_groove(rng, 12.0, style, playing) if playing else draw_groove(rng, 12.0, style)
            restricted = restrict_toms(events, seed % 3, rng, 12.0)
            payload.append({"params": params.as_metadata(), "events": events_as_metadata(events),
                            "restricted": events_as_metadata(restricted), "next": float(rng.random())})
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def played(implement: str, seeds=range(12), seconds: float = 16.0, **choices) -> list[tuple]:
    """(params, events) of songs drawn with Playing(implement, **choices)."""
    return [draw_groove(np.random.default_rng(seed), seconds, playing=Playing(implement, **choices)) for seed in seeds]


def test_grooves_without_playing_are_those_drawn_before():
    assert grooves_digest(None) == PINNED_GROOVES_SHA256
    assert grooves_digest(Playing()) == PINNED_GROOVES_SHA256  # sticks, crashes, mixed: the same draws


def test_draw_playing_draws_the_shares():
    drawn = [draw_playing(np.random.default_rng(seed)) for seed in range(3000)]
    assert drawn[:50] == [draw_playing(np.random.default_rng(seed)) for seed in range(50)]
    implements = Counter(playing.implement for playing in drawn)
    for implement, share in IMPLEMENT_SHARES.items():
        assert abs(implements[implement] / len(drawn) - share) < 0.03, implements
    timekeeping = Counter(playing.timekeeping for playing in drawn)
    for name, share in TIMEKEEPING_SHARES.items():
        assert abs(timekeeping[name] / len(drawn) - share) < 0.03, timekeeping
    assert 0.17 < sum(not playing.crashes for playing in drawn) / len(drawn) < 0.23
    assert json.loads(json.dumps(drawn[0].as_metadata())) == dataclasses.asdict(drawn[0])


def test_bad_playing_and_styles_are_named():
    with pytest.raises(ValueError, match="implement 'mallets'; expected one of"):
        Playing("mallets")
    with pytest.raises(ValueError, match="timekeeping 'cowbell'; expected one of"):
        Playing(timekeeping="cowbell")
    with pytest.raises(ValueError, match="style 'rock' played with brushes; expected one of"):
        draw_groove(np.random.default_rng(0), 4.0, "rock", Playing("brushes"))
    params, _ = draw_groove(np.random.default_rng(0), 4.0, "ballad", Playing())  # sticks play any style
    assert params.style == "ballad" and 60 <= params.bpm <= 85 and "ballad" in STYLES


def test_brush_grooves_sweep_and_tap_the_snare():
    styles = set()
    for params, events in played("brushes"):
        styles.add(params.style)
        snare = Counter(event.articulation for event in events if event.piece == "snare")
        assert set(snare) <= {"brush_sweep", "brush_tap"} and snare["brush_sweep"] and snare["brush_tap"], snare
        assert params.sweep_beats in (1, 2, 4) and 0.5 <= params.touch <= 0.7
        assert {"touch", "sweep_beats"} <= set(params.as_metadata())
        sweeps = np.array([event.time for event in events if event.articulation == "brush_sweep"])
        beats = np.diff(sweeps) * params.bpm / 60  # one sweep every sweep_beats beats, or a fill between two
        assert np.all(beats > params.sweep_beats - 0.1), (params, beats)
        assert np.median(beats) == pytest.approx(params.sweep_beats, abs=0.1)
        side_sticks = [event for event in events if event.articulation == "side_stick"]
        assert not side_sticks
    assert styles <= set(IMPLEMENT_STYLES["brushes"]) and len(styles) > 1, styles


def test_brushes_and_rods_play_softer_than_sticks():
    def mean_velocity(songs, pieces):
        return np.mean([event.velocity for _, events in songs for event in events if event.piece in pieces])

    sticks = played("sticks")
    for implement in ("brushes", "rods"):
        songs = played(implement)
        assert mean_velocity(songs, ("snare",)) < mean_velocity(sticks, ("snare",)) - 15, implement
        assert mean_velocity(songs, ("ride", "hihat")) < mean_velocity(sticks, ("ride", "hihat")) - 15, implement
    for params, events in played("rods"):
        assert params.style in IMPLEMENT_STYLES["rods"] and params.bpm <= 120 and params.sweep_beats == 0
        assert not any(event.articulation.startswith("brush_") for event in events)
        assert params.as_metadata()["touch"] == params.touch
    assert "touch" not in sticks[0][0].as_metadata()  # stick songs keep the metadata they had


@pytest.mark.parametrize("implement", ["sticks", "brushes", "rods"])
def test_no_crashes_keeps_the_downbeat_kick(implement):
    with_crashes = played(implement, timekeeping="mixed")
    without = played(implement, crashes=False)
    crash_times = [[event.time for event in events if event.piece.startswith("crash")] for _, events in with_crashes]
    assert sum(map(len, crash_times)) > 5
    for times, (_, events) in zip(crash_times, without, strict=True):
        assert not [event for event in events if event.piece.startswith("crash")]
        kicks = np.array([event.time for event in events if event.piece == "kick"])
        for time in times:  # the same performance otherwise: only jitter draws moved
            assert np.min(np.abs(kicks - time)) < 0.05, (implement, time)


@pytest.mark.parametrize("implement", ["sticks", "brushes", "rods"])
def test_ride_only_and_hihat_only(implement):
    for params, events in played(implement, timekeeping="ride_only"):
        hands_on_hat = [event for event in events if event.piece == "hihat" and event.articulation != "pedal"]
        assert not hands_on_hat, params.style
        assert sum(event.piece == "ride" for event in events) >= 8, params.style
    jazz = played(implement, timekeeping="hihat_only") + ([] if implement == "rods" else [
        draw_groove(np.random.default_rng(seed), 16.0, "jazz", Playing(implement, timekeeping="hihat_only"))
        for seed in range(4)])
    for params, events in jazz:
        assert not [event for event in events if event.piece == "ride"], params.style


def test_restrict_toms_keeps_brush_grooves_brushed():
    songs = [(params, events) for params, events in played("brushes", seeds=range(30))
             if sum(event.piece in TOMS for event in events) >= 2]
    assert songs
    for params, events in songs:
        rng = np.random.default_rng(0)
        never = restrict_toms(events, 0, rng, 16.0, touch=params.touch)
        assert not [event for event in never if event.piece in TOMS]
        assert {event.articulation for event in never if event.piece == "snare"} <= {"brush_sweep", "brush_tap"}
        assert len(never) == len(events)
        many = restrict_toms(events, 40, rng, 16.0, touch=params.touch)
        assert sum(event.piece in TOMS for event in many) == 40
        added = [event for event in many if event.piece in TOMS and event not in events]
        assert added and max(event.velocity for event in added) <= round(110 * params.touch)
