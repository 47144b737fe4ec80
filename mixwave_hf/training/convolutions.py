"""CPU training's long-kernel convolutions: the input gradient computed as a forward convolution.

    training_convolutions(model, accelerator.device)   # in place on the CPU; weights and state_dict unchanged

oneDNN (torch's CPU convolutions) computes the input gradient of a conv1d whose kernel is longer than
7 taps through its im2col GEMM path, at about half the speed of its direct forward kernels (AVX2,
torch 2.13: the input gradient of a kernel-15 layer about 2x faster this way on one thread). The
input gradient of a valid convolution is the full convolution of the output gradient with the kernel
flipped in time and transposed in channels: one forward conv1d of the gradient zero-padded by
kernel-1 on each side, the same FLOPs. The weight gradient stays oneDNN's. Why and what was measured:
docs/training.md#cpu-training-speed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: oneDNN's direct backward-data kernels take kernels up to this many taps; longer ones go through its GEMM.
DIRECT_BACKWARD_TAPS = 7


class _ValidConv1d(torch.autograd.Function):
    """conv1d(x, weight, bias) with stride 1, no padding, no dilation, one group; its input gradient by
    a forward convolution (the module docstring), its weight and bias gradients by oneDNN."""

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        ctx.save_for_backward(inputs, weight)
        ctx.has_bias = bias is not None
        return F.conv1d(inputs, weight, bias)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        inputs, weight = ctx.saved_tensors
        inputs, weight = inputs.to(grad.dtype), weight.to(grad.dtype)  # as autocast ran the forward
        taps = weight.shape[-1]
        grad_inputs = None
        if ctx.needs_input_grad[0]:
            grad_inputs = F.conv1d(F.pad(grad, (taps - 1, taps - 1)), weight.flip(-1).transpose(0, 1))
        wanted = [False, ctx.needs_input_grad[1], ctx.has_bias and ctx.needs_input_grad[2]]
        _, grad_weight, grad_bias = torch.ops.aten.convolution_backward(
            grad, inputs, weight, [weight.shape[0]] if ctx.has_bias else None, [1], [0], [1], False, [0], 1, wanted)
        return grad_inputs, grad_weight, grad_bias if ctx.has_bias else None


class LongKernelConv1d(nn.Conv1d):
    """An nn.Conv1d (valid, stride 1, one group) whose backward takes `_ValidConv1d`'s way: the same
    parameters, outputs and state_dict; gradients equal to float rounding."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return _ValidConv1d.apply(inputs, self.weight, self.bias)


def takes_the_gemm_path(conv: nn.Module) -> bool:
    """Whether `conv` is a plain valid nn.Conv1d whose kernel is longer than `DIRECT_BACKWARD_TAPS`."""
    return (type(conv) is nn.Conv1d and conv.kernel_size[0] > DIRECT_BACKWARD_TAPS and conv.stride == (1,)
            and conv.padding == (0,) and conv.dilation == (1,) and conv.groups == 1)


def cpu_training_convolutions(model: nn.Module) -> nn.Module:
    """Make every long-kernel valid nn.Conv1d of `model` a `LongKernelConv1d`, in place (its parameters,
    their identity, names and values unchanged); returns `model`. For training on the CPU."""
    for conv in model.modules():
        if takes_the_gemm_path(conv):
            conv.__class__ = LongKernelConv1d
    return model


def training_convolutions(model: nn.Module, device: torch.device) -> nn.Module:
    """The convolutions training on `device` runs: `cpu_training_convolutions` on the CPU, the model as it
    is elsewhere (the slow backward is oneDNN's, the CPU's). In place; returns `model`."""
    return cpu_training_convolutions(model) if torch.device(device).type == "cpu" else model
