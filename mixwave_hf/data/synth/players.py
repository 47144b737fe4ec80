"""Which player renders a kit: a Hydrogen drumkit's (`hydrogen.HydrogenPlayer`) or a soundfont's
(`kits.SoundfontPlayer`), one per kit and sample rate within a process.

    shot = kit_player("avl_black_pearl").one_shot("snare", "hit", velocity=100)  # [samples] float32
"""

from __future__ import annotations

import functools

from mixwave_hf.data.synth.hydrogen import HydrogenPlayer
from mixwave_hf.data.synth.kits import KitPlayer, SoundfontPlayer, kit_spec


@functools.lru_cache(maxsize=16)
def kit_player(kit: str, sample_rate: int = 44100) -> KitPlayer:
    """The kit's player, shared within the process (samples load once per kit and sample rate)."""
    if kit_spec(kit).drumkit:
        return HydrogenPlayer(kit, sample_rate)
    return SoundfontPlayer(kit, sample_rate)
