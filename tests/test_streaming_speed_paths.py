"""The streaming speed paths: time-major convolutions, and the one-convolution split output."""

import pytest
import torch
import torch.nn.functional as F
from test_mixing import full_pass  # one forward pass over a whole song: the reference every stream equals

from mixwave_hf.mixing import run_streamed
from mixwave_hf.model import MixWaveUNet
from mixwave_hf.streaming import convolve, time_major_empty, time_major_weight


@pytest.mark.parametrize("batch,channels_in,channels_out,taps",
                         [(1, 8, 24, 15), (3, 5, 2, 4), (2, 1, 1, 1), (1, 1, 3, 5)])
def test_time_major_convolution_equals_conv1d(batch, channels_in, channels_out, taps):
    torch.manual_seed(0)
    signal, bias = torch.randn(batch, channels_in, 300), torch.randn(channels_out)
    weight = torch.randn(channels_out, channels_in, taps)
    time_major = time_major_empty(signal, batch, channels_in, 300)
    time_major.copy_(signal)
    result = convolve(time_major, time_major_weight(weight), bias)
    torch.testing.assert_close(result, F.conv1d(signal, weight, bias), atol=1e-5, rtol=1e-5)
    if channels_out > 1:
        assert result.stride(1) == 1  # time-major out, as the next layer reads it without a reorder


@pytest.mark.parametrize("window_steps,segments", [(1, 1), (5, 3)])
def test_single_channel_widths_stream_as_a_full_pass(window_steps, segments):
    """One track, one feature channel at level 0, mono out: layouts where time-major and channel-major coincide."""
    torch.manual_seed(3)
    model = MixWaveUNet(levels=3, base_channels=1, slot_names=("kick",), outputs=1, output_kernel=3)
    tracks = torch.randn(1, 4_000) * 0.1
    expected = full_pass(model, tracks)
    window, cpu = window_steps * 2**model.levels, torch.device("cpu")
    streamed = run_streamed(model, tracks, window, segments, cpu)
    assert (streamed - expected).abs().max() <= 1e-4 * expected.abs().max()
    parts = run_streamed(model, tracks, window, segments, cpu, split_output=True)
    torch.testing.assert_close(parts[:1] + parts[1:], streamed, atol=1e-6, rtol=1e-5)
