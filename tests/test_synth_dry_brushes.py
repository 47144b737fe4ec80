"""The dry render of brush strokes: sweeps last until the next; what a kit does not sample is made from its snare.

Approximated taps and sweeps must be audible, seeded by the song and well under a stick hit; a kit
that samples brushes plays its samples.
"""

import dataclasses

import numpy as np
import pytest

from mixwave_hf.data.synth.dry import SWEEP_MAX_SECONDS, SWEEP_STRETCH, render_dry_pieces
from mixwave_hf.data.synth.grooves import HitEvent
from mixwave_hf.data.synth.kits import ARTICULATIONS, KITS, KitSpec, Note, SoundfontPlayer, kit_installed
from mixwave_hf.data.synth.players import kit_player

SAMPLE_RATE = 44100
needs_kits = pytest.mark.skipif(not all(kit_installed(kit) for kit in ("avl_black_pearl", "avl_red_zeppelin",
                                                                        "fluid_standard", "fluid_brush")),
                                reason="drum soundfonts or tinysoundfont not installed: run `make data`")


class FakePlayer:
    """A KitPlayer stand-in: every one-shot a decaying noisy 200 Hz tone, its peak proportional to velocity."""

    sample_rate = SAMPLE_RATE

    def __init__(self, brush_notes: bool = False):
        brushes = {"brush_tap": Note(38), "brush_sweep": Note(40)} if brush_notes else {}
        notes = {piece: {art: Note(60) for art in arts} for piece, arts in ARTICULATIONS.items()}
        notes["snare"].update(brushes)
        self.spec = KitSpec("fake", "fake.sf2", 0, 0, "", "", "", notes)

    def one_shot(self, piece: str, articulation: str, velocity: int) -> np.ndarray:
        seconds = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
        tone = np.sin(2 * np.pi * 200 * seconds) + 0.3 * np.random.default_rng(len(articulation)).standard_normal(
            seconds.size)
        shot = tone * np.exp(-seconds / 0.05)
        return (shot / np.abs(shot).max() * 0.5 * velocity / 100).astype(np.float32)


def sweeps(times, velocity=80) -> list[HitEvent]:
    return [HitEvent(time, "snare", "brush_sweep", velocity) for time in times]


def rms_db(audio: np.ndarray) -> float:
    return float(10 * np.log10(max(np.mean(audio.astype(np.float64) ** 2), 1e-20)))


@pytest.mark.parametrize("sampled", [False, True])
def test_a_sweep_lasts_until_the_next(sampled):
    player, rate = FakePlayer(brush_notes=sampled), SAMPLE_RATE
    times = (0.1, 0.6, 1.1, 1.8)
    stem = render_dry_pieces(player, sweeps(times), 4 * rate, seed=3)["snare"]
    window = int(0.02 * rate)
    for start, stop in zip(times, times[1:], strict=False):
        middle = int((start + stop) / 2 * rate)
        assert rms_db(stem[middle - window: middle + window]) > -60, (start, stop)
        if not sampled:  # an approximated sweep fades out exactly as the next begins
            before_next = stem[int(stop * rate) - int(0.003 * rate): int(stop * rate)]
            assert rms_db(before_next) < rms_db(stem[middle - window: middle + window]) - 20, (start, stop)
    # The last sweep lasts SWEEP_STRETCH times the gap before it (0.7 s), then silence.
    end = int((1.8 + SWEEP_STRETCH * 0.7) * rate) + int(0.03 * rate)
    assert rms_db(stem[int(1.8 * rate) + window: end - int(0.05 * rate)]) > -60
    assert not np.any(stem[end:])
    lone = render_dry_pieces(player, sweeps([0.1]), 6 * rate, seed=3)["snare"]
    assert not np.any(lone[int((0.1 + SWEEP_MAX_SECONDS + 0.03) * rate):])


def test_brush_noise_is_seeded_per_song_and_other_strokes_ignore_the_seed():
    player = FakePlayer()
    events = sweeps([0.1, 0.5]) + [HitEvent(0.3, "snare", "brush_tap", 70)]
    first = render_dry_pieces(player, events, SAMPLE_RATE, seed=7)["snare"]
    assert np.array_equal(first, render_dry_pieces(player, events, SAMPLE_RATE, seed=7)["snare"])
    assert not np.array_equal(first, render_dry_pieces(player, events, SAMPLE_RATE, seed=8)["snare"])
    sticks = [HitEvent(0.1, "snare", "hit", 90), HitEvent(0.2, "hihat", "open", 80),
              HitEvent(0.3, "hihat", "pedal", 70)]
    stems = [render_dry_pieces(player, sticks, SAMPLE_RATE, seed=seed) for seed in (0, 5)]
    assert all(np.array_equal(stems[0][piece], stems[1][piece]) for piece in stems[0])
    with pytest.raises(ValueError, match="seed -1; expected a non-negative integer"):
        render_dry_pieces(player, sticks, SAMPLE_RATE, seed=-1)


@needs_kits
@pytest.mark.parametrize("kit", ["avl_black_pearl", "avl_red_zeppelin", "fluid_standard"])
def test_approximated_brushes_are_soft_short_and_not_silent(kit):
    player, rate = kit_player(kit), SAMPLE_RATE
    assert not player.spec.has_note("snare", "brush_tap")
    onset = int(0.1 * rate)
    stems = {articulation: render_dry_pieces(player, [HitEvent(0.1, "snare", articulation, 90)], rate,
                                             seed=1)["snare"] for articulation in ("hit", "brush_tap", "brush_sweep")}
    hit, tap, sweep = stems["hit"], stems["brush_tap"], stems["brush_sweep"]
    assert np.abs(tap).max() == pytest.approx(np.abs(hit).max(), rel=1e-4)  # a tap peaks as the hit
    assert not np.allclose(tap, hit)
    after = slice(onset + int(0.2 * rate), onset + int(0.4 * rate))  # the body rings shorter
    assert rms_db(tap[after]) < rms_db(hit[after]) - 10
    sweep_peak_db = 20 * np.log10(np.abs(sweep).max())
    assert -60 < sweep_peak_db < 20 * np.log10(np.abs(hit).max()) - 15
    assert rms_db(sweep[onset + int(0.3 * rate): onset + int(0.5 * rate)]) > -70  # a sweep, not a hit


@needs_kits
def test_a_kit_that_samples_brushes_plays_its_samples():
    spec = KITS["fluid_brush"]
    if spec.has_note("snare", "brush_sweep"):
        sampled_spec = spec
    else:  # GM brush kit: note 38 is the brush tap, 40 the swirl (the longest, noise-like note)
        notes = {**spec.notes, "snare": {**spec.notes["snare"], "brush_tap": Note(38), "brush_sweep": Note(40)}}
        sampled_spec = dataclasses.replace(spec, name="fluid_brush_sampled", notes=notes)
    player, rate = SoundfontPlayer(sampled_spec, SAMPLE_RATE), SAMPLE_RATE
    onset, length = int(0.1 * rate), int(0.05 * rate)
    tap = render_dry_pieces(player, [HitEvent(0.1, "snare", "brush_tap", 70)], rate, seed=1)["snare"]
    np.testing.assert_array_equal(tap[onset:onset + length], player.one_shot("snare", "brush_tap", 70)[:length])
    sweep = render_dry_pieces(player, sweeps([0.1], velocity=70), 2 * rate, seed=1)["snare"]
    shot = player.one_shot("snare", "brush_sweep", 70)[:length]
    gain = sweep[onset:onset + length] @ shot / (shot @ shot)
    np.testing.assert_allclose(sweep[onset:onset + length], gain * shot, atol=1e-6)
    hit_peak = np.abs(player.one_shot("snare", "hit", 70)).max()
    assert np.abs(sweep).max() < hit_peak * 10 ** (-15 / 20)
