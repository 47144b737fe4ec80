"""Bleed-aware levelling (bleed.py, audio.measure_levelling "bleed_aware") on rendered sessions: toms never
struck are found to hold only bleed, barely struck toms are levelled on their strokes, played drums are never
taken for bleed, and no decision depends on the tracks' gains."""

import functools

import numpy as np
import pytest
import torch

from mixwave_hf.bleed import MicStrokes, mic_role, own_strokes
from mixwave_hf.data.synth import KITS, kit_installed, render_song
from mixwave_hf.data.synth.conditions import (
    SESSION_CONDITIONS,
    SESSION_STRESS_CONDITIONS,
    STRESS_CONDITIONS,
    TOM_PLAYING,
    draw_tom_playing,
)
from mixwave_hf.data.synth.engineer import TRACK_LOUDNESS_LUFS
from mixwave_hf.demo.results import static_balance
from mixwave_hf.loudness import BLEED_ONLY_DB, measure_levelling, track_level
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.slots import DEFAULT_SLOTS

needs_kits = pytest.mark.skipif(not all(kit_installed(kit) for kit in KITS),
                                reason="drum soundfonts or tinysoundfont not installed: run `make data`")
TOMS = ("tom_1", "tom_2", "tom_3")
TARGET_LUFS = -30.0
SECONDS = 15.0
#: (conditions, recipe, kit) by a short name
RENDERS = {"session": (SESSION_CONDITIONS, "session", "avl_black_pearl"),
           "session_stress": (SESSION_STRESS_CONDITIONS, "session", "avl_red_zeppelin"),
           "classic_stress": (STRESS_CONDITIONS, "classic", "avl_red_zeppelin")}


@functools.cache
def seeds_by_tom_playing(name: str, count: int = 40) -> dict[str, list[int]]:
    """Song seeds under RENDERS[name]'s conditions by how their toms are played (the draw render_song makes)."""
    found: dict[str, list[int]] = {playing: [] for playing in TOM_PLAYING}
    for seed in range(count):
        conditions_stream = np.random.SeedSequence(seed).spawn(4)[2]
        found[draw_tom_playing(np.random.default_rng(conditions_stream), RENDERS[name][0])[0]].append(seed)
    return found


@functools.cache
def song(name: str, seed: int):
    conditions, recipe, kit = RENDERS[name]
    return render_song(seed, kit, SECONDS, conditions=conditions, recipe=recipe)


def levelling(rendered, method: str = "bleed_aware"):
    tracks = np.stack([rendered.tracks[slot] for slot in DEFAULT_SLOTS])
    return measure_levelling(tracks, rendered.sample_rate, method, TARGET_LUFS, DEFAULT_SLOTS)


def own_stroke_counts(rendered) -> dict[str, int]:
    """Strokes per close-mic slot that the synthetic engineer sets its fader by (brush sweeps are not strokes)."""
    events = rendered.metadata["events"]
    return {slot: sum(piece == slot and articulation != "brush_sweep"
                      for piece, articulation in zip(events["piece"], events["articulation"], strict=True))
            for slot in DEFAULT_SLOTS[:6]}


@needs_kits
@pytest.mark.parametrize("name", list(RENDERS))
def test_toms_never_struck_hold_only_bleed_and_are_levelled_30_db_under(name):
    rendered = song(name, seeds_by_tom_playing(name)["never"][0])
    assert not any(own_stroke_counts(rendered)[tom] for tom in TOMS)
    found, before = levelling(rendered), levelling(rendered, "close_strokes")
    for tom in TOMS:
        index = DEFAULT_SLOTS.index(tom)
        assert found.verdicts[index] == "bleed_only", (name, tom)
        assert found.gains_db[index] == pytest.approx(before.gains_db[index] - BLEED_ONLY_DB)


@needs_kits
@pytest.mark.parametrize("name", list(RENDERS))
def test_barely_struck_toms_are_played_and_levelled_on_their_strokes_as_the_engineer_does(name):
    """1-2 strokes in the song: played, and within 3 dB of the synthetic engineer's gain (which measures
    the 0.4 s after the true strokes, to -20 LUFS); close_strokes lifts them by about 6 dB more."""
    rendered = song(name, seeds_by_tom_playing(name)["barely"][0])
    counts, found = own_stroke_counts(rendered), levelling(rendered)
    engineer = rendered.metadata["engineer"]["level_db"]
    struck = [tom for tom in TOMS if counts[tom]]
    assert struck and all(counts[tom] <= 2 for tom in TOMS)
    for tom in struck:
        index = DEFAULT_SLOTS.index(tom)
        assert found.verdicts[index] == "played", (name, tom)
        assert 1 <= len(found.stroke_onsets[index]) <= 3
        assert found.gains_db[index] - engineer[tom] == pytest.approx(TARGET_LUFS - TRACK_LOUDNESS_LUFS, abs=3.0)


@needs_kits
def test_played_drums_are_never_taken_for_bleed():
    """Six songs (two played with brushes): no close mic whose drum is struck is found to hold only bleed."""
    songs = ([song("session", seed) for seed in seeds_by_tom_playing("session")["normal"][:4]]
             + [song("session_stress", seed) for seed in seeds_by_tom_playing("session_stress")["normal"][1:3]])
    assert sum(each.metadata["playing"]["implement"] == "brushes" for each in songs) >= 2
    for rendered in songs:
        found = levelling(rendered)
        for slot, count in own_stroke_counts(rendered).items():
            verdict = found.verdicts[DEFAULT_SLOTS.index(slot)]
            if count:
                assert verdict != "bleed_only", (rendered.metadata["seed"], slot, count)
            if slot in ("kick", "snare"):
                assert verdict == "played", (rendered.metadata["seed"], slot)


@needs_kits
def test_decisions_do_not_depend_on_the_tracks_gains():
    """Tracks at -20 LUFS, then gains of up to ±24 dB: the same verdicts and strokes, the gains shifted by
    exactly the dB applied (BS.1770's -70 LUFS gate, which silence falls under, kept out of reach)."""
    rendered = song("session_stress", seeds_by_tom_playing("session_stress")["barely"][1])
    tracks = np.stack([rendered.tracks[slot] for slot in DEFAULT_SLOTS])
    levels = np.array([track_level(track, rendered.sample_rate, "strokes") for track in tracks])
    tracks *= (10 ** ((-20.0 - levels) / 20)).astype(np.float32)[:, None]
    applied = np.random.default_rng(0).uniform(-24.0, 24.0, len(DEFAULT_SLOTS))
    found = measure_levelling(tracks, rendered.sample_rate, "bleed_aware", TARGET_LUFS, DEFAULT_SLOTS)
    regained = measure_levelling(tracks * (10 ** (applied / 20)).astype(np.float32)[:, None], rendered.sample_rate,
                                 "bleed_aware", TARGET_LUFS, DEFAULT_SLOTS)
    assert regained.verdicts == found.verdicts
    assert {"played", "bleed_only"} <= set(found.verdicts)
    for before, after in zip(found.stroke_onsets, regained.stroke_onsets, strict=True):
        np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(regained.gains_db, found.gains_db - applied, atol=1e-3)


@needs_kits
def test_mix_tracks_reports_the_tracks_of_bleed_only():
    rendered = song("session", seeds_by_tom_playing("session")["never"][0])
    torch.manual_seed(0)
    model = MixWaveUNet(levels=3, base_channels=3, levelling="bleed_aware", output_init="balance").eval()
    mixed = mix_tracks(model, rendered.tracks, rendered.sample_rate)
    assert mixed.bleed_only == TOMS
    for tom in TOMS:
        assert f"{tom}: holds only bleed, no strokes of its own: levelled 30 dB under the played tracks" \
            in mixed.warnings
    expected = levelling(rendered)
    assert mixed.input_gains_db == {slot: pytest.approx(gain, abs=0.01) for slot, gain
                                    in zip(DEFAULT_SLOTS, expected.gains_db, strict=True)}
    table = static_balance(model, mixed, rendered.tracks).set_index("track")
    assert table.loc["tom_2", "levelling (dB)"] == f"{mixed.input_gains_db['tom_2']:+.1f}, bleed only"
    assert table.loc["kick", "levelling (dB)"] == mixed.input_gains_db["kick"]
    other = mix_tracks(MixWaveUNet(levels=3, base_channels=3, levelling="close_strokes"), rendered.tracks,
                       rendered.sample_rate)
    assert other.bleed_only == () and not any("bleed" in warning for warning in other.warnings)


def test_roles_and_what_cannot_be_compared():
    assert [mic_role(name) for name in ("kick", "snare", "hihat", "tom_1", "floor_tom", "ride")] == \
        ["kick", "drum", "cymbal", "tom", "tom", "cymbal"]
    one = np.random.default_rng(0).standard_normal((1, 44_100)).astype(np.float32)
    assert [each.verdict for each in own_strokes(one, 44_100, ["tom_1"])] == ["unsure"]
    silent = own_strokes(np.zeros((2, 44_100), np.float32), 44_100, ["tom_1", "tom_2"])
    assert all(isinstance(each, MicStrokes) and each.verdict == "unsure" for each in silent)
    with pytest.raises(ValueError, match="one name per mic"):
        own_strokes(np.zeros((2, 100), np.float32), 44_100, ["kick"])
