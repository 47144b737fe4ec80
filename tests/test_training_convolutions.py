"""CPU training's long-kernel convolutions (mixwave_hf/training/convolutions.py): the same outputs and, to
float rounding, the same gradients as nn.Conv1d; the model keeps its parameters, names and files."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mixwave_hf.model import MixWaveUNet
from mixwave_hf.training.convolutions import (
    LongKernelConv1d,
    cpu_training_convolutions,
    takes_the_gemm_path,
    training_convolutions,
)


def gradients(module: nn.Module, inputs: torch.Tensor, grad: torch.Tensor) -> list[torch.Tensor]:
    inputs = inputs.clone().requires_grad_(inputs.requires_grad)
    output = module(inputs)
    wanted = [inputs] if inputs.requires_grad else []
    return [output, *torch.autograd.grad(output, [*wanted, *module.parameters()], grad)]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("input_grad", [True, False])
def test_a_long_kernel_conv_equals_nn_conv1d_in_output_and_gradients(bias, input_grad):
    torch.manual_seed(0)
    plain = nn.Conv1d(12, 20, 15, bias=bias)
    long_kernel = cpu_training_convolutions(copy.deepcopy(plain))
    assert type(long_kernel) is LongKernelConv1d
    inputs = torch.randn(3, 12, 500).requires_grad_(input_grad)
    grad = torch.randn(3, 20, 486)
    expected, found = gradients(plain, inputs, grad), gradients(long_kernel, inputs, grad)
    assert torch.equal(found[0], expected[0])  # the forward is F.conv1d itself
    for got, want in zip(found[1:], expected[1:], strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max()))


def test_the_long_kernel_backward_passes_gradcheck():
    """In float64 against finite differences, for the input, the weight and the bias."""
    conv = cpu_training_convolutions(nn.Conv1d(2, 3, 9).double())
    inputs = torch.randn(2, 2, 16, dtype=torch.float64, requires_grad=True)
    weight, bias = (conv.weight.detach().clone().requires_grad_(), conv.bias.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(lambda x, w, b: torch.func.functional_call(conv, {"weight": w, "bias": b}, (x,)),
                                    (inputs, weight, bias), fast_mode=True)


def test_only_valid_long_kernel_convolutions_change():
    assert takes_the_gemm_path(nn.Conv1d(4, 4, 9))
    for other in (nn.Conv1d(4, 4, 7), nn.Conv1d(4, 4, 15, padding=7), nn.Conv1d(4, 4, 15, stride=2),
                  nn.Conv1d(4, 4, 15, groups=2), nn.Conv1d(4, 4, 15, dilation=2), nn.Conv2d(4, 4, 15)):
        assert not takes_the_gemm_path(other)


def test_a_model_with_long_kernel_convolutions_trains_and_saves_as_before(tmp_path):
    """The down and bottleneck convolutions (kernel 15) change, the up (5) and output (1) ones do not;
    parameters are the same objects under the same names; the loss and every gradient are the plain
    model's to float rounding; the saved model loads as a plain MixWaveUNet with equal weights."""
    torch.manual_seed(0)
    plain = MixWaveUNet(levels=3, base_channels=6)
    model = copy.deepcopy(plain)
    parameters = dict(model.named_parameters())
    assert cpu_training_convolutions(model) is model
    assert [type(conv) for conv in (*model.down, model.bottleneck)] == [LongKernelConv1d] * 4
    assert all(type(conv) is nn.Conv1d for conv in (*model.up, model.output))
    assert {name: id(tensor) for name, tensor in model.named_parameters()} == \
        {name: id(tensor) for name, tensor in parameters.items()}
    tracks = torch.randn(2, 8, model.valid_lengths(2000).input)
    outputs = [network(tracks) for network in (plain, model)]
    assert torch.equal(outputs[0], outputs[1])
    for output in outputs:
        output.square().mean().backward()
    assert all(conv.weight.grad.abs().max() > 0 for conv in (*model.down, model.bottleneck))  # gradients reach them
    for (name, want), got in zip(plain.named_parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-5, atol=1e-5 * float(want.grad.abs().max()),
                                   msg=name)
    model.save_pretrained(tmp_path / "long_kernel")
    plain.save_pretrained(tmp_path / "plain")
    assert (tmp_path / "long_kernel" / "config.json").read_text() == (tmp_path / "plain" / "config.json").read_text()
    loaded = MixWaveUNet.from_pretrained(tmp_path / "long_kernel")
    assert all(type(conv) is nn.Conv1d for conv in loaded.down)
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name


def test_a_model_with_long_kernel_convolutions_takes_the_same_optimizer_steps():
    """Five Adam steps on one batch: the same losses and weights as the plain model's, to float rounding."""
    torch.manual_seed(0)
    plain = MixWaveUNet(levels=3, base_channels=6)
    model = cpu_training_convolutions(copy.deepcopy(plain))
    lengths = plain.valid_lengths(1000)
    generator = torch.Generator().manual_seed(1)
    batch = (torch.randn(2, 8, lengths.input, generator=generator), torch.randn(2, 2, lengths.output,
                                                                              generator=generator))
    batches = [batch] * 5  # one batch again and again: the loss must fall
    losses = {}
    for name, network in (("plain", plain), ("long_kernel", model)):
        optimizer = torch.optim.Adam(network.parameters(), lr=1e-3)
        losses[name] = []
        for tracks, target in batches:
            optimizer.zero_grad()
            loss = (network(tracks) - target).abs().mean()
            loss.backward()
            optimizer.step()
            losses[name].append(loss.item())
    assert losses["long_kernel"] == pytest.approx(losses["plain"], rel=1e-5)
    assert losses["plain"][-1] < losses["plain"][0]
    for (name, want), got in zip(plain.named_parameters(), model.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6, msg=name)


def test_only_training_on_the_cpu_takes_the_long_kernel_convolutions():
    for device, kind in (("cpu", LongKernelConv1d), (torch.device("cuda"), nn.Conv1d), ("meta", nn.Conv1d)):
        model = training_convolutions(MixWaveUNet(levels=2, base_channels=4), device)
        assert type(model.down[0]) is kind, device
