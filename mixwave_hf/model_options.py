"""The checks of `MixWaveUNetConfig`'s options: a ValueError names the first one a network cannot be built from
(or a config too new for this version), when the config is made, before any layer is.

    check_options(config)  # MixWaveUNetConfig.__post_init__ calls it
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

from mixwave_hf.loudness import LEVELLING_METHODS
from mixwave_hf.slots import check_perspective, static_balance

if TYPE_CHECKING:
    from mixwave_hf.model import MixWaveUNetConfig

#: Version of the config.json layout this code writes; configs from a newer version are refused.
#: Version 2 added `levelling`, `levelling_lufs`, `output_init`, `balance`, `balance_gain_db`; a
#: version-1 config has none of them and loads as no levelling (the paper's behaviour). Version 3
#: added `perspective`; earlier configs load as "drummer" (what their synthetic corpus panned from),
#: newer ones without it as "audience".
FORMAT_VERSION = 3
#: The slope of every hidden layer's LeakyReLU below zero (the paper's), shared with the streaming network.
NEGATIVE_SLOPE = 0.2
OUTPUT_INITS = ("default", "balance")
UPSAMPLING_MODES = ("linear", "learned")


def check_format_version(format_version: Any) -> None:
    """ValueError for a config.json from a newer format version than this code reads."""
    if isinstance(format_version, numbers.Integral) and format_version > FORMAT_VERSION:
        raise ValueError(
            f"config format_version {format_version} is newer than this mixwave-hf understands "
            f"(up to {FORMAT_VERSION}); upgrade mixwave-hf to load this model"
        )


def check_options(config: MixWaveUNetConfig) -> None:
    """ValueError naming the first of the config's options it cannot build a network from."""
    check_format_version(config.format_version)
    kernels = {name: getattr(config, name) for name in ("down_kernel", "bottleneck_kernel", "up_kernel",
                                                        "output_kernel")}
    levels, base_channels = config.levels, config.base_channels
    outputs, sample_rate = config.outputs, config.sample_rate
    integers = {"levels": levels, "base_channels": base_channels, "outputs": outputs, "sample_rate": sample_rate,
                "format_version": config.format_version}
    for name, value in {**integers, **kernels}.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name}={value!r}; expected an integer")
    if config.upsampling not in UPSAMPLING_MODES:
        raise ValueError(f"upsampling={config.upsampling!r}; expected one of {UPSAMPLING_MODES}")
    for name, kernel in kernels.items():
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"{name}={kernel}; expected an odd kernel size >= 1")
    if levels < 1 or base_channels < 1 or outputs < 1 or sample_rate < 1:
        raise ValueError(
            f"levels={levels}, base_channels={base_channels}, outputs={outputs}, "
            f"sample_rate={sample_rate}; expected positive integers"
        )
    slot_names = config.slot_names
    if not slot_names or len(set(slot_names)) != len(slot_names):
        raise ValueError(f"slot_names={list(slot_names)}; expected distinct names, at least one")
    if config.levelling is not None and config.levelling not in LEVELLING_METHODS:
        raise ValueError(f"levelling={config.levelling!r}; expected None or one of {LEVELLING_METHODS}")
    if config.output_init not in OUTPUT_INITS:
        raise ValueError(f"output_init={config.output_init!r}; expected one of {OUTPUT_INITS}")
    perspective = resolved_perspective(config)
    if config.output_init == "balance":
        if outputs != 2:
            raise ValueError(f"output_init='balance' needs a stereo model; this one has outputs={outputs}")
        checked_balance(config, perspective)


def resolved_perspective(config: MixWaveUNetConfig) -> str:
    """The config's perspective; None: "audience", or "drummer" before format version 3 (whose synthetic
    corpus panned from the drummer's view). ValueError for an unknown one."""
    return check_perspective(config.perspective or ("drummer" if config.format_version < 3 else "audience"))


def checked_balance(config: MixWaveUNetConfig, perspective: str | None = None) -> dict[str, list[float]]:
    """{slot: [gain dB, pan]} checked against the slots; None -> `slots.static_balance(perspective)` for
    the slots it names."""
    balance, slot_names = config.balance, config.slot_names
    if balance is None:
        default = static_balance(perspective or resolved_perspective(config))
        balance = {slot: setting for slot, setting in default.items() if slot in slot_names}
    checked = {}
    for slot, setting in balance.items():
        if slot not in slot_names or len(setting) != 2 or not -1 <= float(setting[1]) <= 1:
            raise ValueError(f"balance[{slot!r}]={setting!r}; expected a slot of {list(slot_names)} -> "
                             "[gain dB, pan in -1..1]")
        checked[slot] = [float(setting[0]), float(setting[1])]
    return checked
