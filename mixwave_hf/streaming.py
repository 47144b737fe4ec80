"""Streaming inference: the network run over a signal of any length, chunk by chunk.

Windowed inference recomputes each window's context: at the paper's window (121,843 input samples
for 89,093 output samples) that is 37% more work than the output needs. Here each layer keeps just
the state it needs between chunks (the last kernel-1 inputs of a convolution, the decimation phase,
the last sample before an upsampling, the skip samples its decoder level has not consumed yet), so
every sample of every layer is computed once, as in one forward pass over the whole song, while
memory is set by the chunk size. Each layer's input is assembled once, in one buffer (tail,
skip, upsampled features), to keep copies down. The output equals a full pass to float rounding.
"""

from __future__ import annotations

from collections import deque

import torch
import torch.nn.functional as F
from torch import nn

from mixwave_hf.model import NEGATIVE_SLOPE, MixWaveUNet


class ConvStream:
    """A valid convolution (and LeakyReLU) over a stream: keeps the last kernel-1 input samples."""

    def __init__(self, conv: nn.Conv1d, activation: bool = True) -> None:
        self.conv, self.activation = conv, activation
        self.keep = conv.kernel_size[0] - 1
        self.tail: torch.Tensor | None = None

    def input_buffer(self, like: torch.Tensor, new_samples: int) -> tuple[torch.Tensor, int]:
        """An uninitialised [batch, in_channels, held + new_samples] input with the held tail copied in
        front; returns it and `held`, where the caller writes the new samples."""
        held = 0 if self.tail is None else self.tail.shape[-1]
        buffer = like.new_empty(like.shape[0], self.conv.in_channels, held + new_samples)
        if held:
            buffer[..., :held] = self.tail
        return buffer, held

    def run(self, buffer: torch.Tensor) -> torch.Tensor:
        """Convolve a filled input buffer: [batch, out_channels, newly computable samples]."""
        if self.keep:
            self.tail = buffer[..., max(0, buffer.shape[-1] - self.keep) :].clone()
        if buffer.shape[-1] <= self.keep:
            return buffer.new_empty(buffer.shape[0], self.conv.out_channels, 0)
        outputs = self.conv(buffer)
        return F.leaky_relu_(outputs, NEGATIVE_SLOPE) if self.activation else outputs


class CropStream:
    """A centre-cropped skip connection: drops `offset` leading samples, then queues the rest until
    the decoder level consumes them (the skip runs ahead of the deeper path)."""

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


class UpsampleStream:
    """Upsampling n -> 2n-1 over a stream (see `model.upsample`): keeps the last sample seen, since
    the next chunk's first interpolated sample lies between it and that chunk's first sample."""

    def __init__(self, weight: torch.Tensor | None) -> None:
        self.share = 0.5 if weight is None else torch.sigmoid(weight)[:, None]
        self.last: torch.Tensor | None = None

    def output_length(self, new_samples: int) -> int:
        if new_samples == 0:
            return 0
        return 2 * new_samples if self.last is not None else 2 * new_samples - 1

    def write(self, destination: torch.Tensor, features: torch.Tensor) -> None:
        """Write the upsampled `features` [batch, c, n] into `destination` [batch, c, output_length(n)]."""
        if features.shape[-1] == 0:
            return
        if self.last is not None:
            features = torch.cat([self.last, features], dim=-1)
            originals, between = destination[..., 1::2], destination[..., 0::2]
            originals.copy_(features[..., 1:])
        else:
            originals, between = destination[..., 0::2], destination[..., 1::2]
            originals.copy_(features)
        torch.lerp(features[..., 1:], features[..., :-1], self.share, out=between)
        self.last = features[..., -1:].clone()


class StreamingMixWaveUNet:
    """Runs `model` over a stream of tracks: push chunks of input, get the newly computable output.

    Output sample t of the stream is output sample t of one forward pass over everything pushed:
    output t sees input samples t .. t + 2·context, so push `context` samples (zeros, say) before
    the first sample to be mixed. Nothing here builds an autograd graph if called under
    `torch.inference_mode()`.
    """

    def __init__(self, model: MixWaveUNet) -> None:
        skip_offsets, input_offset = model.crop_offsets()
        self.down = [ConvStream(conv) for conv in model.down]
        self.down_positions = [0] * model.levels  # samples each level has produced: the decimation phase
        self.bottleneck = ConvStream(model.bottleneck)
        weights = model.interpolation if model.interpolation is not None else [None] * model.levels
        self.upsample = [UpsampleStream(weight) for weight in weights]
        self.skips = [CropStream(offset) for offset in skip_offsets]  # deepest first, as the decoder
        self.up = [ConvStream(conv) for conv in model.up]
        self.input_crop = CropStream(input_offset)
        self.output = ConvStream(model.output, activation=False)

    def push(self, tracks: torch.Tensor) -> torch.Tensor:
        """[batch, slots, n] next input samples -> [batch, outputs, m] next output samples (m may be 0)."""
        self.input_crop.push(tracks.clone())  # kept past this call: the caller may reuse `tracks`
        features = tracks
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
        for upsample, skip, conv in zip(self.upsample, self.skips, self.up, strict=True):
            skip_channels = conv.conv.in_channels - features.shape[1]
            buffer, held = conv.input_buffer(tracks, upsample.output_length(features.shape[-1]))
            skip.take_into(buffer[:, :skip_channels, held:])
            upsample.write(buffer[:, skip_channels:, held:], features)
            features = conv.run(buffer)
        buffer, held = self.output.input_buffer(tracks, features.shape[-1])
        self.input_crop.take_into(buffer[:, : tracks.shape[1], held:])
        buffer[:, tracks.shape[1] :, held:] = features
        return self.output.run(buffer)
