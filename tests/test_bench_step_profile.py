"""bench/step_profile.py: each convolution of a model found at the shapes a forward gives it, and each of its
passes timed alone with the FLOPs it does (a tiny model: the figures' arithmetic, not their speed).

bench/ is no package of the wheel: the repository's root is put on the path to import it as `bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import step_profile  # noqa: E402
from mixwave_hf.model import MixWaveUNet, MixWaveUNetConfig  # noqa: E402
from mixwave_hf.training.convolutions import LongKernelConv1d, cpu_training_convolutions  # noqa: E402


def test_every_convolution_is_found_with_its_input_in_forward_order():
    model = MixWaveUNet(MixWaveUNetConfig(levels=2, base_channels=4))
    tracks = torch.randn(2, len(model.slot_names), model.valid_lengths(64).input)
    found = step_profile.convolution_inputs(model, tracks)
    assert list(found) == ["down.0", "down.1", "bottleneck", "up.0", "up.1", "output"]
    assert found["down.0"][1] is tracks and found["down.1"][1].shape[1] == model.down[0].out_channels
    assert all(isinstance(conv, nn.Conv1d) for conv, _ in found.values())


def test_a_convolution_is_timed_pass_by_pass_with_its_flops():
    conv = cpu_training_convolutions(nn.Sequential(nn.Conv1d(3, 5, 15)))[0]
    assert isinstance(conv, LongKernelConv1d)
    timing = step_profile.time_convolution("layer", conv, torch.randn(2, 3, 100), repeats=1)
    assert timing.flops == 2 * (2 * 5 * 86) * 3 * 15  # 2 x multiply-adds: outputs x inputs x taps
    assert min(timing.forward, timing.input_gradient, timing.weight_gradient) > 0 and timing.passes == 3
    first = step_profile.time_convolution("first", nn.Conv1d(3, 5, 5), torch.randn(2, 3, 50), 1, input_gradient=False)
    assert first.input_gradient is None and first.passes == 2 and first.seconds == first.forward + first.weight_gradient
