"""The stereo multi-resolution STFT loss on sum and difference: the training loss and the metric, one code.

    loss = SumAndDifferenceSTFTLoss((512, 2048, 8192))(estimate, target)   # [batch, 2, samples] each

Why the backward is written by hand: docs/training.md#the-stft-loss.
"""

from __future__ import annotations

import torch

EPS = 1e-8
#: Magnitudes are floored here: sqrt(max(power, EPS)) as auraloss, the float32 value (what floored bins hold).
MAGNITUDE_FLOOR = torch.tensor(EPS).sqrt().item()
_DIMS = (1, 2, 3)


class SumAndDifferenceSTFTLoss(torch.nn.Module):
    """auraloss's `SumAndDifferenceSTFTLoss` at its defaults (per FFT size: spectral convergence + mean
    |log magnitude difference|, Hann window, hop = size / 4, centred with reflection padding, magnitudes
    floored at sqrt(1e-8); the mean over sizes, then over sum and difference). Equal to auraloss to float
    rounding in value and gradient (tests/test_training.py), in under half its time.

    forward([batch, 2, samples] estimate, target) -> the scalar loss; samples > the largest size / 2.
    """

    def __init__(self, fft_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.fft_sizes = tuple(fft_sizes)
        for size in self.fft_sizes:
            self.register_buffer(f"window_{size}", torch.hann_window(size), persistent=False)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = estimate.new_zeros(())
        for size in self.fft_sizes:
            window = getattr(self, f"window_{size}").to(estimate.dtype)
            with torch.no_grad():
                reference = magnitudes(spectrum(sum_and_difference(target), window), target.shape[0])
            total = total + _SpectralDistance.apply(estimate, reference, torch.log(reference), window)
        return total / (2 * len(self.fft_sizes))


def sum_and_difference(audio: torch.Tensor) -> torch.Tensor:
    """[batch, 2, samples] -> [2 * batch, samples]: the L+R signals, then the L-R signals."""
    return torch.cat([audio[:, 0] + audio[:, 1], audio[:, 0] - audio[:, 1]])


def spectrum(signals: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """[n, samples] -> [n, frames, size // 2 + 1] complex centred STFT (frames = 1 + samples // hop)."""
    size = window.shape[0]
    padded = torch.nn.functional.pad(signals.unsqueeze(1), (size // 2, size // 2), mode="reflect").squeeze(1)
    return torch.fft.rfft(padded.unfold(-1, size, size // 4) * window)


def magnitudes(spectrum: torch.Tensor, batch: int) -> torch.Tensor:
    """[2 * batch, frames, bins] complex -> [2 (sum, difference), batch, frames, bins] floored magnitudes
    sqrt(max(re^2 + im^2, EPS)) (as auraloss, and 3x faster than a complex abs)."""
    power = spectrum.real.square() + spectrum.imag.square()
    return power.clamp_(min=EPS).sqrt_().reshape(2, batch, *spectrum.shape[-2:])


class _SpectralDistance(torch.autograd.Function):
    """Sum over sum and difference of spectral convergence + mean |log magnitude difference| at one FFT
    size, with the backward written out: through the magnitude to the spectrum (x |X| / X), the rfft's
    adjoint (size x irfft with interior bins halved), the window, the overlap-add of the frames (size / hop
    shifted adds) and the reflection padding. Autograd's way through torch.stft takes twice as long."""

    @staticmethod
    def forward(ctx, estimate: torch.Tensor, reference: torch.Tensor, log_reference: torch.Tensor,
                window: torch.Tensor) -> torch.Tensor:
        estimated_spectrum = spectrum(sum_and_difference(estimate), window)
        estimated = magnitudes(estimated_spectrum, estimate.shape[0])
        difference = reference - estimated
        difference_norm = torch.linalg.vector_norm(difference, dim=_DIMS)
        reference_norm = torch.linalg.vector_norm(reference, dim=_DIMS)
        log_difference = torch.log(estimated) - log_reference
        bins = log_difference[0].numel()
        ctx.save_for_backward(estimated_spectrum, estimated, difference, difference_norm * reference_norm,
                              log_difference, window)
        ctx.samples = estimate.shape[-1]
        return (difference_norm / reference_norm + log_difference.abs().sum(dim=_DIMS) / bins).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        estimated_spectrum, estimated, difference, norms, log_difference, window = ctx.saved_tensors
        bins = log_difference[0].numel()
        grad_magnitude = log_difference.sign() / (estimated * bins) - difference / norms.view(2, 1, 1, 1)
        grad_per_magnitude = (grad_magnitude * grad / estimated).masked_fill_(estimated <= MAGNITUDE_FLOOR, 0)
        grad_spectrum = estimated_spectrum * grad_per_magnitude.reshape(estimated_spectrum.shape)
        grad_spectrum[..., 1:-1] *= 0.5  # interior bins stand for two conjugate bins of the full spectrum
        for real_bin in (0, -1):  # DC and Nyquist: only their real part reaches a real signal (irfft
            grad_spectrum[..., real_bin].imag.zero_()  # ignores the rest on the CPU, cuFFT need not)
        size, samples = window.shape[0], ctx.samples
        grad_frames = torch.fft.irfft(grad_spectrum, n=size) * (size * window)
        grad_padded = _overlap_add(grad_frames, size // 4, samples + 2 * (size // 2))
        grad_signals = _reflection_pad_backward(grad_padded, size // 2, samples)
        grad_sum, grad_difference = grad_signals.chunk(2)
        return torch.stack([grad_sum + grad_difference, grad_sum - grad_difference], dim=1), None, None, None


def _overlap_add(frames: torch.Tensor, hop: int, samples: int) -> torch.Tensor:
    """[n, frames, size] frames hop apart (size a multiple of hop) -> [n, samples] their sum in place."""
    count, size = frames.shape[-2:]
    shifts = size // hop
    summed = frames.new_zeros(frames.shape[0], count + shifts - 1, hop)
    blocks = frames.reshape(frames.shape[0], count, shifts, hop)
    for shift in range(shifts):
        summed[:, shift:shift + count] += blocks[:, :, shift]
    summed = summed.reshape(frames.shape[0], -1)
    return torch.nn.functional.pad(summed, (0, samples - summed.shape[-1]))


def _reflection_pad_backward(grad_padded: torch.Tensor, pad: int, samples: int) -> torch.Tensor:
    """[n, pad + samples + pad] gradient of a reflection-padded signal -> [n, samples] of the signal."""
    grad = grad_padded[:, pad:pad + samples].clone()
    grad[:, 1:pad + 1] += grad_padded[:, :pad].flip(-1)
    grad[:, samples - 1 - pad:samples - 1] += grad_padded[:, pad + samples:].flip(-1)
    return grad
