"""The stress split of the synthetic corpus: conditions outside the training ranges, rendered beside test.

Training conditions must render exactly what they rendered before conditions existed (pinned below);
stress conditions must reach outside the training ranges; the split is planned, built and read like test.
"""

import hashlib
import json

import numpy as np
import pytest

from mixwave_hf.cli import main
from mixwave_hf.data.synth import (
    CLASSIC_RECIPE,
    KITS,
    STRESS_CONDITIONS,
    TRAINING_CONDITIONS,
    kit_installed,
    plan_corpus,
    render_song,
)
from mixwave_hf.data.synth import corpus as corpus_module
from mixwave_hf.data.synth.conditions import draw_tom_playing
from mixwave_hf.data.synth.grooves import TOMS, HitEvent, restrict_toms
from mixwave_hf.data.synth.recording import (
    CLOSE_MIC_SLOTS,
    OVERHEAD_SLOTS,
    draw_recording_params,
    draw_recording_stress,
    with_recording_stress,
)

ALL_KITS_INSTALLED = all(kit_installed(kit) for kit in KITS)
needs_kits = pytest.mark.skipif(not ALL_KITS_INSTALLED, reason="drum soundfonts or tinysoundfont not installed: "
                                "run `make data`")
SAMPLE_RATE = 44100
# render_song(11, "avl_red_zeppelin", 2.0, recipe="classic") before conditions existed: a digest of its groove, events,
# recording parameters and stroke counts, and each track's RMS.
PINNED_METADATA_SHA256 = "b9bd4c34436707c10c5029123edc3223efb2579d0b10b68796a95d80f7aaba1e"
PINNED_TRACK_RMS = {
    "kick": 0.07833623089042016, "snare": 0.007317741168692356, "hihat": 0.09881025559368038,
    "tom_1": 0.00555537337540307, "tom_2": 0.006020299878288158, "tom_3": 0.0036045089259938773,
    "overhead_L": 0.020886236022621293, "overhead_R": 0.020401000476447807,
}


def seeds_by_tom_playing(count: int = 40) -> dict[str, list[int]]:
    """Song seeds under stress conditions, by how their toms are played (the draw render_song makes)."""
    found: dict[str, list[int]] = {"normal": [], "barely": [], "never": []}
    for seed in range(count):
        conditions_stream = np.random.SeedSequence(seed).spawn(3)[2]
        found[draw_tom_playing(np.random.default_rng(conditions_stream), STRESS_CONDITIONS)[0]].append(seed)
    return found


def energy_db(audio: np.ndarray) -> float:
    return float(10 * np.log10(max(np.mean(audio.astype(np.float64) ** 2), 1e-20)))


@needs_kits
def test_training_conditions_render_as_before():
    song = render_song(11, "avl_red_zeppelin", 2.0, recipe="classic")
    metadata = {key: song.metadata[key] for key in ("groove", "events", "recording", "stroke_counts")}
    assert hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest() == PINNED_METADATA_SHA256
    rms = {slot: float(np.sqrt(np.mean(track.astype(np.float64) ** 2))) for slot, track in song.tracks.items()}
    assert rms == pytest.approx(PINNED_TRACK_RMS, rel=1e-5)
    assert "stress" not in song.metadata
    explicit = render_song(11, "avl_red_zeppelin", 2.0, conditions=TRAINING_CONDITIONS, recipe="classic")
    for slot in song.tracks:
        np.testing.assert_array_equal(explicit.tracks[slot], song.tracks[slot])


def test_stress_recordings_reach_outside_the_training_ranges():
    gains, rt60, imbalances, cuts = [], [], [], []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        params = draw_recording_params(rng, STRESS_CONDITIONS)
        stress = draw_recording_stress(rng, STRESS_CONDITIONS)
        stressed = with_recording_stress(params, stress)
        gains += params.input_gain_db.values()
        rt60.append(params.room_tail_rt60_s)
        sides = [side for side, gain in stress["overhead_imbalance_db"].items() if gain]
        assert len(sides) == 1  # an extra gain on one overhead
        imbalances.append(stress["overhead_imbalance_db"][sides[0]])
        for side in OVERHEAD_SLOTS:
            expected = params.input_gain_db[side] + stress["overhead_imbalance_db"][side]
            assert stressed.input_gain_db[side] == pytest.approx(expected, abs=0.011)
        cuts.append(stress["rejection_cut_db"])
        for mic in CLOSE_MIC_SLOTS:
            for piece, level in params.bleed_db[mic].items():
                added = 0.0 if piece == mic else stress["rejection_cut_db"]
                assert stressed.bleed_db[mic][piece] == pytest.approx(level + added, abs=0.011)
    assert max(abs(gain) for gain in gains) > 20 and max(abs(gain) for gain in gains) <= 24
    assert min(rt60) >= 0.8 and max(rt60) <= 1.4  # training: 0.25-0.6 s
    assert max(abs(gain) for gain in imbalances) > 10 and max(abs(gain) for gain in imbalances) <= 12
    assert min(imbalances) < 0 < max(imbalances)
    assert min(cuts) >= 6 and max(cuts) <= 10
    # Training conditions draw nothing extra and change nothing.
    rng = np.random.default_rng(0)
    assert draw_recording_stress(rng, TRAINING_CONDITIONS) == {
        "overhead_imbalance_db": {"overhead_L": 0.0, "overhead_R": 0.0}, "rejection_cut_db": 0.0}
    assert rng.random() == np.random.default_rng(0).random()
    assert draw_tom_playing(rng, TRAINING_CONDITIONS) == ("normal", None)


def test_a_third_of_stress_songs_barely_play_their_toms_and_a_third_never():
    found = seeds_by_tom_playing(600)
    for name in ("normal", "barely", "never"):
        assert 150 < len(found[name]) < 250, (name, len(found[name]))


def test_restrict_toms_keeps_the_rhythm():
    events = [HitEvent(0.1 * index, piece, "hit", 90)
              for index, piece in enumerate(["kick", "tom_1", "snare", "tom_2", "tom_2", "tom_3", "kick"])]
    never = restrict_toms(events, 0, np.random.default_rng(0), 1.0)
    assert not [event for event in never if event.piece in TOMS]
    assert [event.time for event in never] == [event.time for event in events]  # the fills move to the snare
    barely = restrict_toms(events, 2, np.random.default_rng(0), 1.0)
    assert sum(event.piece in TOMS for event in barely) == 2 and len(barely) == len(events)
    added = restrict_toms([HitEvent(0.2, "kick", "hit", 90)], 2, np.random.default_rng(0), 3.0)
    assert sum(event.piece in TOMS for event in added) == 2 and all(0 < event.time < 3.0 for event in added)
    assert added == sorted(added, key=lambda event: event.time)


@needs_kits
def test_stress_songs_with_toms_barely_or_never_played():
    found = seeds_by_tom_playing()
    for toms in ("never", "barely"):
        song = render_song(found[toms][0], "avl_red_zeppelin", 3.0, conditions=STRESS_CONDITIONS, recipe="classic")
        stress = song.metadata["stress"]
        assert stress["conditions"] == "stress" and stress["toms"] == toms
        tom_strokes = sum(song.metadata["stroke_counts"].get(tom, 0) for tom in TOMS)
        assert tom_strokes == stress["tom_strokes"]
        assert tom_strokes == 0 if toms == "never" else 1 <= tom_strokes <= 2
        # Tom mics hear the other drums: louder just after the first snare or kick stroke than before it.
        events = song.metadata["events"]
        first = min(time for time, piece in zip(events["time"], events["piece"], strict=True)
                    if piece in ("snare", "kick"))
        onset, window = int(first * SAMPLE_RATE), int(0.03 * SAMPLE_RATE)
        lead_in = int(min(events["time"]) * SAMPLE_RATE) - int(0.002 * SAMPLE_RATE)
        for tom in TOMS:
            if tom in song.metadata["stroke_counts"]:
                continue
            track = song.tracks[tom]
            assert energy_db(track[onset : onset + window]) > energy_db(track[:lead_in]) + 10, (toms, tom)
        # The engineer still makes a sound mix.
        for mix in (song.wet_mix, song.dry_mix):
            assert np.isfinite(mix).all() and 0.05 < np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-6


def test_plan_corpus_adds_stress_on_the_test_kit_without_changing_other_splits(monkeypatch):
    plans = plan_corpus(0.5, seed=7, recipe="classic")
    stress = [plan for plan in plans if plan.split == "stress"]
    split_kits = CLASSIC_RECIPE.split_kits
    assert stress and {plan.kit for plan in stress} == set(split_kits["test"]) == set(split_kits["stress"])
    assert all(plan.conditions == STRESS_CONDITIONS for plan in stress)
    assert all(plan.conditions == TRAINING_CONDITIONS for plan in plans if plan.split != "stress")
    assert sum(plan.seconds for plan in stress) == pytest.approx(0.05 * 3600, abs=1)
    assert len([plan for plan in plan_corpus(0.001, seed=7, recipe="classic") if plan.split == "stress"]) == 1
    # The corpus as planned before the stress split existed: the same songs.
    monkeypatch.setattr(corpus_module, "CORPUS_SPLITS", ("train", "validation", "test"))
    before = corpus_module.plan_corpus(0.5, seed=7, recipe="classic")
    assert before == [plan for plan in plans if plan.split != "stress"]


@needs_kits
def test_build_synth_splits_adds_stress_to_a_built_corpus(tmp_path, capsys):
    from mixwave_hf.evaluate import dataset_songs

    out = tmp_path / "corpus"
    build = ["data", "build", "synth", str(out), "--hours", "0.001", "--seed", "3", "--workers", "1",
             "--train-shards", "1", "--segment-seconds", "10"]
    assert main([*build, "--splits", "train", "validation", "test"]) == 0
    shards = {path.name: path.read_bytes() for path in (out / "data").iterdir()}
    assert sorted(shards) == [f"{split}-00000-of-00001.parquet" for split in ("test", "train", "validation")]
    assert "data/stress-" not in (out / "README.md").read_text()
    capsys.readouterr()

    assert main([*build, "--splits", "stress"]) == 0
    printed = capsys.readouterr().out
    assert all(split in printed for split in ("train", "validation", "test", "stress"))
    for name, content in shards.items():  # the other splits are left as they were
        assert (out / "data" / name).read_bytes() == content
    card = (out / "README.md").read_text()
    assert "path: data/stress-*.parquet" in card and "| stress | 1 |" in card and "| train | 1 |" in card
    songs = list(dataset_songs(str(out), "stress"))
    assert [song.song_id for song in songs] == ["stress-00000"] and songs[0].reference.shape[0] == 2
    assert [song.song_id for song in dataset_songs(str(out), "test")] == ["test-00000"]

    assert main([*build, "--splits", "stress"]) == 1  # nothing is overwritten
    assert "not empty, it already holds the splits ['stress']" in capsys.readouterr().err
    assert main([*build[:3], str(tmp_path / "other"), *build[4:], "--splits", "bogus"]) == 1
    assert "expected one or more of ['train', 'validation', 'test', 'stress']" in capsys.readouterr().err
