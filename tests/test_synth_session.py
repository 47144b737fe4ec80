"""The session recipe of the synthetic corpus: the room model, the light engineer, the perspective, and
the classic recipe still rendering what it rendered before.
"""

import hashlib
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mixwave_hf.data.synth import (
    CLASSIC_RECIPE,
    KITS,
    SESSION_RECIPE,
    STRESS_CONDITIONS,
    TRAINING_CONDITIONS,
    kit_installed,
    plan_corpus,
    render_song,
)
from mixwave_hf.data.synth.conditions import SESSION_CONDITIONS, SESSION_STRESS_CONDITIONS, draw_tom_playing
from mixwave_hf.data.synth.engineer import PANS, perspective_pans
from mixwave_hf.data.synth.room import draw_room_recording, image_source_responses, record_in_room
from mixwave_hf.loudness import crest_factor_db

SAMPLE_RATE = 44100
FINGERPRINTS = Path(__file__).parent / "data" / "classic_fingerprints.json"
needs_kits = pytest.mark.skipif(not all(kit_installed(kit) for kit in ("avl_black_pearl", "avl_red_zeppelin",
                                                                       "fluid_jazz")),
                                reason="drum soundfonts or tinysoundfont not installed: run `make data`")


@needs_kits
def test_the_classic_recipe_renders_what_it_rendered_before():
    # tests/data/classic_fingerprints.json: songs rendered before the session recipe existed (sums,
    # energies, 40 samples per array, and a digest of the metadata). Exact on the machine that wrote
    # them; a tolerance covers another CPU's float rounding.
    conditions = {"training": TRAINING_CONDITIONS, "stress": STRESS_CONDITIONS}
    for name, pinned in json.loads(FINGERPRINTS.read_text()).items():
        song = render_song(pinned["seed"], pinned["kit"], pinned["seconds"],
                           conditions=conditions[pinned["conditions"]], recipe="classic")
        arrays = {**{f"track {slot}": track for slot, track in song.tracks.items()},
                  "wet_mix": song.wet_mix, "dry_mix": song.dry_mix}
        expected = {**{f"track {slot}": print_ for slot, print_ in pinned["tracks"].items()},
                    "wet_mix": pinned["wet_mix"], "dry_mix": pinned["dry_mix"]}
        for key, array in arrays.items():
            index = np.linspace(0, array.shape[-1] - 1, 40).astype(int)
            total, energy = array.astype(np.float64).sum(), (array.astype(np.float64) ** 2).sum()
            assert total == pytest.approx(expected[key]["sum"], rel=1e-5, abs=1e-4), (name, key)
            assert energy == pytest.approx(expected[key]["sumsq"], rel=1e-5), (name, key)
            np.testing.assert_allclose(array[..., index], expected[key]["samples"], atol=1e-6, err_msg=f"{name} {key}")
        metadata = {key: value for key, value in song.metadata.items() if key != "software"}
        assert "recipe" not in metadata and metadata["synth_version"] == 1
        digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode()).hexdigest()
        assert digest == pinned["metadata_sha256"], name


def test_a_nearer_mic_hears_a_source_louder_and_earlier():
    params = draw_room_recording(np.random.default_rng(3), SESSION_CONDITIONS, "drummer")
    snare = np.array(params.positions["snare"])
    near, far = snare + [0.0, 0.0, 0.5], snare + [0.0, 0.0, 1.5]
    moved = replace(params, mic_positions={**params.mic_positions, "overhead_L": near.tolist(),
                                           "overhead_R": far.tolist()},
                    mic_aims={**params.mic_aims, "overhead_L": [0.0, 0.0, -1.0], "overhead_R": [0.0, 0.0, -1.0]},
                    mic_pattern={**params.mic_pattern, "overhead_L": 1.0, "overhead_R": 1.0})
    responses = image_source_responses(moved, ["snare"], SAMPLE_RATE)
    near_response, far_response = responses[("overhead_L", "snare")], responses[("overhead_R", "snare")]
    near_peak, far_peak = int(np.argmax(np.abs(near_response))), int(np.argmax(np.abs(far_response)))
    assert near_peak == pytest.approx(0.5 / 343 * SAMPLE_RATE, abs=2)
    assert far_peak == pytest.approx(1.5 / 343 * SAMPLE_RATE, abs=2)
    # Direct sound falls as 1/distance (0 dB at 5 cm): 3x further is ~9.5 dB quieter.
    ratio_db = 20 * math.log10(np.abs(near_response).max() / np.abs(far_response).max())
    assert ratio_db == pytest.approx(20 * math.log10(3), abs=1.0)
    # A cardioid aimed away from the source hears it far less than one aimed at it.
    turned = replace(moved, mic_pattern={**moved.mic_pattern, "overhead_L": 0.5},
                     mic_aims={**moved.mic_aims, "overhead_L": [0.0, 0.0, 1.0]})
    away = image_source_responses(turned, ["snare"], SAMPLE_RATE)[("overhead_L", "snare")]
    assert np.abs(away[: near_peak + 3]).max() < 0.1 * np.abs(near_response).max()


def test_room_recordings_hold_bleed_a_decorrelated_pair_and_capped_peaks():
    rng = np.random.default_rng(0)
    length = 3 * SAMPLE_RATE
    stems = {piece: np.zeros(length, np.float32) for piece in
             ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "crash_1", "crash_2", "ride")}
    for piece, onset in (("snare", 0.5), ("crash_1", 1.0), ("hihat", 1.5)):
        start = int(onset * SAMPLE_RATE)
        stems[piece][start: start + 20000] = (rng.standard_normal(20000) * np.exp(-np.arange(20000) / 3000)
                                              ).astype(np.float32) * 0.5
    params = draw_room_recording(np.random.default_rng(5), SESSION_CONDITIONS, "audience")
    tracks, peak_cap_db = record_in_room(stems, params, SAMPLE_RATE)
    again, _ = record_in_room(stems, params, SAMPLE_RATE)
    for slot, track in tracks.items():
        assert track.dtype == np.float32 and track.shape == (length,)
        assert np.abs(track).max() <= 10 ** (-1 / 20) + 1e-6 and peak_cap_db[slot] <= 0
        np.testing.assert_array_equal(track, again[slot])
    snare_at = slice(int(0.5 * SAMPLE_RATE), int(0.7 * SAMPLE_RATE))
    noise_at = slice(int(2.8 * SAMPLE_RATE), 3 * SAMPLE_RATE)
    for slot in ("tom_1", "hihat"):  # the snare bleeds into the mics around it, far above their noise
        track = tracks[slot]
        assert np.sqrt(np.mean(track[snare_at] ** 2)) > 10 * np.sqrt(np.mean(track[noise_at] ** 2)), slot
    # The crash, heard by both overheads through swaying paths: little coherence left above 2 kHz.
    from scipy import signal

    crash_at = slice(int(1.0 * SAMPLE_RATE), int(1.45 * SAMPLE_RATE))
    frequencies, coherence = signal.coherence(tracks["overhead_L"][crash_at], tracks["overhead_R"][crash_at],
                                              SAMPLE_RATE, nperseg=1024)
    assert np.mean(coherence[frequencies > 2000]) < 0.4


def test_the_audience_perspective_mirrors_the_kit_but_not_the_overhead_names():
    audience = perspective_pans("audience")
    assert audience["hihat"] == -PANS["hihat"] > 0 and audience["tom_3"] == -PANS["tom_3"] < 0
    assert audience["overhead_L"] == PANS["overhead_L"] < 0 and audience["kick"] == 0.0
    assert perspective_pans("drummer") == PANS
    with pytest.raises(ValueError, match=r"expected one of \[.audience., .drummer.\]"):
        perspective_pans("stage")
    # overhead_L is the mic panned left: in the audience's view, the one over the drummer's right side.
    for perspective, sign in (("audience", 1), ("drummer", -1)):
        params = draw_room_recording(np.random.default_rng(7), SESSION_CONDITIONS, perspective)
        hihat = np.array(params.positions["hihat"])
        nearer = [math.dist(params.mic_positions[slot], hihat) for slot in ("overhead_L", "overhead_R")]
        assert (nearer[0] > nearer[1]) == (sign > 0), perspective


@needs_kits
def test_session_songs_render_with_a_light_engineer():
    for seed in range(3):
        song = render_song(seed, "avl_black_pearl", 6.0)
        metadata = json.loads(json.dumps(song.metadata))
        assert metadata["recipe"] == "session" and metadata["perspective"] == "audience"
        assert metadata["synth_version"] == 2 and metadata["engineer"]["engineer"] == "light"
        assert metadata["toms"] in ("normal", "barely", "never") and "rt60_s" in metadata["recording"]
        for mix in (song.wet_mix, song.dry_mix):
            assert mix.shape == (2, 6 * SAMPLE_RATE) and np.isfinite(mix).all()
            assert 0.05 < np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-6
        # Gentle dynamics: the wet mix's crest factor stays within 2.5 dB of the dry balance's.
        assert abs(crest_factor_db(song.wet_mix) - crest_factor_db(song.dry_mix)) < 2.5, seed
        hihat_side = metadata["engineer"]["pan"]["hihat"]
        assert hihat_side > 0  # audience: the hi-hat on the right
    first, second = render_song(1, "avl_black_pearl", 3.0), render_song(1, "avl_black_pearl", 3.0)
    np.testing.assert_array_equal(first.wet_mix, second.wet_mix)


def test_session_plans_hold_out_kits_and_play_unplayed_toms_in_training():
    plans = plan_corpus(2.0, seed=3)
    assert {plan.recipe for plan in plans} == {"session"}
    train = {plan.kit for plan in plans if plan.split == "train"}
    held_out = {plan.kit for plan in plans if plan.split in ("test", "stress")}
    assert held_out and not held_out & train and train == set(SESSION_RECIPE.split_kits["train"])
    makers = {KITS[kit].maker for kit in held_out}
    assert len(makers) >= 3 and held_out == set(SESSION_RECIPE.split_kits["test"])
    assert all(KITS[kit].license.startswith(("CC-BY-SA", "MIT")) for kit in train)  # weights may be CC-BY-SA
    assert all(plan.conditions == SESSION_CONDITIONS for plan in plans if plan.split != "stress")
    assert all(plan.conditions == SESSION_STRESS_CONDITIONS for plan in plans if plan.split == "stress")
    rng = np.random.default_rng(0)
    draws = [draw_tom_playing(rng, SESSION_CONDITIONS)[0] for _ in range(2000)]
    assert draws.count("never") / len(draws) == pytest.approx(0.25, abs=0.05)
    assert draws.count("barely") / len(draws) == pytest.approx(0.25, abs=0.05)
    # The stress split reaches beyond the training ranges.
    assert SESSION_STRESS_CONDITIONS.rt60_s[0] > SESSION_CONDITIONS.rt60_s[1]
    assert SESSION_STRESS_CONDITIONS.input_gain_range_db > SESSION_CONDITIONS.input_gain_range_db
    assert set(CLASSIC_RECIPE.split_kits["train"]) <= set(KITS)


def test_recipes_and_conditions_must_match():
    with pytest.raises(ValueError, match="do not go with recipe 'session'"):
        render_song(0, "avl_black_pearl", 1.0, conditions=TRAINING_CONDITIONS)
    with pytest.raises(ValueError, match="unknown corpus recipe 'modern'"):
        render_song(0, "avl_black_pearl", 1.0, recipe="modern")
