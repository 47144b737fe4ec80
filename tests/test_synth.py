"""The synthetic drum corpus renderer: kits, determinism, metadata, realism of tracks and mixes, corpus plans.

Songs here are a few seconds long; the soundfonts are Debian packages (`make data`), and the tests
that render are skipped with that reason where they are missing.
"""

import importlib.util
import json

import numpy as np
import pytest
from scipy import signal

from mixwave_hf.data.synth import CLASSIC_RECIPE, KITS, STYLES, plan_corpus, render_song, write_rendered_example
from mixwave_hf.data.synth.engineer import engineer_mix, integrated_loudness, stroke_regions
from mixwave_hf.data.synth.grooves import HitEvent
from mixwave_hf.data.synth.kits import ARTICULATIONS, KitNotInstalledError, kit_installed, soundfont_path
from mixwave_hf.data.synth.players import kit_player
from mixwave_hf.data.synth.recording import CLOSE_MIC_SLOTS
from mixwave_hf.data.synth.song import stroke_onsets
from mixwave_hf.resources import EXAMPLE_FILE_NAMES
from mixwave_hf.slots import DEFAULT_SLOTS

# tinysoundfont is installed with --no-deps (its pyaudio dependency does not build); `make venv` does it.
ALL_KITS_INSTALLED = all(kit_installed(kit) for kit in KITS) and importlib.util.find_spec("tinysoundfont") is not None
needs_kits = pytest.mark.skipif(not ALL_KITS_INSTALLED, reason="drum soundfonts or tinysoundfont not installed: "
                                "run `make data`")
SAMPLE_RATE = 44100
# Stroke audibility: energy above 1 kHz (the stick's attack, not the previous stroke's low ring) in
# the 10 ms after an onset against the 10 ms before it.
ONSET_WINDOW_SECONDS = 0.010
ONSET_HIGHPASS_HZ = 1000.0
AUDIBLE_STROKE_DB = 4.0


@pytest.fixture(scope="module")
def songs() -> dict[tuple[int, str, str], object]:
    """A short song per style, over all kits (rendered once for the module)."""
    if not ALL_KITS_INSTALLED:
        pytest.skip("drum soundfonts or tinysoundfont not installed: run `make data`")
    kits = sorted(KITS)
    return {(seed, kits[seed % len(kits)], style): render_song(seed, kits[seed % len(kits)], 6.0, style=style,
                                                               recipe="classic")
            for seed, style in enumerate(STYLES)}


def events_of(song) -> list[tuple[float, str, str, int]]:
    events = song.metadata["events"]
    return list(zip(events["time"], events["piece"], events["articulation"], events["velocity"], strict=True))


def energy_db(audio: np.ndarray, start: int, stop: int) -> float:
    return float(10 * np.log10(max(np.mean(audio[start:stop].astype(np.float64) ** 2), 1e-20)))


def stroke_audibility(song) -> tuple[list[tuple], int]:
    """(strokes that are not audible in their close mic, strokes too near the song's ends to check).

    A stroke is audible when the mic's energy above 1 kHz (the stick's attack rather than the low ring
    of what came before) in the 10 ms from its onset stands AUDIBLE_STROKE_DB above the 10 ms before.
    When other drums were struck just before (a kick a few ms ahead of the hi-hat), "before" is taken
    before the first of them. A hi-hat stroke that closes an open hi-hat may be quieter than the ring
    it cuts: it also counts as audible when it cuts that ring (energy 30-80 ms later 6 dB under the
    energy just before).
    """
    rate = song.sample_rate
    window = int(ONSET_WINDOW_SECONDS * rate)
    sos = signal.butter(2, ONSET_HIGHPASS_HZ, "high", fs=rate, output="sos")
    events = events_of(song)
    onsets = np.array([int(round(time * rate)) for time, *_ in events])
    silent, skipped = [], 0
    for slot in CLOSE_MIC_SLOTS:
        highpassed = signal.sosfilt(sos, song.tracks[slot])
        previous_hat = None
        for index, (time, piece, articulation, velocity) in enumerate(events):
            if piece != slot:
                continue
            onset = int(onsets[index])
            closes_open_hat, previous_hat = previous_hat == "open", articulation
            cluster = onsets[(onsets <= onset) & (onsets >= onset - window - int(0.002 * rate))]
            first = int(cluster.min())
            if first - window < 0 or onset + int(0.08 * rate) > len(highpassed):
                skipped += 1
                continue
            contrast = energy_db(highpassed, onset, onset + window) - energy_db(highpassed, first - window, first)
            if contrast >= AUDIBLE_STROKE_DB:
                continue
            ring_cut = (energy_db(highpassed, onset + int(0.03 * rate), onset + int(0.08 * rate))
                        - energy_db(highpassed, onset - window, onset))
            if not (closes_open_hat and ring_cut <= -6.0):
                silent.append((slot, time, articulation, velocity, round(contrast, 1)))
    return silent, skipped


@needs_kits
def test_every_kit_plays_every_articulation():
    for kit in KITS:
        player = kit_player(kit)
        for piece, articulations in ARTICULATIONS.items():
            for articulation in articulations:
                for velocity in (20, 127):
                    shot = player.one_shot(piece, articulation, velocity)
                    assert shot.dtype == np.float32 and len(shot) > 0.05 * SAMPLE_RATE, (kit, piece, articulation)
                    assert 1e-3 < np.abs(shot).max() < 2.0, (kit, piece, articulation, velocity)
        # Velocity is heard: a hard stroke is louder than a soft one.
        hard, soft = player.one_shot("snare", "hit", 127), player.one_shot("snare", "hit", 20)
        assert np.abs(hard).max() > 2 * np.abs(soft).max(), kit


@needs_kits
def test_render_is_deterministic():
    first = render_song(11, "avl_red_zeppelin", 3.0, recipe="classic")
    second = render_song(11, "avl_red_zeppelin", 3.0, recipe="classic")
    for slot in DEFAULT_SLOTS:
        np.testing.assert_array_equal(first.tracks[slot], second.tracks[slot])
    np.testing.assert_array_equal(first.wet_mix, second.wet_mix)
    np.testing.assert_array_equal(first.dry_mix, second.dry_mix)
    assert json.dumps(first.metadata, sort_keys=True) == json.dumps(second.metadata, sort_keys=True)
    other = render_song(12, "avl_red_zeppelin", 3.0, recipe="classic")
    assert not np.array_equal(first.tracks["snare"], other.tracks["snare"])
    # The same seed on another kit is the same performance.
    assert render_song(11, "fluid_jazz", 3.0, recipe="classic").metadata["events"] == first.metadata["events"]


@needs_kits
def test_shapes_and_metadata(songs):
    for (seed, kit, style), song in songs.items():
        length = int(round(6.0 * SAMPLE_RATE))
        assert song.sample_rate == SAMPLE_RATE
        assert list(song.tracks) == list(DEFAULT_SLOTS)
        for track in song.tracks.values():
            assert track.shape == (length,) and track.dtype == np.float32
        for mix in (song.wet_mix, song.dry_mix):
            assert mix.shape == (2, length) and mix.dtype == np.float32
        metadata = json.loads(json.dumps(song.metadata))  # JSON-serialisable, and survives the round trip
        assert (metadata["seed"], metadata["kit"], metadata["style"]) == (seed, kit, style)
        assert 60 <= metadata["bpm"] <= 180  # grooves.STYLE_TEMPI: a ballad may be as slow as 60
        for stage in ("groove", "recording", "engineer", "kit_spec", "events"):
            assert metadata[stage], stage
        assert all(abs(gain) <= 12 for gain in metadata["recording"]["input_gain_db"].values())


@needs_kits
def test_every_stroke_is_audible_in_its_close_mic(songs):
    checked = 0
    for key, song in songs.items():
        silent, skipped = stroke_audibility(song)
        strokes = sum(1 for event in events_of(song) if event[1] in CLOSE_MIC_SLOTS)
        assert not silent, (key, silent)
        assert skipped <= 0.1 * strokes, (key, skipped, strokes)
        checked += strokes - skipped
    assert checked > 150


@needs_kits
def test_tracks_are_recorded_at_plausible_levels(songs):
    # Mics are set so that a velocity-100 stroke of their loudest drum peaks at -12 dBFS, then get
    # ±12 dB: with soft players (strokes up to ~20 dB under that) and K-weighting (the kick loses its
    # lows), strokes measure -60 to -6 LUFS. A close mic whose drum is never played holds only bleed
    # and noise, 20-40 dB under that, as tom mics do between fills.
    for key, song in songs.items():
        played = set(song.metadata["stroke_counts"])
        for slot, track in song.tracks.items():
            peak = np.abs(track).max()
            assert 0 < peak < 1.0 and np.isfinite(track).all(), (key, slot)
            assert peak <= 10 ** (-1 / 20) + 1e-6, (key, slot)  # capped at -1 dBFS
            if slot in CLOSE_MIC_SLOTS and slot not in played:
                assert -85 < integrated_loudness(track, SAMPLE_RATE) < -25, (key, slot)
                continue
            if slot in CLOSE_MIC_SLOTS:  # measured on its own strokes, as the engineer does
                strokes = [int(round(event[0] * SAMPLE_RATE)) for event in events_of(song) if event[1] == slot]
                track = track[stroke_regions(np.array(strokes), len(track), int(0.4 * SAMPLE_RATE))]
            assert -60 < integrated_loudness(track, SAMPLE_RATE) < -6, (key, slot)


@needs_kits
def test_mixes_are_loud_below_full_scale_and_close_to_the_dry_balance(songs):
    frame = int(0.02 * SAMPLE_RATE)

    def envelope(mix: np.ndarray) -> np.ndarray:
        mono = mix.mean(axis=0)[: len(mix[0]) // frame * frame]
        return np.sqrt(np.mean(mono.reshape(-1, frame).astype(np.float64) ** 2, axis=1))

    for key, song in songs.items():
        for mix in (song.wet_mix, song.dry_mix):
            assert np.isfinite(mix).all() and 0.1 < np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-6, key
        assert -22 < integrated_loudness(song.wet_mix, SAMPLE_RATE) < -12, key
        # The engineer shapes the mix, but it keeps the dry mix's dynamics, balance and stereo picture.
        assert np.corrcoef(envelope(song.wet_mix), envelope(song.dry_mix))[0, 1] > 0.85, key
        for channel in range(2):
            assert np.corrcoef(song.wet_mix[channel], song.dry_mix[channel])[0, 1] > 0.5, (key, channel)
        balance = [integrated_loudness(mix[0], SAMPLE_RATE) - integrated_loudness(mix[1], SAMPLE_RATE)
                   for mix in (song.wet_mix, song.dry_mix)]
        assert abs(balance[0] - balance[1]) < 3.0, (key, balance)


@needs_kits
def test_engineer_mix_does_not_depend_on_input_gains():
    # Each track's level is measured on the track itself, so the gain it was recorded at cancels.
    song = render_song(5, "fluid_power", 3.0, recipe="classic")
    events = [HitEvent(*event) for event in events_of(song)]
    onsets = stroke_onsets(events, SAMPLE_RATE)
    regained = {slot: track * np.float32(10 ** (gain / 20)) for (slot, track), gain in
                zip(song.tracks.items(), (-9, 3, 7, -4, 0, 10, -12, 5), strict=True)}
    wet, dry, _ = engineer_mix(regained, onsets, SAMPLE_RATE)
    np.testing.assert_allclose(wet, song.wet_mix, atol=2e-4)
    np.testing.assert_allclose(dry, song.dry_mix, atol=2e-4)


def test_integrated_loudness_matches_pyloudnorm():
    pyloudnorm = pytest.importorskip("pyloudnorm")
    rng = np.random.default_rng(0)
    for seconds in (0.25, 2.37):  # a clip shorter than one 0.4 s block is measured as one block
        length = int(seconds * SAMPLE_RATE)
        audio = rng.standard_normal((2, length)) * np.linspace(0.001, 0.3, length)
        meter = pyloudnorm.Meter(SAMPLE_RATE, block_size=min(0.4, seconds))
        assert integrated_loudness(audio, SAMPLE_RATE) == pytest.approx(meter.integrated_loudness(audio.T), abs=1e-6)


def test_plan_corpus_splits_hold_out_the_test_kit():
    plans = plan_corpus(0.01, seed=3, recipe="classic")
    splits = {plan.split for plan in plans}
    assert splits == {"train", "validation", "test", "stress"}
    train_kits = {plan.kit for plan in plans if plan.split == "train"}
    test_kits = {plan.kit for plan in plans if plan.split == "test"}
    split_kits = CLASSIC_RECIPE.split_kits
    assert test_kits and not test_kits & train_kits and not set(split_kits["test"]) & set(split_kits["train"])
    assert len({plan.song_id for plan in plans}) == len(plans) == len({plan.seed for plan in plans})
    assert all(plan.kit in KITS and plan.seconds >= 10 for plan in plans)
    assert plan_corpus(0.01, seed=3, recipe="classic") == plans and plan_corpus(0.01, seed=4, recipe="classic") != plans

    larger = plan_corpus(2.0, seed=3, recipe="classic")
    hours = {split: sum(plan.seconds for plan in larger if plan.split == split) / 3600 for split in splits}
    assert hours["train"] == pytest.approx(1.6, abs=0.01) and hours["test"] == pytest.approx(0.2, abs=0.01)
    assert hours["stress"] == pytest.approx(0.2, abs=0.01)  # on top of the 2 hours asked
    assert all(20 <= plan.seconds <= 60 for plan in larger)
    assert {plan.kit for plan in larger if plan.split == "train"} == set(CLASSIC_RECIPE.split_kits["train"])
    # A larger corpus extends a smaller one: the same songs (up to the last one's length) come first.
    for split in splits:
        small = [(plan.song_id, plan.seed, plan.kit) for plan in plans if plan.split == split]
        assert [(plan.song_id, plan.seed, plan.kit) for plan in larger if plan.split == split][: len(small)] == small


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown kit 'cardboard'"):
        render_song(0, "cardboard", 1.0, recipe="classic")
    with pytest.raises(ValueError, match="seconds"):
        render_song(0, "fluid_standard", 0.0, recipe="classic")
    with pytest.raises(ValueError, match="seed"):
        render_song(-1, "fluid_standard", 1.0)
    with pytest.raises(ValueError, match="hours"):
        plan_corpus(0, seed=0)


def test_missing_soundfont_says_how_to_install(monkeypatch, tmp_path):
    from mixwave_hf.data.synth import kits

    monkeypatch.setattr(kits, "SOUNDFONT_DIR", tmp_path)
    monkeypatch.delenv(kits.SOUNDFONT_DIR_VARIABLE, raising=False)
    with pytest.raises(KitNotInstalledError, match="make data"):
        soundfont_path("avl_black_pearl")
    assert not kit_installed("fluid_standard")


@needs_kits
def test_write_rendered_example(tmp_path):
    from mixwave_hf.audio import read_audio

    paths = write_rendered_example(tmp_path, seconds=2.0)
    assert sorted(path.name for path in paths) == sorted([*EXAMPLE_FILE_NAMES.values(), "ATTRIBUTION.txt"])
    for name in EXAMPLE_FILE_NAMES.values():
        audio, rate = read_audio(tmp_path / name)
        assert audio.shape == (1, 2 * SAMPLE_RATE) and rate == SAMPLE_RATE and np.abs(audio).max() > 0
    attribution = (tmp_path / "ATTRIBUTION.txt").read_text()
    assert "CC-BY-SA-3.0" in attribution and "avldrums" in attribution and "seed=122" in attribution
