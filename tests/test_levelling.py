"""Track levelling (loudness.level_tracks): the one meter, what each method measures, models that level inputs."""

import numpy as np
import pyloudnorm
import pytest
import torch

from mixwave_hf.loudness import LEVELLING_METHODS, integrated_loudness, level_tracks, track_level
from mixwave_hf.mixing import mix_tracks
from mixwave_hf.model import MixWaveUNet

SR = 44_100


def strokes(seconds: float, times: list[float], amplitude: float = 0.5, pitch: float = 120.0) -> np.ndarray:
    """[samples] float32: decaying sine strokes at `times` (s) over low noise."""
    rng = np.random.default_rng(1)
    track = (rng.standard_normal(int(seconds * SR)) * 1e-4).astype(np.float32)
    t = np.arange(int(0.3 * SR)) / SR
    stroke = (amplitude * np.sin(2 * np.pi * pitch * t) * np.exp(-t / 0.06)).astype(np.float32)
    for time in times:
        start = int(time * SR)
        track[start : start + len(stroke)] += stroke[: len(track) - start]
    return track


def test_the_meter_is_bs1770_as_pyloudnorm():
    audio = np.random.default_rng(0).standard_normal((2, 3 * SR)) * 0.05
    meter = pyloudnorm.Meter(SR)
    assert integrated_loudness(audio, SR) == pytest.approx(meter.integrated_loudness(audio.T), abs=1e-6)


def test_strokes_level_a_rarely_played_tom_by_its_strokes_not_its_bleed():
    """A tom mic: two strokes in 30 s over bleed of a steady drum 18 dB down. Integrated loudness
    (whose relative gate keeps the bleed) reads the bleed, so levelling by it would lift the strokes
    far above the steadily played drum."""
    steady = strokes(30.0, list(np.arange(0.0, 30.0, 0.5)))
    tom = strokes(30.0, [15.0, 15.25]) + 0.125 * steady
    for method in LEVELLING_METHODS:
        assert track_level(steady, SR, method) == pytest.approx(track_level(steady, SR, "integrated"), abs=3.0)
    by_strokes = track_level(tom, SR, "strokes") - track_level(steady, SR, "strokes")
    by_integrated = track_level(tom, SR, "integrated") - track_level(steady, SR, "integrated")
    assert abs(by_strokes) < 3.0  # the same strokes read about as loud
    assert by_integrated < by_strokes - 5.0


@pytest.mark.parametrize("method", LEVELLING_METHODS)
def test_levelling_cancels_input_gain_and_silent_stays_silent(method):
    tracks = np.stack([strokes(3.0, [0.2, 1.2, 2.2]), strokes(3.0, [0.7, 1.7], pitch=200.0),
                       np.zeros(3 * SR, np.float32)])
    slots = ["kick", "overhead_L", "tom_1"]
    levelled, gains_db = level_tracks(tracks, SR, method, -30.0, slots)
    louder, _ = level_tracks(tracks * np.array([[10.0], [0.01], [1.0]], np.float32), SR, method, -30.0, slots)
    np.testing.assert_allclose(louder, levelled, rtol=1e-4, atol=1e-7)
    assert track_level(levelled[0], SR, method) == pytest.approx(-30.0, abs=0.01)
    overhead_measure = "integrated" if method == "close_strokes" else method
    assert track_level(levelled[1], SR, overhead_measure) == pytest.approx(-30.0, abs=0.01)
    assert gains_db[2] == 0.0 and not levelled[2].any()
    with pytest.raises(ValueError, match="levelling method"):
        track_level(tracks[0], SR, "peak")
    if method == "close_strokes":
        with pytest.raises(ValueError, match="slot names"):
            level_tracks(tracks, SR, method, -30.0)


def test_a_levelling_model_mixes_the_same_whatever_the_recording_gain():
    torch.manual_seed(0)
    model = MixWaveUNet(levels=3, base_channels=3, levelling="close_strokes").eval()
    tracks = {"kick": strokes(2.0, [0.1, 0.6, 1.1, 1.6]), "snare": strokes(2.0, [0.35, 1.35], pitch=220.0)}
    mixed = mix_tracks(model, tracks, SR, peak_ceiling_db=None)
    for gain in (0.01, 10.0):
        regained = mix_tracks(model, {"kick": gain * tracks["kick"], "snare": tracks["snare"]}, SR,
                              peak_ceiling_db=None)
        np.testing.assert_allclose(regained.audio, mixed.audio, atol=1e-5 * np.abs(mixed.audio).max())
        assert regained.input_gains_db["kick"] == pytest.approx(mixed.input_gains_db["kick"] - 20 * np.log10(gain),
                                                                abs=1e-3)
    assert set(mixed.input_gains_db) == {"kick", "snare"}  # silent (missing) slots: no gain, still silence
    paper = mix_tracks(MixWaveUNet(levels=3, base_channels=3), tracks, SR)
    assert paper.input_gains_db == {}


def test_at_step_0_a_balance_initialised_model_mixes_its_static_balance():
    """Untrained, output_init="balance" gives exactly the static mix of the levelled tracks."""
    torch.manual_seed(0)
    model = MixWaveUNet(levels=3, base_channels=3, levelling="close_strokes", output_init="balance",
                        balance_gain_db=10.3)
    rng = np.random.default_rng(0)
    names = ["kick", "snare", "hihat", "tom_1", "overhead_L", "overhead_R"]
    tracks = {name: strokes(2.0, sorted(rng.uniform(0, 1.8, 4)), pitch=100 + 50 * i) for i, name in enumerate(names)}
    mixed = mix_tracks(model, tracks, SR, peak_ceiling_db=None)
    arranged = np.stack([tracks.get(slot, np.zeros(2 * SR, np.float32)) for slot in model.slot_names])
    levelled, _ = level_tracks(arranged, SR, "close_strokes", -30.0, model.slot_names)
    static = model.static_mix_weights().numpy() @ levelled
    np.testing.assert_allclose(mixed.audio, static, atol=1e-6 * np.abs(static).max())
    gains = {slot: model.balance[slot][0] for slot in model.balance}
    assert gains == {"kick": 0.0, "snare": 0.0, "hihat": -6.0, "tom_1": -10.0, "tom_2": -10.0, "tom_3": -10.0,
                     "overhead_L": -6.0, "overhead_R": -6.0}


def test_model_options_are_checked_and_saved(tmp_path):
    with pytest.raises(ValueError, match="levelling"):
        MixWaveUNet(levels=2, base_channels=2, levelling="rms")
    with pytest.raises(ValueError, match="output_init"):
        MixWaveUNet(levels=2, base_channels=2, output_init="zeros")
    with pytest.raises(ValueError, match="balance"):
        MixWaveUNet(levels=2, base_channels=2, output_init="balance", balance={"cowbell": [0, 0]})
    model = MixWaveUNet(levels=2, base_channels=2, levelling="loud_part", output_init="balance", balance_gain_db=3.0)
    model.save_pretrained(tmp_path)
    loaded = MixWaveUNet.from_pretrained(tmp_path)
    assert (loaded.levelling, loaded.output_init, loaded.balance_gain_db) == ("loud_part", "balance", 3.0)
    torch.testing.assert_close(loaded.static_mix_weights(), model.static_mix_weights())


@pytest.mark.parametrize("method", ["close_strokes", "bleed_aware"])
def test_a_session_recorded_far_too_low_is_levelled_as_a_normal_one(method):
    """The -70 LUFS gate stands relative to a quiet session: 40 and 60 dB low mixes as at full level."""
    torch.manual_seed(0)
    model = MixWaveUNet(levels=3, base_channels=3, levelling=method).eval()
    tracks = {"kick": strokes(2.0, [0.1, 0.6, 1.1, 1.6]), "snare": strokes(2.0, [0.35, 1.35], pitch=220.0),
              "tom_1": strokes(2.0, [0.8], amplitude=0.2, pitch=150.0)}
    peak = max(float(np.abs(track).max()) for track in tracks.values())
    tracks = {slot: track * np.float32(10 ** (-1 / 20) / peak) for slot, track in tracks.items()}  # -1 dBFS
    mixed = mix_tracks(model, tracks, SR, peak_ceiling_db=None)
    for drop_db in (40, 60):
        quiet = {slot: track * np.float32(10 ** (-drop_db / 20)) for slot, track in tracks.items()}
        again = mix_tracks(model, quiet, SR, peak_ceiling_db=None)
        np.testing.assert_allclose(again.audio, mixed.audio, atol=1e-4 * np.abs(mixed.audio).max())
        for slot, gain in mixed.input_gains_db.items():
            assert again.input_gains_db[slot] == pytest.approx(gain + drop_db, abs=0.01), (drop_db, slot)
