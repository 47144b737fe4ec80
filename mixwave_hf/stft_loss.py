"""The stereo multi-resolution STFT loss on sum and difference: the training loss and the metric, one code.

    loss = SumAndDifferenceSTFTLoss((512, 2048, 8192))(estimate, target)   # [batch, 2, samples] each
"""

from __future__ import annotations

import torch


class SumAndDifferenceSTFTLoss(torch.nn.Module):
    """auraloss's `SumAndDifferenceSTFTLoss` at its defaults (per FFT size: spectral convergence + mean
    |log magnitude difference|, Hann window, hop = size / 4, magnitudes floored at sqrt(1e-8); the mean
    over sizes, then over sum and difference), in half its STFTs: sum and difference in one call, the
    target's without autograd, and no phase (auraloss computes an unused angle). Equal to auraloss to
    float rounding (tests/test_training.py); 85 -> 69 ms of a one-thread default-model training step.

    forward([batch, 2, samples] estimate, target) -> the scalar loss.
    """

    EPS = 1e-8

    def __init__(self, fft_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.fft_sizes = tuple(fft_sizes)
        for size in self.fft_sizes:
            self.register_buffer(f"window_{size}", torch.hann_window(size), persistent=False)

    def magnitudes(self, audio: torch.Tensor, size: int) -> torch.Tensor:
        """[batch, 2, samples] -> [2 (sum, difference), batch, size // 2 + 1, frames] STFT magnitudes."""
        sum_and_difference = torch.stack([audio[:, 0] + audio[:, 1], audio[:, 0] - audio[:, 1]])
        spectrum = torch.stft(sum_and_difference.reshape(-1, audio.shape[-1]), size, size // 4, size,
                              getattr(self, f"window_{size}"), return_complex=True)
        magnitude = torch.clamp(spectrum.abs(), min=self.EPS**0.5)  # = sqrt(max(power, EPS)), one kernel
        return magnitude.reshape(2, audio.shape[0], *magnitude.shape[-2:])

    def forward(self, estimate: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = estimate.new_zeros(())
        for size in self.fft_sizes:
            estimated = self.magnitudes(estimate, size)
            with torch.no_grad():
                reference = self.magnitudes(target, size)
                log_reference = torch.log(reference)
            dims = (1, 2, 3)
            convergence = (torch.linalg.vector_norm(reference - estimated, dim=dims)
                           / torch.linalg.vector_norm(reference, dim=dims))
            log_distance = (torch.log(estimated) - log_reference).abs().mean(dim=dims)
            total = total + (convergence + log_distance).sum()
        return total / (2 * len(self.fft_sizes))
