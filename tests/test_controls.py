"""Control over the mix: per-slot trims and the processing intensity (API; the CLI's in test_cli.py)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mixwave_hf.audio import gain_and_pan, pan_gains
from mixwave_hf.mixing import STATIC_LOUDNESS_GAP_LU, mix_tracks, run_streamed
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.slots import DEFAULT_SLOTS

RATE = 44_100


def perturbed_model(output_kernel: int = 1, levelling: str | None = None, seed: int = 0) -> MixWaveUNet:
    """A tiny balance-initialised model whose feature weights and bias are moved off zero, so that
    its processed part is not silent (as after training)."""
    torch.manual_seed(seed)
    model = MixWaveUNet(levels=3, base_channels=3, output_kernel=output_kernel, output_init="balance",
                        levelling=levelling)
    with torch.no_grad():
        model.output.weight[:, len(model.slot_names) :].normal_(0.0, 0.3)
        model.output.bias.normal_(0.0, 0.01)
    return model.eval()


def noise_tracks(seconds: float = 1.0, seed: int = 1) -> dict[str, np.ndarray]:
    generator = np.random.default_rng(seed)
    return {slot: (0.1 * generator.standard_normal(int(seconds * RATE))).astype(np.float32) for slot in DEFAULT_SLOTS}


def independent_static_mix(model: MixWaveUNet, tracks: dict[str, np.ndarray]) -> np.ndarray:
    """conv(tracks, the output layer's weights on the track channels), no bias, centred: output t sees
    input t - (kernel-1)/2 .. t + (kernel-1)/2, zeros beyond the song."""
    stacked = torch.from_numpy(np.stack([tracks[slot] for slot in model.slot_names]))
    weight = model.output.weight.detach()[:, : len(model.slot_names)]
    return F.conv1d(stacked[None], weight, padding=model.output_kernel // 2)[0].numpy()


@pytest.mark.parametrize("output_kernel", [1, 3])
def test_intensity_0_is_the_static_mix_of_the_output_layers_track_weights(output_kernel):
    model, tracks = perturbed_model(output_kernel), noise_tracks()
    mixed = mix_tracks(model, tracks, RATE, intensity=0.0, peak_ceiling_db=None)
    assert not any("DC" in warning for warning in mixed.warnings)
    expected = independent_static_mix(model, tracks)
    np.testing.assert_allclose(mixed.audio, expected, atol=1e-6)
    full = mix_tracks(model, tracks, RATE, peak_ceiling_db=None).audio
    assert np.abs(full - expected).max() > 100 * 1e-6  # the processed part is really there


def test_intensity_1_is_todays_mix_bit_for_bit_and_between_blends_linearly():
    model, tracks = perturbed_model(), noise_tracks()
    today = mix_tracks(model, tracks, RATE, peak_ceiling_db=None)
    full = mix_tracks(model, tracks, RATE, peak_ceiling_db=None, intensity=1.0, trims={})
    np.testing.assert_array_equal(full.audio, today.audio)
    static = mix_tracks(model, tracks, RATE, peak_ceiling_db=None, intensity=0.0).audio
    half = mix_tracks(model, tracks, RATE, peak_ceiling_db=None, intensity=0.5)
    np.testing.assert_allclose(half.audio, static + 0.5 * (today.audio - static), atol=1e-6)
    assert half.intensity == 0.5 and not half.warnings  # a balance-initialised model keeps its balance static


@pytest.mark.parametrize("window_steps,segments", [(16, 1), (40, 3)])
def test_split_output_parts_sum_to_the_streamed_mix(window_steps, segments):
    model = perturbed_model(output_kernel=3)
    tracks = torch.randn(8, 5_000) * 0.1
    window = window_steps * 2**model.levels
    mixed = run_streamed(model, tracks, window, segments, torch.device("cpu"))
    parts = run_streamed(model, tracks, window, segments, torch.device("cpu"), split_output=True)
    assert parts.shape == (2 * model.outputs, tracks.shape[-1])
    torch.testing.assert_close(parts[:2] + parts[2:], mixed, atol=1e-6, rtol=1e-5)


def test_a_static_part_far_from_the_full_mix_is_reported():
    model, tracks = perturbed_model(), noise_tracks()
    with torch.no_grad():
        model.output.weight[:, : len(model.slot_names)] *= 0.01  # the balance moved into the features
        model.output.weight[:, len(model.slot_names) :] *= 30.0
    quiet = mix_tracks(model, tracks, RATE, intensity=0.5, peak_ceiling_db=None)
    [warning] = [text for text in quiet.warnings if "static part" in text]
    assert "intensity 0.5" in warning and "quieter than" in warning and "processed part" in warning
    gap = float(warning.split(" LU quieter")[0].rsplit(" ", 1)[-1])
    assert gap > STATIC_LOUDNESS_GAP_LU
    full = mix_tracks(model, tracks, RATE, peak_ceiling_db=None)
    assert not any("static part" in text for text in full.warnings)  # intensity 1: nothing to say
    with torch.no_grad():
        model.output.weight[:, : len(model.slot_names)] = 0.0
    silent = mix_tracks(model, tracks, RATE, intensity=0.0, peak_ceiling_db=None)
    assert any("static part alone (-inf LUFS) is silent" in text for text in silent.warnings)
    assert not silent.audio.any()


def test_a_trim_is_a_gain_on_the_track_before_the_network():
    model, tracks = perturbed_model(), noise_tracks()
    trimmed = mix_tracks(model, tracks, RATE, trims={"sd": 6.0, "overheads": -3}, peak_ceiling_db=None)
    by_hand = dict(tracks, snare=tracks["snare"] * np.float32(10 ** (6 / 20)))
    for slot in ("overhead_L", "overhead_R"):
        by_hand[slot] = tracks[slot] * np.float32(10 ** (-3 / 20))
    np.testing.assert_allclose(trimmed.audio, mix_tracks(model, by_hand, RATE, peak_ceiling_db=None).audio,
                               atol=1e-6)
    assert trimmed.trims_db == {"snare": 6.0, "overhead_L": -3.0, "overhead_R": -3.0}
    same = model.mix(tracks, RATE, trims={"snare": 6.0, "overhead_L": -3, "overhead_R": -3}, peak_ceiling_db=None)
    np.testing.assert_array_equal(same.audio, trimmed.audio)
    zero = mix_tracks(model, tracks, RATE, trims={"kick": 0}, peak_ceiling_db=None)
    np.testing.assert_array_equal(zero.audio, mix_tracks(model, tracks, RATE, peak_ceiling_db=None).audio)


def test_trims_apply_after_levelling():
    model, tracks = perturbed_model(levelling="integrated"), noise_tracks()
    louder = dict(tracks, snare=tracks["snare"] * np.float32(2.0))
    plain = mix_tracks(model, tracks, RATE, peak_ceiling_db=None)
    np.testing.assert_allclose(mix_tracks(model, louder, RATE, peak_ceiling_db=None).audio, plain.audio, atol=1e-5)
    trimmed = mix_tracks(model, louder, RATE, trims={"snare": 6.0}, peak_ceiling_db=None)
    assert np.abs(trimmed.audio - plain.audio).max() > 1e-3  # levelling undoes the louder file, not the trim
    assert trimmed.input_gains_db["snare"] == pytest.approx(plain.input_gains_db["snare"] - 20 * np.log10(2), abs=0.02)


@pytest.mark.parametrize("options,message", [
    ({"trims": {"snare": 12.5}}, "trim 'snare': 12.5 dB; expected a number from -12 to +12 dB"),
    ({"trims": {"kick": float("nan")}}, "trim 'kick': nan dB"),
    ({"trims": {"kick": "loud"}}, "trim 'kick': 'loud' dB"),
    ({"trims": {"cowbell": 1.0}}, "trim 'cowbell': unknown slot 'cowbell'"),
    ({"trims": {"overheads": 1.0, "overhead_L": 2.0}}, "trims 'overheads' and 'overhead_L' both set slot 'overhead_L'"),
    ({"intensity": 1.5}, "intensity=1.5; expected 0 (the model's static balance) to 1 (the full mix)"),
    ({"intensity": float("nan")}, "intensity=nan"),
    ({"intensity": -0.1}, "intensity=-0.1"),
])
def test_bad_trims_and_intensities_are_errors_naming_them(options, message):
    with pytest.raises(ValueError) as raised:
        mix_tracks(perturbed_model(), noise_tracks(0.1), RATE, **options)
    assert message in str(raised.value)


def test_static_part_gains_are_the_balance_the_model_starts_from_and_what_intensity_0_plays():
    np.testing.assert_allclose(perturbed_model(3).static_part_gains(), perturbed_model(3).static_mix_weights(),
                               rtol=1e-6)
    model, tracks = perturbed_model(output_kernel=1), noise_tracks()
    mixed = mix_tracks(model, tracks, RATE, intensity=0.0, peak_ceiling_db=None, trims={"snare": 6.0}).audio
    stacked = np.stack([tracks[slot] for slot in model.slot_names])
    stacked[model.slot_names.index("snare")] *= 10 ** (6.0 / 20)
    np.testing.assert_allclose(mixed, model.static_part_gains().numpy() @ stacked, atol=1e-6)


@pytest.mark.parametrize("pan", [-1.0, -0.4, 0.0, 0.25, 1.0])
@pytest.mark.parametrize("gain_db", [-12.0, 0.0, 7.5])
def test_gain_and_pan_inverts_the_constant_power_pan_law(pan, gain_db):
    left, right = (gain * 10 ** (gain_db / 20) for gain in pan_gains(pan, "constant_power"))
    measured_gain, measured_pan = gain_and_pan(left, right)
    assert measured_gain == pytest.approx(gain_db, abs=1e-9) and measured_pan == pytest.approx(pan, abs=1e-9)
    assert gain_and_pan(0.0, 0.0) == (-np.inf, 0.0)


def test_the_other_perspective_is_the_exact_mirror():
    """Mixing from the perspective a model was not trained in swaps the overhead tracks' slots and the
    mix's channels: exactly, at any intensity and with trims named as the user names the tracks."""
    model = perturbed_model()
    assert model.perspective == "audience"  # a new model's default
    tracks = noise_tracks()
    swapped = {**tracks, "overhead_L": tracks["overhead_R"], "overhead_R": tracks["overhead_L"]}
    for intensity in (1.0, 0.5):
        own = mix_tracks(model, tracks, RATE, intensity=intensity, trims={"overhead_R": -3.0})
        mirror = mix_tracks(model, swapped, RATE, intensity=intensity, trims={"overhead_L": -3.0},
                            perspective="drummer")
        assert (own.perspective, mirror.perspective) == ("audience", "drummer")
        np.testing.assert_array_equal(mirror.audio, own.audio[::-1])
    assert mix_tracks(model, tracks, RATE, perspective="audience").perspective == "audience"
    with pytest.raises(ValueError, match=r"perspective 'stage'; expected one of \['audience', 'drummer'\]"):
        mix_tracks(model, tracks, RATE, perspective="stage")
    mono = MixWaveUNet(levels=2, base_channels=2, outputs=1, perspective="drummer").eval()
    with pytest.raises(ValueError, match="mixes from the drummer's only"):
        mix_tracks(mono, tracks, RATE, perspective="audience")


def test_a_balance_initialised_model_starts_from_its_perspectives_balance():
    for perspective, hihat_side in (("audience", 1), ("drummer", -1)):
        model = MixWaveUNet(levels=2, base_channels=2, output_init="balance", perspective=perspective)
        gains = model.static_part_gains()
        hihat, overhead_l = DEFAULT_SLOTS.index("hihat"), DEFAULT_SLOTS.index("overhead_L")
        _, pan = gain_and_pan(float(gains[0, hihat]), float(gains[1, hihat]))
        assert np.sign(pan) == hihat_side, perspective
        assert gain_and_pan(float(gains[0, overhead_l]), float(gains[1, overhead_l]))[1] < 0  # always left


def test_a_mirrored_model_mixes_what_the_model_mixes_from_the_other_perspective(tmp_path):
    model = perturbed_model(output_kernel=3)
    mirror = model.mirrored()
    assert (model.perspective, mirror.perspective) == ("audience", "drummer")
    assert mirror.balance["hihat"][1] == -model.balance["hihat"][1] < 0
    assert mirror.balance["overhead_L"][1] < 0 < mirror.balance["overhead_R"][1]  # the mix's sides stay
    tracks = noise_tracks()
    np.testing.assert_allclose(mix_tracks(mirror, tracks, RATE).audio,
                               mix_tracks(model, tracks, RATE, perspective="drummer").audio, atol=1e-6)
    mirror.save_pretrained(tmp_path)
    again = MixWaveUNet.from_pretrained(tmp_path).mirrored()
    np.testing.assert_array_equal(mix_tracks(again, tracks, RATE).audio, mix_tracks(model, tracks, RATE).audio)
