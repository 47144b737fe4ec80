"""The Mix-Wave-U-Net: separately recorded mono tracks in, a stereo mix out.

Martínez Ramírez, Stoller & Moffat, "A deep learning approach to intelligent drum mixing with the
Wave-U-Net", JAES 69(3), 2021. A Wave-U-Net (Stoller et al., ISMIR 2018) with valid convolutions:
the output is shorter than the input, and the difference is the context each output sample sees.
The model knows nothing of files or sample-rate conversion; `mixwave_hf.mixing` does that.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from torch import nn

from mixwave_hf import model_files
from mixwave_hf.audio import pan_gains
from mixwave_hf.model_files import EXPECTED_MODEL, ModelLoadError, check_model_folder
from mixwave_hf.model_options import (
    FORMAT_VERSION,
    NEGATIVE_SLOPE,
    check_format_version,
    check_options,
    checked_balance,
    resolved_perspective,
)
from mixwave_hf.resources import DEFAULT_MODEL_DIR
from mixwave_hf.slots import DEFAULT_SLOTS, OVERHEAD_PAIR_SLOTS

#: The overhead slots' names from the other perspective.
OVERHEAD_SWAP = dict(zip(OVERHEAD_PAIR_SLOTS, reversed(OVERHEAD_PAIR_SLOTS), strict=True))

if TYPE_CHECKING:
    import numpy as np

    from mixwave_hf.mixing import MixResult

REPO_URL = "https://github.com/mixwave-hf/mixwave-hf"
PAPER_URL = "https://doi.org/10.17743/jaes.2020.0031"


@dataclass(frozen=True)
class ValidLengths:
    """A matching pair of lengths in samples: `input` samples in give `output` samples out."""

    input: int
    output: int

    @property
    def context(self) -> int:
        """Samples of context on each side of the output (input = context + output + context)."""
        return (self.input - self.output) // 2


@dataclass(frozen=True)
class MixWaveUNetConfig:
    """The network's options, saved as config.json key for key (values as given: a None stays None).

    The defaults are the paper's network (`MixWaveUNet()`). Checked when made: ValueError naming the first
    option a network cannot be built from, or a config.json too new for this version (`model_options`).
    """

    levels: int = field(default=10, metadata={"help": "down (and up) levels"})
    base_channels: int = field(default=24, metadata={"help": "channels of level 0; level i has base_channels·(i+1)"})
    down_kernel: int = field(default=15, metadata={"help": "odd kernel size of the down convolutions"})
    bottleneck_kernel: int = field(default=15, metadata={"help": "odd kernel size of the bottleneck convolution"})
    up_kernel: int = field(default=5, metadata={"help": "odd kernel size of the up convolutions"})
    output_kernel: int = field(default=1, metadata={"help": "odd kernel size of the output convolution"})
    upsampling: str = field(default="linear", metadata={"help": (
        "linear (interpolation with aligned corners, n -> 2n-1) or learned (the original's per-channel learned "
        "interpolation weight, initialised to linear)")})
    slot_names: tuple[str, ...] = field(default=DEFAULT_SLOTS, metadata={"help": "the input tracks, in channel order"})
    sample_rate: int = field(default=44100, metadata={"help": "the rate in Hz the model was trained at"})
    outputs: int = field(default=2, metadata={"help": "output channels (2 = stereo)"})
    levelling: str | None = field(default=None, metadata={"help": (
        "null (the paper: tracks go in as recorded) or a method of loudness.LEVELLING_METHODS: mix_tracks and the "
        "training crops bring every track to levelling_lufs before the network (loudness.level_tracks)")})
    levelling_lufs: float = field(default=-30.0, metadata={"help": "the loudness (LUFS) levelling brings tracks to"})
    output_init: str = field(default="default", metadata={"help": (
        "default (PyTorch's initialisation) or balance: the output layer starts as the static mix of `balance` "
        "(gain x constant-power pan per slot, then balance_gain_db), its weights on the features at zero")})
    balance: Mapping[str, Sequence[float]] | None = field(default=None, metadata={"help": (
        "{slot: [gain dB, pan]} for output_init balance (null: slots.static_balance(perspective); slots not "
        "named are left out of the static mix)")})
    balance_gain_db: float | None = field(default=0.0, metadata={"help": (
        "gain (dB) on the static mix; null (training only): fitted on the training data's loudness")})
    perspective: str | None = field(default=None, metadata={"help": (
        "whose view the mixes pan from, as the training data's: audience (hi-hat right) or drummer; "
        "null: audience (drummer for a config older than format version 3)")})
    format_version: int = field(default=FORMAT_VERSION, metadata={"help": "config layout version of config.json"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "slot_names", tuple(self.slot_names))
        check_options(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> MixWaveUNetConfig:
        """A config from config.json's or a YAML model section's keys; TypeError naming unknown keys (after
        the format version's check, so that a newer config says so)."""
        unknown = sorted(set(values) - set(OPTION_NAMES))
        if unknown:
            check_format_version(values.get("format_version", FORMAT_VERSION))
            raise TypeError(f"unknown model option(s) {unknown}; expected some of {list(OPTION_NAMES)}")
        return cls(**values)

    # ---- size arithmetic (of the options alone: crops and tiles are planned without a network) -------

    def _lengths_from_bottleneck(self, bottleneck_output: int) -> ValidLengths:
        """The input and output lengths whose bottleneck conv yields `bottleneck_output` samples."""
        length = bottleneck_output + self.bottleneck_kernel - 1
        for _ in range(self.levels):  # undo decimation (odd n -> (n+1)/2) and the down conv
            length = 2 * length - 1 + self.down_kernel - 1
        output = bottleneck_output
        for _ in range(self.levels):  # upsample n -> 2n-1, then the up conv
            output = 2 * output - 1 - (self.up_kernel - 1)
        output -= self.output_kernel - 1
        return ValidLengths(input=length, output=output)

    def valid_lengths(self, min_output: int = 1) -> ValidLengths:
        """The shortest valid (input, output) length pair with at least `min_output` output samples.

        Valid lengths come every 2**levels samples: each extra bottleneck sample adds 2**levels
        samples to both the input and the output.
        """
        if min_output < 1:
            raise ValueError(f"min_output={min_output}; expected at least 1 sample")
        shortest = self.shortest_lengths()
        steps = max(0, -(-(min_output - shortest.output) // 2**self.levels))
        return ValidLengths(shortest.input + steps * 2**self.levels, shortest.output + steps * 2**self.levels)

    def shortest_lengths(self) -> ValidLengths:
        """The shortest valid (input, output) length pair."""
        bottleneck = 1
        while True:  # the up path shrinks short signals: find the first bottleneck length that survives
            output = bottleneck
            for _ in range(self.levels):
                output = 2 * output - 1 - (self.up_kernel - 1)
                if output < 1:
                    break
            else:
                if output - (self.output_kernel - 1) >= 1:
                    return self._lengths_from_bottleneck(bottleneck)
            bottleneck += 1


#: The options of `MixWaveUNetConfig`, in config.json's order of declaration.
OPTION_NAMES = tuple(option.name for option in fields(MixWaveUNetConfig))
#: The options a model also shows as read-only attributes (`model.levels` is `model.config.levels`); the
#: perspective and the balance are the model's own, resolved (`MixWaveUNet.__init__`).
CONFIG_ATTRIBUTES = tuple(name for name in OPTION_NAMES if name not in ("perspective", "balance"))


class MixWaveUNet(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="mixwave-hf",
    pipeline_tag="audio-to-audio",
    license="apache-2.0",
    tags=["audio", "music", "automatic-mixing", "drums", "wave-u-net", "mixwave-hf"],
    repo_url=REPO_URL,
    paper_url=PAPER_URL,
    docs_url=REPO_URL,
):
    """Wave-U-Net mapping `len(slot_names)` mono tracks to an `outputs`-channel mix.

    With no arguments this is the paper's network: 10 levels, 24·(i+1) channels at level i, kernel
    15 down and in the bottleneck, 5 up, 1 at the output, decimation, linear upsampling, 8 slots,
    44.1 kHz; 6,183,450 parameters; 121,843 input samples give 89,093 output samples.

    Made from a `MixWaveUNetConfig` (`MixWaveUNet(config)`) or its options (`MixWaveUNet(levels=8, ...)`;
    with a config, options replace its values); the options are read as `model.config` or as attributes
    (`model.levels`). `perspective` is the config's resolved (None: "audience", or "drummer" for a config
    older than format version 3) and `balance` the checked static balance (None unless output_init is
    "balance"); `mix_tracks(perspective=...)` mirrors the other perspective exactly.
    """

    def __init__(self, config: MixWaveUNetConfig | Mapping[str, Any] | None = None, **options: Any) -> None:
        super().__init__()
        if isinstance(config, Mapping):  # from_pretrained: config.json whole, and (the mixin) again key by key
            # keys this version does not know are passed over, as the mixin passes over unknown arguments
            config, options = None, {name: value for name, value in {**config, **options}.items()
                                     if name in OPTION_NAMES}
        if config is None:
            config = MixWaveUNetConfig.from_dict(options)
        elif options:
            config = replace(config, **options)
        self.config = config
        # save_pretrained and push_to_hub write the mixin's config as config.json: this one, whole
        self._hub_mixin_config = config
        if config.balance_gain_db is None:
            raise ValueError("balance_gain_db=None (to be fitted on training data); a model needs a number (dB)")
        self.perspective = resolved_perspective(config)
        self.balance = checked_balance(config) if config.output_init == "balance" else None

        tracks = len(config.slot_names)
        levels, base_channels = config.levels, config.base_channels
        widths = [base_channels * (i + 1) for i in range(levels + 1)]  # widths[levels]: bottleneck
        self.down = nn.ModuleList(
            nn.Conv1d(tracks if i == 0 else widths[i - 1], widths[i], config.down_kernel) for i in range(levels)
        )
        self.bottleneck = nn.Conv1d(widths[levels - 1], widths[levels], config.bottleneck_kernel)
        # Up level j works at the resolution of down level (levels-1-j): upsampled features, then
        # that level's skip, are convolved down to the skip's width.
        self.up = nn.ModuleList(
            nn.Conv1d(widths[i + 1] + widths[i], widths[i], config.up_kernel) for i in reversed(range(levels))
        )
        self.interpolation = nn.ParameterList(
            nn.Parameter(torch.zeros(widths[i + 1])) for i in reversed(range(levels))
        ) if config.upsampling == "learned" else None
        self.output = nn.Conv1d(widths[0] + tracks, config.outputs, config.output_kernel)
        if config.output_init == "balance":
            self._initialise_static_balance()

    def _initialise_static_balance(self) -> None:
        """Output layer = the static mix: track weights gain x pan (centre tap), feature weights 0, no bias."""
        with torch.no_grad():
            self.output.weight.zero_()
            self.output.bias.zero_()
            self.output.weight[:, : len(self.slot_names), self.output_kernel // 2] = self.static_mix_weights()

    def static_mix_weights(self) -> torch.Tensor:
        """[2, slots] linear gains of the static balance: 10^((gain + balance_gain_db)/20) x pan gains
        (constant power); zero for slots the balance leaves out. ValueError without a balance."""
        if self.balance is None:
            raise ValueError("this model has no static balance (output_init is not 'balance')")
        weights = torch.zeros(2, len(self.slot_names))
        for index, slot in enumerate(self.slot_names):
            if slot in self.balance:
                gain_db, pan = self.balance[slot]
                gain = 10 ** ((gain_db + self.balance_gain_db) / 20)
                weights[:, index] = torch.tensor(pan_gains(pan, "constant_power")) * gain
        return weights

    def mirrored(self) -> MixWaveUNet:
        """A copy of this model trained, as it were, from the other perspective: its mix of any tracks is
        this model's mix from that perspective (`mix_tracks(perspective=...)`), exactly. The overhead
        slots swap in the first and the output layer, the output channels swap, the balance mirrors."""
        if self.outputs != 2 or not all(slot in self.slot_names for slot in OVERHEAD_PAIR_SLOTS):
            raise ValueError("mirrored() needs a stereo model with the slots overhead_L and overhead_R")
        config = replace(self.config, perspective="drummer" if self.perspective == "audience" else "audience")
        if self.balance is not None:  # a slot's balance is its mirror image's: the overheads trade places
            config = replace(config, balance={OVERHEAD_SWAP.get(slot, slot): [gain, -pan or 0.0]
                                              for slot, (gain, pan) in self.balance.items()})
        mirror = type(self)(config)
        order = [self.slot_names.index(OVERHEAD_SWAP.get(slot, slot)) for slot in self.slot_names]
        state = {name: tensor.clone() for name, tensor in self.state_dict().items()}
        state["down.0.weight"] = state["down.0.weight"][:, order]
        tracks = len(self.slot_names)
        output = state["output.weight"]
        state["output.weight"] = torch.cat([output[:, :tracks][:, order], output[:, tracks:]], dim=1).flip(0)
        state["output.bias"] = state["output.bias"].flip(0)
        mirror.load_state_dict(state)
        return mirror.train(self.training)

    def static_part_gains(self) -> torch.Tensor:
        """[outputs, slots] the output layer's static part: its weights on each input track summed over
        the kernel's taps (the linear gain, and so the pan, of that track at low frequencies). Trained
        weights, for any `output_init`; `mix_tracks(intensity=0)` plays exactly this part."""
        tracks = len(self.slot_names)
        return self.output.weight.detach()[:, :tracks].sum(dim=-1).float().cpu()

    # ---- size arithmetic -------------------------------------------------------------------

    def valid_lengths(self, min_output: int = 1) -> ValidLengths:
        """The shortest valid (input, output) length pair with at least `min_output` output samples
        (`MixWaveUNetConfig.valid_lengths`: they come every 2**levels samples)."""
        return self.config.valid_lengths(min_output)

    def output_length(self, input_length: int) -> int:
        """Output samples for `input_length` input samples; ValueError if that length is not valid."""
        shortest, step = self.config.shortest_lengths(), 2**self.levels
        offset = input_length - shortest.input
        if offset >= 0 and offset % step == 0:
            return shortest.output + offset
        if offset < 0:
            hint = f"the shortest valid input is {shortest.input}"
        else:
            below = shortest.input + offset // step * step
            hint = f"nearest valid: {below} or {below + step}"
        raise ValueError(
            f"input length {input_length} is not valid for this model ({hint}); "
            "valid_lengths(min_output) gives a matching input and output length"
        )

    def crop_offsets(self) -> tuple[list[int], int]:
        """Samples the centre crops drop from the start: of each skip (deepest first), and of the input.

        Independent of the input length; streaming inference aligns its streams with these.
        """
        length = self.valid_lengths().input
        skip_lengths = []
        for _ in range(self.levels):
            length -= self.down_kernel - 1
            skip_lengths.append(length)
            length = (length + 1) // 2
        length -= self.bottleneck_kernel - 1
        skip_offsets = []
        for skip_length in reversed(skip_lengths):
            length = 2 * length - 1
            skip_offsets.append((skip_length - length) // 2)
            length -= self.up_kernel - 1
        return skip_offsets, (self.valid_lengths().input - length) // 2

    # ---- forward ---------------------------------------------------------------------------

    def forward(self, tracks: torch.Tensor) -> torch.Tensor:
        """[batch, len(slot_names), input] float tracks -> [batch, outputs, output] mix (unclipped).

        The input length must be valid (`valid_lengths`, `output_length`).
        """
        if tracks.dim() != 3 or tracks.shape[1] != len(self.slot_names):
            raise ValueError(
                f"tracks of shape {tuple(tracks.shape)}; expected [batch, {len(self.slot_names)}, "
                f"samples] with channels in slot order {list(self.slot_names)}"
            )
        self.output_length(tracks.shape[-1])
        features = tracks
        skips = []
        for conv in self.down:
            features = F.leaky_relu(conv(features), NEGATIVE_SLOPE)
            skips.append(features)
            features = features[..., ::2]
        features = F.leaky_relu(self.bottleneck(features), NEGATIVE_SLOPE)
        for j, (conv, skip) in enumerate(zip(self.up, reversed(skips), strict=True)):
            weight = None if self.interpolation is None else self.interpolation[j]
            features = upsample(features, weight)
            features = torch.cat([centre_crop(skip, features.shape[-1]), features], dim=1)
            features = F.leaky_relu(conv(features), NEGATIVE_SLOPE)
        features = torch.cat([centre_crop(tracks, features.shape[-1]), features], dim=1)
        return self.output(features)

    def mix(self, tracks: Mapping[str, np.ndarray], sample_rate: int, **options) -> MixResult:
        """Mix a whole song: see `mixwave_hf.mixing.mix_tracks` for the arguments."""
        from mixwave_hf.mixing import mix_tracks

        return mix_tracks(self, tracks, sample_rate, **options)

    def generate_model_card(self, **card_options) -> ModelCard:
        """The model card written by save_pretrained/push_to_hub (`model_card_kwargs` are the options
        of `mixwave_hf.card.render_model_card`: training record, evaluation, datasets, licences)."""
        from mixwave_hf.card import render_model_card

        return render_model_card(self, **card_options)

    # ---- loading -----------------------------------------------------------------------------

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path=None, *, strict: bool = True, **kwargs):
        """Load a model from a directory or Hub repo id, or with none named the default model embedded
        in the package (no network, no Hub cache); strict: every tensor must match the config.

        Raises ModelLoadError (a ValueError) naming the checkpoint when tensors are missing, unexpected or
        mis-shaped, when its config.json is from a newer format version, and for a folder also naming the
        file when config.json or model.safetensors is missing or damaged (`model_files.check_model_folder`)
        or config.json gives an option a value of the wrong type. Weights stored in float16 are loaded
        into the float32 model.
        """
        if pretrained_model_name_or_path is None:
            if not (DEFAULT_MODEL_DIR / "model.safetensors").is_file():
                raise ModelLoadError(f"this installation has no embedded default model ({DEFAULT_MODEL_DIR}); "
                                     "name a model directory or Hub repo id")
            pretrained_model_name_or_path = DEFAULT_MODEL_DIR
        name, local = pretrained_model_name_or_path, os.path.isdir(pretrained_model_name_or_path)
        if local:
            check_model_folder(name)
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the mixin prints where it loads from
                return super().from_pretrained(pretrained_model_name_or_path, strict=strict, **kwargs)
        except model_files.WeightsMismatchError as error:  # `_load_as_safetensor`'s check
            raise ModelLoadError(f"{name}: the weights do not match its config.json: {error}") from error
        except (TypeError, ValueError) as error:  # a folder's: MixWaveUNet's own checks of config.json's values
            if not local or isinstance(error, ModelLoadError):
                raise
            raise ModelLoadError(f"{os.path.join(name, 'config.json')}: {error}") from error

    @classmethod
    def _load_as_safetensor(cls, model: MixWaveUNet, model_file: str, map_location: str, strict: bool) -> MixWaveUNet:
        """The mixin's loading, after `model_files.check_weights` (a WeightsMismatchError, not a RuntimeError)."""
        model_files.check_weights({key: value.shape for key, value in model.state_dict().items()}, model_file, strict)
        return super()._load_as_safetensor(model, model_file, map_location, strict)



def _config_attribute(name: str) -> property:
    return property(lambda model: getattr(model.config, name), doc=f"`config.{name}` (read-only)")


for _name in CONFIG_ATTRIBUTES:
    setattr(MixWaveUNet, _name, _config_attribute(_name))


def load_model(name: str | None) -> MixWaveUNet:
    """`MixWaveUNet.from_pretrained(name)` (None: the embedded default model), for entry points: a model that cannot
    be found, reached or read (`model_files.LOAD_FAILURES`) becomes a ModelLoadError naming `name` and the reason."""
    try:
        return MixWaveUNet.from_pretrained(name)
    except ModelLoadError:
        raise
    except model_files.LOAD_FAILURES as error:
        raise ModelLoadError(f"{name or '(the embedded default)'}: cannot load a model "
                             f"({type(error).__name__}: {error}); {EXPECTED_MODEL}") from error


def centre_crop(features: torch.Tensor, length: int) -> torch.Tensor:
    """[..., n] -> [..., length], dropping (n - length) / 2 samples from each end."""
    excess = features.shape[-1] - length
    if excess < 0 or excess % 2:
        raise ValueError(f"cannot centre-crop {features.shape[-1]} samples to {length}")
    return features[..., excess // 2 : excess // 2 + length]


def upsample(features: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """[batch, channels, n] -> [batch, channels, 2n-1]: originals at even, interpolated at odd samples.

    `weight` (one per channel) is the learned interpolation's logit: new = s·left + (1-s)·right with
    s = sigmoid(weight); None means linear interpolation (s = 0.5, aligned corners).
    """
    left, right = features[..., :-1], features[..., 1:]
    if weight is None:
        between = 0.5 * (left + right)
    else:
        share = torch.sigmoid(weight)[:, None]
        between = share * left + (1 - share) * right
    batch, channels, length = features.shape
    upsampled = features.new_empty(batch, channels, 2 * length - 1)
    upsampled[..., ::2] = features
    upsampled[..., 1::2] = between
    return upsampled
