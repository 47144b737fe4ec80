"""Streaming inference: the network run over a signal of any length, chunk by chunk.

Windowed inference recomputes each window's context: at the paper's window (121,843 input samples
for 89,093 output samples) that is 17% more work than one pass over the song. Here each layer
keeps just the state it needs between chunks (the last kernel-1 inputs of a convolution, the
decimation phase, the skip samples its decoder level has not consumed yet), so every sample of
every layer is computed once, as in one forward pass over the whole song, while memory is set by
the chunk size. Decoder levels skip building the upsampled signal (`DecoderLevelStream`). The
output equals a full pass to float rounding.
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
        self.out_channels = conv.out_channels
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
            return buffer.new_empty(buffer.shape[0], self.out_channels, 0)
        outputs = self.convolve(buffer)
        return F.leaky_relu_(outputs, NEGATIVE_SLOPE) if self.activation else outputs

    def convolve(self, buffer: torch.Tensor) -> torch.Tensor:
        return self.conv(buffer)


class SplitOutputStream(ConvStream):
    """The output convolution as its two parts, stacked: [batch, 2·outputs, n], the static part (its
    weights on the `tracks` input tracks, no bias) then the processed part (its weights on the features,
    and the bias). Their sum is the model's output; `mixing.mix_tracks` blends them for `intensity`."""

    def __init__(self, conv: nn.Conv1d, tracks: int) -> None:
        super().__init__(conv, activation=False)
        weight = conv.weight.detach()
        self.tracks, self.out_channels = tracks, 2 * conv.out_channels
        self.track_weight, self.feature_weight = weight[:, :tracks], weight[:, tracks:]
        self.bias = None if conv.bias is None else conv.bias.detach()

    def convolve(self, buffer: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.conv1d(buffer[:, : self.tracks], self.track_weight),
                          F.conv1d(buffer[:, self.tracks :], self.feature_weight, self.bias)], dim=1)


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

    def __init__(self, conv: nn.Conv1d, interpolation: torch.Tensor | None, skip: CropStream) -> None:
        weight = conv.weight.detach()
        kernel, self.out_channels = conv.kernel_size[0], conv.out_channels
        skip_weight, up_weight = weight[:, : self.out_channels], weight[:, self.out_channels :]
        share = 0.5 if interpolation is None else torch.sigmoid(interpolation.detach())[None, :]
        self.taps = (kernel + 1) // 2 + 1  # samples of x that an output pair reaches
        phases = torch.zeros(2, *up_weight.shape[:2], self.taps)  # [even/odd, out, in, taps]
        for parity in (0, 1):
            for k in range(kernel):  # upsampled sample 2m + parity + k, in terms of x
                position = parity + k
                if position % 2 == 0:
                    phases[parity, ..., position // 2] += up_weight[..., k]
                else:
                    phases[parity, ..., position // 2] += share * up_weight[..., k]
                    phases[parity, ..., position // 2 + 1] += (1 - share) * up_weight[..., k]
        self.polyphase_weight = phases.flatten(0, 1).contiguous()  # [2·out, in, taps]: even, then odd
        self.skip_weight, self.bias = skip_weight.contiguous(), conv.bias.detach()
        self.skip_overlap = kernel - 1
        self.skip = skip
        self.features_tail: torch.Tensor | None = None
        self.skip_tail: torch.Tensor | None = None

    def push(self, features: torch.Tensor) -> torch.Tensor:
        """[batch, channels, n] new deeper-level features -> [batch, out_channels, 2m] new outputs."""
        if self.features_tail is not None:
            features = torch.cat([self.features_tail, features], dim=-1)
        self.features_tail = features[..., max(0, features.shape[-1] - self.taps + 1) :].clone()
        pairs = features.shape[-1] - self.taps + 1
        if pairs <= 0:
            return features.new_empty(features.shape[0], self.out_channels, 0)
        upsampled_part = F.conv1d(features, self.polyphase_weight)  # [batch, 2·out, pairs]: even, then odd
        held = 0 if self.skip_tail is None else self.skip_tail.shape[-1]
        skip = features.new_empty(features.shape[0], self.skip_weight.shape[1], 2 * pairs + self.skip_overlap)
        if held:
            skip[..., :held] = self.skip_tail
        self.skip.take_into(skip[..., held:])
        self.skip_tail = skip[..., skip.shape[-1] - self.skip_overlap :].clone() if self.skip_overlap else None
        outputs = F.conv1d(skip, self.skip_weight, self.bias)
        outputs[..., 0::2] += upsampled_part[:, : self.out_channels]
        outputs[..., 1::2] += upsampled_part[:, self.out_channels :]
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
        self.skips = [CropStream(offset) for offset in skip_offsets]  # deepest first, as the decoder
        weights = model.interpolation if model.interpolation is not None else [None] * model.levels
        self.up = [DecoderLevelStream(conv, weight, skip)
                   for conv, weight, skip in zip(model.up, weights, self.skips, strict=True)]
        self.input_crop = CropStream(input_offset)
        self.output = (SplitOutputStream(model.output, len(model.slot_names)) if split_output
                       else ConvStream(model.output, activation=False))

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
        for level in self.up:
            features = level.push(features)
        buffer, held = self.output.input_buffer(tracks, features.shape[-1])
        self.input_crop.take_into(buffer[:, : tracks.shape[1], held:])
        buffer[:, tracks.shape[1] :, held:] = features
        return self.output.run(buffer)
