"""The checks of `MixWaveUNet`'s constructor options: a ValueError names the first one a network cannot be
built from (or a config too new for this version), before any layer is made.

    check_options(format_version=3, upsampling="linear", levels=8, ...)  # model.py calls it
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

from mixwave_hf.loudness import LEVELLING_METHODS
from mixwave_hf.slots import static_balance

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


def check_options(*, format_version: int, upsampling: str, levels: int, base_channels: int, outputs: int,
                   sample_rate: int, slot_names: tuple[str, ...], levelling: str | None, output_init: str,
                   kernels: Mapping[str, int]) -> None:
    """ValueError naming the first of MixWaveUNet's arguments it cannot build a network from."""
    if format_version > FORMAT_VERSION:
        raise ValueError(
            f"config format_version {format_version} is newer than this mixwave-hf understands "
            f"(up to {FORMAT_VERSION}); upgrade mixwave-hf to load this model"
        )
    integers = {"levels": levels, "base_channels": base_channels, "outputs": outputs, "sample_rate": sample_rate}
    for name, value in {**integers, **kernels}.items():
        if not isinstance(value, numbers.Integral) or isinstance(value, bool):
            raise ValueError(f"{name}={value!r}; expected an integer")
    if upsampling not in UPSAMPLING_MODES:
        raise ValueError(f"upsampling={upsampling!r}; expected one of {UPSAMPLING_MODES}")
    for name, kernel in kernels.items():
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"{name}={kernel}; expected an odd kernel size >= 1")
    if levels < 1 or base_channels < 1 or outputs < 1 or sample_rate < 1:
        raise ValueError(
            f"levels={levels}, base_channels={base_channels}, outputs={outputs}, "
            f"sample_rate={sample_rate}; expected positive integers"
        )
    if not slot_names or len(set(slot_names)) != len(slot_names):
        raise ValueError(f"slot_names={list(slot_names)}; expected distinct names, at least one")
    if levelling is not None and levelling not in LEVELLING_METHODS:
        raise ValueError(f"levelling={levelling!r}; expected None or one of {LEVELLING_METHODS}")
    if output_init not in OUTPUT_INITS:
        raise ValueError(f"output_init={output_init!r}; expected one of {OUTPUT_INITS}")


def checked_balance(balance: Mapping[str, Sequence[float]] | None, slot_names: tuple[str, ...],
                     perspective: str) -> dict[str, list[float]]:
    """{slot: [gain dB, pan]} checked against the slots; None -> `slots.static_balance(perspective)` for
    the slots it names."""
    if balance is None:
        balance = {slot: setting for slot, setting in static_balance(perspective).items() if slot in slot_names}
    checked = {}
    for slot, setting in balance.items():
        if slot not in slot_names or len(setting) != 2 or not -1 <= float(setting[1]) <= 1:
            raise ValueError(f"balance[{slot!r}]={setting!r}; expected a slot of {list(slot_names)} -> "
                             "[gain dB, pan in -1..1]")
        checked[slot] = [float(setting[0]), float(setting[1])]
    return checked
