"""Whole-song mixing: exact tiling, track arrangement, resampling, clipping."""

import numpy as np
import pytest
import torch

from mixwave_hf.mixing import LIMITER_HOLD_SECONDS, limit_peaks, mix_tracks, run_streamed
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.streaming import StreamingMixWaveUNet


@pytest.fixture(scope="module")
def small_model() -> MixWaveUNet:
    torch.manual_seed(0)
    return MixWaveUNet(levels=4, base_channels=4)


def full_pass(model: MixWaveUNet, tracks: torch.Tensor) -> torch.Tensor:
    """One forward pass over the whole song (zero context beyond both ends): [slots, n] -> [outputs, n]."""
    lengths = model.valid_lengths(tracks.shape[-1])
    padded = torch.zeros(1, tracks.shape[0], lengths.input)
    padded[0, :, lengths.context : lengths.context + tracks.shape[-1]] = tracks
    with torch.inference_mode():
        return model(padded)[0, :, : tracks.shape[-1]]


def assert_tiling_exact(model, tracks, window, segments):
    expected = full_pass(model, tracks)
    tiled = run_streamed(model, tracks, window, segments, torch.device("cpu"))
    assert tiled.shape == expected.shape
    assert (tiled - expected).abs().max() <= 1e-4 * expected.abs().max()


@pytest.mark.parametrize("window_steps,segments", [(1, 1), (3, 2), (7, 4), (100, 1), (10_000, 3)])
def test_tiled_mix_equals_one_full_pass_small_model(small_model, window_steps, segments):
    tracks = torch.randn(8, 3 * 44_100 + 123) * 0.1
    assert_tiling_exact(small_model, tracks, window_steps * 2**small_model.levels, segments)


@pytest.mark.parametrize("options", [{"upsampling": "learned"}, {"down_kernel": 5, "up_kernel": 3, "output_kernel": 3},
                                     {"up_kernel": 1}, {"up_kernel": 7, "upsampling": "learned"}])
def test_tiled_mix_equals_one_full_pass_other_configurations(options):
    torch.manual_seed(2)
    model = MixWaveUNet(levels=5, base_channels=3, **options)
    if model.interpolation is not None:
        with torch.no_grad():
            for weight in model.interpolation:
                weight.normal_()  # away from the linear initialisation
    assert_tiling_exact(model, torch.randn(8, 20_000) * 0.1, 5 * 32, 2)


@pytest.mark.slow
def test_tiled_mix_equals_one_full_pass_paper_model():
    torch.manual_seed(1)
    model = MixWaveUNet()
    tracks = torch.randn(8, 3 * 44_100) * 0.1
    assert_tiling_exact(model, tracks, 64 * 1024, 1)
    assert_tiling_exact(model, tracks, 16 * 1024, 3)


def test_window_size_does_not_change_the_mix(small_model):
    tracks = {"kick": np.random.default_rng(0).normal(0, 0.1, 20_000)}
    short = mix_tracks(small_model, tracks, 44_100, window_seconds=0.01).audio
    long = mix_tracks(small_model, tracks, 44_100, window_seconds=30, batch_size=3).audio
    np.testing.assert_allclose(short, long, atol=1e-6)


def test_window_must_be_a_multiple_of_two_to_the_levels(small_model):
    with pytest.raises(ValueError, match="multiple of 16"):
        run_streamed(small_model, torch.zeros(8, 100), 24, 1, torch.device("cpu"))


def test_missing_slots_are_silence(small_model):
    kick = np.random.default_rng(1).normal(0, 0.1, 5_000).astype(np.float32)
    only_kick = mix_tracks(small_model, {"kick": kick}, 44_100)
    zeros = {slot: np.zeros_like(kick) for slot in small_model.slot_names}
    explicit = mix_tracks(small_model, {**zeros, "kick": kick}, 44_100)
    np.testing.assert_array_equal(only_kick.audio, explicit.audio)
    assert only_kick.audio.shape == (2, 5_000) and only_kick.sample_rate == 44_100


def test_stereo_overhead_pair_feeds_both_overhead_slots(small_model):
    pair = np.random.default_rng(2).normal(0, 0.1, (2, 4_000)).astype(np.float32)
    as_pair = mix_tracks(small_model, {"overheads": pair}, 44_100)
    as_slots = mix_tracks(small_model, {"overhead_L": pair[0], "overhead_R": pair[1]}, 44_100)
    np.testing.assert_array_equal(as_pair.audio, as_slots.audio)
    mono = mix_tracks(small_model, {"overheads": pair[0]}, 44_100)
    assert any("mono overheads" in warning for warning in mono.warnings)


def test_other_stereo_tracks_are_downmixed_with_a_warning(small_model):
    stereo = np.random.default_rng(3).normal(0, 0.1, (2, 4_000)).astype(np.float32)
    mixed = mix_tracks(small_model, {"snare": stereo}, 44_100)
    expected = mix_tracks(small_model, {"snare": stereo.mean(axis=0)}, 44_100)
    np.testing.assert_array_equal(mixed.audio, expected.audio)
    assert any("downmixed to mono" in warning for warning in mixed.warnings)


def test_aliases_name_slots(small_model):
    kick = np.random.default_rng(4).normal(0, 0.1, 3_000)
    np.testing.assert_array_equal(mix_tracks(small_model, {"bd": kick}, 44_100).audio,
                                  mix_tracks(small_model, {"kick": kick}, 44_100).audio)


@pytest.mark.parametrize("tracks,message", [
    ({"cowbell": np.zeros(10)}, "unknown slot 'cowbell'"),
    ({"kick": np.zeros((3, 10))}, r"shape \(3, 10\)"),
    ({"kick": np.zeros((10, 2))}, "transpose"),
    ({"kick": np.array([0.0, np.nan])}, "NaN or infinite"),
    ({"kick": np.zeros(10), "bd": np.zeros(10)}, "both give slot 'kick'"),
    ({"overheads": np.zeros((2, 10)), "overhead_L": np.zeros(10)}, "both give the overheads"),
])
def test_bad_tracks_are_refused(small_model, tracks, message):
    with pytest.raises(ValueError, match=message):
        mix_tracks(small_model, tracks, 44_100)


def test_different_lengths_are_padded_with_a_warning(small_model):
    mixed = mix_tracks(small_model, {"kick": np.full(3_000, 0.1), "snare": np.full(2_000, 0.1)}, 44_100)
    assert mixed.audio.shape == (2, 3_000)
    assert any("snare padded with silence" in warning for warning in mixed.warnings)


def test_silent_and_empty_tracks_give_silence(small_model):
    silent = mix_tracks(small_model, {"kick": np.zeros(1_000)}, 44_100)
    assert silent.audio.shape == (2, 1_000) and not silent.audio.any()
    assert any("silent" in warning for warning in silent.warnings)
    empty = mix_tracks(small_model, {"kick": np.zeros(0)}, 44_100)
    assert empty.audio.shape == (2, 0) and any("empty" in warning for warning in empty.warnings)


@pytest.mark.parametrize("length", [1, 7, 441])
def test_very_short_songs(small_model, length):
    mixed = mix_tracks(small_model, {"kick": np.full(length, 0.5)}, 44_100)
    assert mixed.audio.shape == (2, length) and np.isfinite(mixed.audio).all()


@pytest.mark.parametrize("rate", [22_050, 48_000, 96_000])
def test_other_sample_rates_come_back_at_their_rate(small_model, rate):
    kick = np.sin(2 * np.pi * 100 * np.arange(rate // 2) / rate) * 0.3
    mixed = mix_tracks(small_model, {"kick": kick}, rate)
    assert mixed.sample_rate == rate and mixed.audio.shape == (2, rate // 2)
    # The model sees the song at its own rate: equal to resampling by hand and mixing at 44.1 kHz.
    from mixwave_hf.audio import resample
    at_model_rate = mix_tracks(small_model, {"kick": resample(kick[None].astype(np.float32), rate, 44_100)[0]},
                               44_100)
    back = resample(at_model_rate.audio, 44_100, rate)[:, : rate // 2]
    np.testing.assert_allclose(mixed.audio[:, : back.shape[-1]], back, atol=1e-5)


def test_clipping_without_the_limiter_is_counted_and_reported_not_normalised():
    model = MixWaveUNet(levels=2, base_channels=2)
    with torch.no_grad():
        model.output.bias.fill_(0.0)
        model.output.bias[0] = 2.0  # the left channel sits far above full scale
    mixed = mix_tracks(model, {"kick": np.full(1_000, 0.01)}, 44_100, peak_ceiling_db=None)
    assert mixed.clipped_samples >= 1_000 and mixed.peak > 1.5
    assert mixed.audio[0].max() == 1.0  # clipped at full scale, not scaled down
    assert np.abs(mixed.audio[1]).max() < 1.0
    assert any("clipped" in warning and "dBFS" in warning for warning in mixed.warnings)
    assert not any("input tracks' levels" in warning for warning in mixed.warnings)  # level is not the cause here


def test_mixing_restores_training_mode_and_builds_no_graph(small_model):
    small_model.train()
    mixed = small_model.mix({"kick": np.full(2_000, 0.1)}, 44_100)
    assert small_model.training and isinstance(mixed.audio, np.ndarray)
    small_model.eval()


def test_the_peak_limiter_keeps_the_ceiling_and_leaves_the_rest_untouched():
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((2, 3 * 44_100)) * 0.1).astype(np.float32)
    audio[0, 50_000] = 3.0  # +9.5 dBFS
    audio[1, 100_000:100_500] = 1.5
    limited = audio.copy()
    count, reduction_db = limit_peaks(limited, 44_100, -1.0, block=2**15)  # peaks near block edges too
    ceiling = 10 ** (-1 / 20)
    assert np.abs(limited).max() <= ceiling + 1e-7
    assert reduction_db == pytest.approx(20 * np.log10(3.0 / ceiling), abs=0.01)
    hold = round(LIMITER_HOLD_SECONDS * 44_100)
    untouched = np.ones(audio.shape[-1], bool)
    for peak in (50_000, 100_000, 100_499):
        untouched[peak - 2 * hold : peak + 2 * hold + 1] = False
    np.testing.assert_array_equal(limited[:, untouched], audio[:, untouched])
    assert 0 < count <= 2 * (~untouched).sum()


def test_mix_tracks_limits_peaks_to_the_ceiling_and_says_so():
    model = MixWaveUNet(levels=2, base_channels=2)
    with torch.no_grad():
        model.output.bias.fill_(0.0)
        model.output.bias[0] = 2.0
    mixed = mix_tracks(model, {"kick": np.full(1_000, 0.01)}, 44_100)
    assert mixed.peak > 1.5 and mixed.clipped_samples == 0 and mixed.limited_samples >= 1_000
    assert np.abs(mixed.audio).max() <= 10 ** (-1 / 20) + 1e-7
    assert any("peak limiter" in warning and "-1 dBFS" in warning for warning in mixed.warnings)
    quiet = mix_tracks(MixWaveUNet(levels=2, base_channels=2), {"kick": np.full(1_000, 0.01)}, 44_100)
    assert quiet.limited_samples == 0 and not any("limiter" in warning for warning in quiet.warnings)
    with pytest.raises(ValueError, match="peak_ceiling_db"):
        mix_tracks(model, {"kick": np.full(1_000, 0.01)}, 44_100, peak_ceiling_db=3.0)


# ---- inputs that used to give a wrong result or an unbounded allocation ---------------------------------


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), -1.0, 0.0])
def test_window_seconds_that_are_not_a_positive_number_are_refused(small_model, seconds):
    with pytest.raises(ValueError, match="window_seconds"):
        mix_tracks(small_model, {"kick": np.zeros(100)}, 44_100, window_seconds=seconds)


def test_the_window_is_capped_at_the_song_and_at_the_maximum(small_model, monkeypatch):
    import mixwave_hf.mixing as mixing

    step, context = 2**small_model.levels, small_model.valid_lengths().context
    windows = []

    def recording(model, tracks, window, *args):
        windows.append(window)
        return run_streamed(model, tracks, window, *args)

    monkeypatch.setattr(mixing, "run_streamed", recording)
    kick = np.random.default_rng(5).normal(0, 0.1, 4_410).astype(np.float32)
    huge = mix_tracks(small_model, {"kick": kick}, 44_100, window_seconds=3600).audio
    padded = -(-(4_410 + 2 * context + step) // step) * step
    assert windows[-1] == padded and windows[-1] % step == 0  # not 3600 s of samples
    np.testing.assert_allclose(huge, mix_tracks(small_model, {"kick": kick}, 44_100, window_seconds=0.01).audio,
                               atol=1e-6)
    longest = int(mixing.MAX_WINDOW_SECONDS * 44_100) // step * step
    assert mixing.window_samples(small_model, 1e6, 10**9) == longest
    assert mixing.window_samples(small_model, 1e-9, 10**9) == step


@pytest.mark.parametrize("dtype,scale,offset", [(np.int16, 2**15, 0), (np.int32, 2**31, 0), (np.uint8, 2**7, 2**7)])
def test_integer_pcm_arrays_are_scaled_by_their_full_scale(small_model, dtype, scale, offset):
    rng = np.random.default_rng(6)
    as_float = np.clip(rng.normal(0, 0.2, 3_000), -1, 1 - 1 / scale)
    as_int = (np.round(as_float * scale) + offset).astype(dtype)  # as scipy.io.wavfile reads a file
    mixed = small_model.mix({"kick": as_int}, 44_100)
    expected = mix_tracks(small_model, {"kick": (as_int.astype(np.float64) - offset) / scale}, 44_100)
    np.testing.assert_allclose(mixed.audio, expected.audio, atol=1e-6)
    assert any(f"kick: {np.dtype(dtype).name} samples converted to float by their full scale" in warning
               for warning in mixed.warnings)
    assert mixed.clipped_samples == 0 and mixed.limited_samples == expected.limited_samples


@pytest.mark.parametrize("audio", [np.zeros(10, bool), np.zeros(10, complex), np.array([0.0, "a"], object)])
def test_samples_that_are_not_real_numbers_are_refused_naming_the_track(small_model, audio):
    with pytest.raises(ValueError, match="snare: samples of type .*; expected float samples .* or integer PCM"):
        mix_tracks(small_model, {"snare": audio}, 44_100)


def test_remove_dc_high_passes_only_tracks_with_an_offset():
    from mixwave_hf.audio import remove_dc

    rate = 44_100
    rng = np.random.default_rng(7)
    clean = rng.normal(0, 0.1, (2, rate)).astype(np.float32)
    tracks = clean.copy()
    tracks[0] += 0.5
    removed, offsets = remove_dc(tracks, rate)
    assert offsets[0] == pytest.approx(0.5, abs=1e-3) and offsets[1] == 0.0
    np.testing.assert_array_equal(removed[1], clean[1])  # no offset: untouched, bit for bit
    assert abs(removed[0].mean()) < 1e-4 and np.sqrt(np.mean((removed[0] - clean[0]) ** 2)) < 0.05 * 0.1
    assert tracks[0].mean() > 0.49  # not in place unless asked


def test_a_dc_offset_is_removed_before_the_network_and_reported():
    torch.manual_seed(3)
    model = MixWaveUNet(levels=3, base_channels=2)
    with torch.no_grad():
        model.output.bias.zero_()  # a random bias would add a constant of its own
    rate = 44_100
    kick = np.random.default_rng(8).normal(0, 0.1, rate).astype(np.float32)
    clean = mix_tracks(model, {"kick": kick}, rate, peak_ceiling_db=None)
    offset = mix_tracks(model, {"kick": kick + 0.5}, rate, peak_ceiling_db=None)
    assert "kick: DC offset of +0.500 removed (10 Hz high-pass)" in offset.warnings
    assert not any("DC offset" in warning for warning in clean.warnings)
    settled = slice(rate // 10, None)
    assert np.abs(offset.audio[:, settled].mean(axis=1) - clean.audio[:, settled].mean(axis=1)).max() < 1e-3
    difference = np.sqrt(np.mean((offset.audio[:, settled] - clean.audio[:, settled]) ** 2))
    assert difference < 0.02 * np.sqrt(np.mean(clean.audio**2))


def test_very_quiet_tracks_are_reported_unless_the_model_levels_them():
    quiet = {"kick": np.random.default_rng(9).normal(0, 10**-3.5, 4_000).astype(np.float32)}  # about -60 dBFS peak
    paper = mix_tracks(MixWaveUNet(levels=2, base_channels=2), quiet, 44_100)
    assert any("very quiet" in warning and "this model mixes at the level it is given" in warning
               for warning in paper.warnings)
    levelling = mix_tracks(MixWaveUNet(levels=2, base_channels=2, levelling="strokes"), quiet, 44_100)
    assert not any("quiet" in warning for warning in levelling.warnings)
    loud = mix_tracks(MixWaveUNet(levels=2, base_channels=2), {"kick": 1000 * quiet["kick"]}, 44_100)
    assert not any("quiet" in warning for warning in loud.warnings)


def test_an_empty_track_gets_its_own_warning(small_model):
    mixed = mix_tracks(small_model, {"kick": np.full(1_000, 0.1), "snare": np.zeros(0)}, 44_100)
    assert "snare: empty (0 samples); treated as silence" in mixed.warnings
    assert not any("padded with silence" in warning for warning in mixed.warnings)


def test_the_dc_decision_does_not_depend_on_the_level():
    """Decaying strokes average a little off zero; at any gain they are not taken for a DC offset."""
    from mixwave_hf.audio import remove_dc

    t = np.arange(13_230) / 44_100
    stroke = 0.5 * np.sin(2 * np.pi * 120 * t) * np.exp(-t / 0.06)
    track = np.zeros(88_200, np.float32)
    for start in (4_410, 26_460, 48_510, 70_560):
        track[start : start + stroke.size] += stroke[: track.size - start]
    for gain in (0.01, 1.0, 10.0):
        _, offsets = remove_dc(gain * track[None], 44_100)
        assert offsets[0] == 0.0


def tensors_held(value, seen=None):
    """Every tensor reachable from `value` through object attributes, lists, tuples and dicts."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from tensors_held(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_held(item, seen)
    elif hasattr(value, "__dict__") and not isinstance(value, torch.nn.Module | type):
        for item in vars(value).values():
            yield from tensors_held(item, seen)


@pytest.mark.parametrize("split_output", [False, True])
def test_the_stream_makes_its_weights_on_the_models_device(split_output):
    """A weight the stream builds on the CPU broke `mix_tracks(device="cuda")` (found by bench/cuda.py);
    the meta device stands in for a GPU here: every tensor the stream holds must be on it."""
    model = MixWaveUNet(levels=3, base_channels=4, upsampling="learned").to("meta").eval()
    with torch.inference_mode():
        stream = StreamingMixWaveUNet(model, split_output=split_output)
        stream.push(torch.zeros(1, len(model.slot_names), 4096, device="meta"))
    devices = {tensor.device.type for tensor in tensors_held(stream)}
    assert devices == {"meta"}
