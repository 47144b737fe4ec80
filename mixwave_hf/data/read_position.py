"""Where a crop reader is in its stream: the position `ShardedCropDataset.state_dict()` saves.

    position = ReadPosition(reader=1, readers=2, epoch=0, source={"position": 3}, segments_read=3)
    state = position.as_state()            # the six keys a checkpointed loader state holds
    assert ReadPosition.from_state(state) == position

See docs/data-loading.md ("Resuming") for what a resume restores.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, fields
from typing import Any

#: The layout version of a loader's `state_dict()`; states of another version are refused.
STATE_VERSION = 1
#: Marks our states inside a DataLoader's state, so that `LoaderStats.from_state` can find them.
STATE_KIND = "mixwave_hf.crops"


@dataclass(frozen=True)
class ReadPosition:
    """One reader's place in its pass: which reader, the epoch, the source's own position, and progress in it.

    `reader` / `readers`: reader rank * num_workers + worker of world_size * num_workers (None in a
    state saved before any iteration). `source`: the segment source's position after the last segment
    read (`datasets.IterableDataset.state_dict()`, or {"position": n} in a bundle's reader order;
    None at the start of the epoch). `segments_read`: segments read in this epoch. `crops_done`: crops
    already delivered from the next segment (a segment left part way).
    """

    reader: int | None
    readers: int | None
    epoch: int
    source: Any = None
    segments_read: int = 0
    crops_done: int = 0

    def as_state(self) -> dict:
        """{"reader", "readers", "epoch", "source", "segments_read", "crops_done"}: the saved layout (a copy)."""
        return {field.name: copy.deepcopy(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_state(cls, state: dict) -> ReadPosition:
        """The position in `state`: `as_state()`'s dict, or a whole `ShardedCropDataset.state_dict()` (its
        kind, version and stats are ignored here; `load_state_dict` checks them)."""
        return cls(**{field.name: copy.deepcopy(state[field.name]) for field in fields(cls)})
