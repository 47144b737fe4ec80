"""Training crops from the multitrack dataset: one import for the readers in crops, sharded, streaming_dataset,
bundle and validation (design notes: docs/data-loading.md).

Entry points: `StreamingDataset` (a dataset folder or Hub repo), `BundleDataset` (an `export_bundle` .npz),
`ValidationDataset` (fixed crops); `CropConfig.for_model(model.config, CropOptions(...))` says what a crop is,
`StreamingOptions` and `ValidationOptions` how they are read.

    from mixwave_hf.data.loader import CropConfig, StreamingDataset, ValidationDataset
    crops = StreamingDataset("org/drums", "train", CropConfig.for_model(model.config), rank=0, world_size=1,
                             repeat=True)
    batch = next(iter(torch.utils.data.DataLoader(crops, batch_size=16, num_workers=4)))  # "tracks", "target"
"""

from mixwave_hf.audio import padded_slice
from mixwave_hf.data.bundle import (
    BUNDLE_DTYPES,
    BUNDLE_FORMAT,
    BUNDLE_VERSION,
    BundleDataset,
    BundleSegments,
    export_bundle,
    read_bundle,
    read_bundle_index,
)
from mixwave_hf.data.crops import (
    CropConfig,
    CropOptions,
    LoaderStats,
    Segment,
    cut_crop,
    evenly_spaced_starts,
    levelled_segment,
    random_crops,
    segment_from_row,
)
from mixwave_hf.data.read_position import STATE_KIND, STATE_VERSION, ReadPosition
from mixwave_hf.data.sharded import UNSHUFFLED, ShardedCropDataset, StreamingOptions
from mixwave_hf.data.streaming_dataset import StreamingDataset
from mixwave_hf.data.validation import ValidationDataset, ValidationOptions

__all__ = [
    "BUNDLE_DTYPES", "BUNDLE_FORMAT", "BUNDLE_VERSION", "STATE_KIND", "STATE_VERSION", "UNSHUFFLED", "BundleDataset",
    "BundleSegments", "CropConfig", "CropOptions", "LoaderStats", "ReadPosition", "Segment", "ShardedCropDataset",
    "StreamingDataset", "StreamingOptions", "ValidationDataset", "ValidationOptions", "cut_crop",
    "evenly_spaced_starts", "export_bundle", "levelled_segment", "padded_slice", "random_crops", "read_bundle",
    "read_bundle_index", "segment_from_row",
]
