"""Streaming inference: the network run over a signal of any length, chunk by chunk.

Windowed inference recomputes each window's context: at the paper's window (121,843 input samples
for 89,093 output samples) that is 17% more work than one pass over the song. Here each layer
keeps just the state it needs between chunks (the last kernel-1 inputs of a convolution, the
decimation phase, the skip samples its decoder level has not consumed yet), so every sample of
every layer is computed once, as in one forward pass over the whole song, while memory is set by
the chunk size. Decoder levels skip building the upsampled signal (`DecoderLevelStream`). Signals
are held time-major (`time_major_empty`), where oneDNN's convolutions run fastest. The output
equals a full pass to float rounding.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from mixwave_hf.model_options import NEGATIVE_SLOPE

if TYPE_CHECKING:
    from mixwave_hf.model import MixWaveUNet


def time_major_empty(like: torch.Tensor, batch: int, channels: int, samples: int) -> torch.Tensor:
    """An uninitialised [batch, channels, samples] tensor stored time-major (samples, then channels).

    oneDNN convolves this layout (channels-last) 1.4-3.7x faster than channel-major on the paper
    model's full- and half-rate levels (2 threads, Zen 5: 24->24 channels kernel 5 at 65k samples
    1.1 vs 4.1 ms, 96->48 kernel 4 at 33k 2.4 vs 4.1 ms), and the same on the deep, short levels;
    the whole stream of a 20 s song: 0.85 -> 0.64 s.
    """
    return like.new_empty(batch, samples, channels).transpose(1, 2)


def time_major_weight(weight: torch.Tensor) -> torch.Tensor:
    """[out, in, taps] convolution weight -> [out, in, 1, taps] channels-last, for `convolve`."""
    return weight.detach()[:, :, None, :].contiguous(memory_format=torch.channels_last)


def convolve(signal: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Valid convolution of a time-major [batch, in, n] signal with a `time_major_weight`:
    [batch, out, n - taps + 1], time-major."""
    return F.conv2d(signal.unsqueeze(2), weight, bias).squeeze(2)


class ConvStream:
    """A valid convolution (and LeakyReLU) over a stream: keeps the last kernel-1 input samples.
    Weights are read when the stream is made."""

    def __init__(self, conv: nn.Conv1d, activation: bool = True) -> None:
        self.activation = activation
        self.weight = time_major_weight(conv.weight)
        self.bias = None if conv.bias is None else conv.bias.detach()
        self.keep = conv.kernel_size[0] - 1
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.tail: torch.Tensor | None = None

    def input_buffer(self, like: torch.Tensor, new_samples: int) -> tuple[torch.Tensor, int]:
        """An uninitialised time-major [batch, in_channels, held + new_samples] input with the held
        tail copied in front; returns it and `held`, where the caller writes the new samples."""
        held = 0 if self.tail is None else self.tail.shape[-1]
        buffer = time_major_empty(like, like.shape[0], self.in_channels, held + new_samples)
        if held:
            buffer[..., :held] = self.tail
        return buffer, held

    def run(self, buffer: torch.Tensor) -> torch.Tensor:
        """Convolve a filled input buffer: [batch, out_channels, newly computable samples]."""
        if self.keep:
            self.tail = buffer[..., max(0, buffer.shape[-1] - self.keep) :].clone()
        if buffer.shape[-1] <= self.keep:
            return buffer.new_empty(buffer.shape[0], self.out_channels, 0)
        outputs = self.convolve(buffer)
        return F.leaky_relu_(outputs, NEGATIVE_SLOPE) if self.activation else outputs

    def convolve(self, buffer: torch.Tensor) -> torch.Tensor:
        return convolve(buffer, self.weight, self.bias)


class SplitOutputStream(ConvStream):
    """The output convolution as its two parts, stacked: [batch, 2·outputs, n], the static part (its
    weights on the `tracks` input tracks, no bias) then the processed part (its weights on the features,
    and the bias). Their sum is the model's output; `mixing.mix_tracks` blends them for `intensity`.
    Both run as one convolution whose weights are zero where a part does not reach (x·0 adds nothing)."""

    def __init__(self, conv: nn.Conv1d, tracks: int) -> None:
        super().__init__(conv, activation=False)
        weight = conv.weight.detach()
        parts = weight.new_zeros(2, *weight.shape)  # [static/processed, out, in, taps]
        parts[0, :, :tracks], parts[1, :, tracks:] = weight[:, :tracks], weight[:, tracks:]
        self.weight = time_major_weight(parts.flatten(0, 1))
        self.out_channels = 2 * conv.out_channels
        if self.bias is not None:
            self.bias = torch.cat([torch.zeros_like(self.bias), self.bias])


class CentreCropQueue:
    """The centre crop of a stream (a skip connection, or the input the output lines up with): drops
    `offset` leading samples, then queues the rest until the decoder level consumes them (the skip runs
    ahead of the deeper path)."""

    def __init__(self, offset: int) -> None:
        self.to_drop = offset
        self.queue: deque[torch.Tensor] = deque()

    def push(self, samples: torch.Tensor) -> None:
        dropped = min(self.to_drop, samples.shape[-1])
        self.to_drop -= dropped
        if samples.shape[-1] > dropped:
            self.queue.append(samples[..., dropped:])

    def take_into(self, destination: torch.Tensor) -> None:
        """Fill [batch, channels, n] `destination` with the next n queued samples."""
        filled, wanted = 0, destination.shape[-1]
        while filled < wanted:
            if not self.queue:
                raise RuntimeError("a skip stream fell behind its decoder level")  # skips always lead
            chunk = self.queue[0]
            count = min(wanted - filled, chunk.shape[-1])
            destination[..., filled : filled + count] = chunk[..., :count]
            filled += count
            if count == chunk.shape[-1]:
                self.queue.popleft()
            else:
                self.queue[0] = chunk[..., count:]


class DecoderLevelStream:
    """One decoder level over a stream: upsampling (n -> 2n-1), the centre-cropped skip, the kernel-5
    convolution and LeakyReLU, computed without building the upsampled signal.

    The upsampled signal holds the features x at even positions and s·x[m] + (1-s)·x[m+1] between
    them (s = 0.5 for linear upsampling), so the convolution's upsampled half is, at even output
    positions and at odd ones, a convolution of x itself with one of two polyphase kernels. Both run
    at x's (half) rate as one convolution with 2·out_channels outputs (for kernel 5: 8 taps per
    output pair where the upsampled signal needs 10), and no upsampled tensor is written. The skip
    half is an ordinary convolution; the two halves are added in place. Weights are read when the
    stream is made.
    """

    def __init__(self, conv: nn.Conv1d, interpolation: torch.Tensor | None, skip: CentreCropQueue) -> None:
        weight = conv.weight.detach()
        kernel, self.out_channels = conv.kernel_size[0], conv.out_channels
        skip_weight, up_weight = weight[:, : self.out_channels], weight[:, self.out_channels :]
        share = 0.5 if interpolation is None else torch.sigmoid(interpolation.detach())[None, :]
        self.taps = (kernel + 1) // 2 + 1  # samples of x that an output pair reaches
        phases = up_weight.new_zeros(2, *up_weight.shape[:2], self.taps)  # [even/odd, out, in, taps]
        for parity in (0, 1):
            for k in range(kernel):  # upsampled sample 2m + parity + k, in terms of x
                position = parity + k
                if position % 2 == 0:
                    phases[parity, ..., position // 2] += up_weight[..., k]
                else:
                    phases[parity, ..., position // 2] += share * up_weight[..., k]
                    phases[parity, ..., position // 2 + 1] += (1 - share) * up_weight[..., k]
        self.polyphase_weight = time_major_weight(phases.flatten(0, 1))  # [2·out, in, 1, taps]: even, then odd
        self.skip_weight, self.bias = time_major_weight(skip_weight), conv.bias.detach()
        self.in_channels, self.skip_channels = up_weight.shape[1], skip_weight.shape[1]
        self.skip_overlap = kernel - 1
        self.skip = skip
        self.features_tail: torch.Tensor | None = None
        self.skip_tail: torch.Tensor | None = None

    def push(self, features: torch.Tensor) -> torch.Tensor:
        """[batch, channels, n] new deeper-level features -> [batch, out_channels, 2m] new outputs,
        time-major."""
        batch = features.shape[0]
        held = 0 if self.features_tail is None else self.features_tail.shape[-1]
        if held:
            joined = time_major_empty(features, batch, self.in_channels, held + features.shape[-1])
            joined[..., :held] = self.features_tail
            joined[..., held:] = features
            features = joined
        self.features_tail = features[..., max(0, features.shape[-1] - self.taps + 1) :].clone()
        pairs = features.shape[-1] - self.taps + 1
        if pairs <= 0:
            return features.new_empty(batch, self.out_channels, 0)
        # [batch, 2·out, pairs] time-major holds, per pair, the even then the odd outputs: in memory,
        # that is the [batch, out, 2·pairs] interleaved signal, time-major, so no copy interleaves it.
        upsampled_part = convolve(features, self.polyphase_weight, None).transpose(1, 2)
        upsampled_part = upsampled_part.reshape(batch, 2 * pairs, self.out_channels).transpose(1, 2)
        held = 0 if self.skip_tail is None else self.skip_tail.shape[-1]
        skip = time_major_empty(features, batch, self.skip_channels, 2 * pairs + self.skip_overlap)
        if held:
            skip[..., :held] = self.skip_tail
        self.skip.take_into(skip[..., held:])
        self.skip_tail = skip[..., skip.shape[-1] - self.skip_overlap :].clone() if self.skip_overlap else None
        outputs = convolve(skip, self.skip_weight, self.bias)
        outputs += upsampled_part
        return F.leaky_relu_(outputs, NEGATIVE_SLOPE)


class StreamingMixWaveUNet:
    """Runs `model` over a stream of tracks: push chunks of input, get the newly computable output.

    Output sample t of the stream is output sample t of one forward pass over everything pushed:
    output t sees input samples t .. t + 2·context, so push `context` samples (zeros, say) before
    the first sample to be mixed. Nothing here builds an autograd graph if called under
    `torch.inference_mode()`. With `split_output` the output layer's two parts come out stacked
    (`SplitOutputStream`): [batch, 2·outputs, m], static then processed.
    """

    def __init__(self, model: MixWaveUNet, split_output: bool = False) -> None:
        skip_offsets, input_offset = model.crop_offsets()
        self.down = [ConvStream(conv) for conv in model.down]
        self.down_positions = [0] * model.levels  # samples each level has produced: the decimation phase
        self.bottleneck = ConvStream(model.bottleneck)
        self.skips = [CentreCropQueue(offset) for offset in skip_offsets]  # deepest first, as the decoder
        weights = model.interpolation if model.interpolation is not None else [None] * model.levels
        self.up = [DecoderLevelStream(conv, weight, skip)
                   for conv, weight, skip in zip(model.up, weights, self.skips, strict=True)]
        self.input_crop = CentreCropQueue(input_offset)
        self.output = (SplitOutputStream(model.output, len(model.slot_names)) if split_output
                       else ConvStream(model.output, activation=False))

    def push(self, tracks: torch.Tensor) -> torch.Tensor:
        """[batch, slots, n] next input samples -> [batch, outputs, m] next output samples (m may be 0)."""
        # One time-major copy, kept past this call for the output layer (the caller may reuse `tracks`).
        features = time_major_empty(tracks, *tracks.shape)
        features.copy_(tracks)
        self.input_crop.push(features)
        for level, (conv, skip) in enumerate(zip(self.down, reversed(self.skips), strict=True)):
            buffer, held = conv.input_buffer(tracks, features.shape[-1])
            buffer[..., held:] = features
            features = conv.run(buffer)
            skip.push(features)
            first_even = self.down_positions[level] % 2
            self.down_positions[level] += features.shape[-1]
            features = features[..., first_even::2]
        buffer, held = self.bottleneck.input_buffer(tracks, features.shape[-1])
        buffer[..., held:] = features
        features = self.bottleneck.run(buffer)
        for level in self.up:
            features = level.push(features)
        buffer, held = self.output.input_buffer(tracks, features.shape[-1])
        self.input_crop.take_into(buffer[:, : tracks.shape[1], held:])
        buffer[:, tracks.shape[1] :, held:] = features
        return self.output.run(buffer)
