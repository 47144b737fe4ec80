"""Dry renders: each drum piece's strokes as its own mono stem, sample-accurate, before any microphone.

Every stroke is a calibrated one-shot of the kit added at its onset sample; a new hi-hat stroke
chokes the one still sounding (docs/synthetic-corpus.md).

    stems = render_dry_pieces(kit_player("avl_black_pearl"), events, length)  # {piece: [samples] float32}
"""

from __future__ import annotations

import numpy as np

from mixwave_hf.data.synth.grooves import HitEvent
from mixwave_hf.data.synth.kits import PIECES, KitPlayer

#: Pieces whose strokes cut the previous stroke's ring, and the fade (seconds) the cut takes.
CHOKED_PIECES = {"hihat": 0.012}


def render_dry_pieces(player: KitPlayer, events: list[HitEvent], length: int) -> dict[str, np.ndarray]:
    """{piece: [length] float32} for every piece of kits.PIECES (silent where it is not played).

    A stroke at `time` seconds starts at sample round(time * player.sample_rate); rings past `length`
    are cut off.
    """
    sample_rate = player.sample_rate
    stems = {piece: np.zeros(length, np.float32) for piece in PIECES}
    onsets = [int(round(event.time * sample_rate)) for event in events]
    for piece in PIECES:
        strokes = [(onset, event) for onset, event in zip(onsets, events, strict=True) if event.piece == piece]
        fade_seconds = CHOKED_PIECES.get(piece)
        for index, (onset, event) in enumerate(strokes):
            if onset >= length:
                continue
            shot = player.one_shot(piece, event.articulation, event.velocity)
            end = min(length, onset + len(shot))
            if fade_seconds is not None and index + 1 < len(strokes):
                shot = _choked(shot, strokes[index + 1][0] - onset, int(fade_seconds * sample_rate))
                end = min(end, onset + len(shot))
            stems[piece][onset:end] += shot[: end - onset]
    return stems


def _choked(shot: np.ndarray, cut: int, fade: int) -> np.ndarray:
    """`shot` faded out over `fade` samples from sample `cut` (a half-cosine), then silent."""
    if cut >= len(shot):
        return shot
    fade = min(fade, len(shot) - cut)
    ramp = (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float32))).astype(np.float32)
    choked = shot[: cut + fade].copy()
    choked[cut:] *= ramp
    return choked
