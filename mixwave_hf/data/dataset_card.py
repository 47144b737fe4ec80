"""The dataset card (README.md with YAML metadata) written beside the shards of every built dataset.

    write_dataset_card("out/drums", DatasetDescription(...), summary)  # called by builders.build_dataset
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DatasetDescription:
    """What a card says about a dataset beyond its figures.

    license: an SPDX-like id the Hub knows ("cc-by-sa-3.0", "mit", "other", ...); how_made: a
    paragraph on the source and the build; attribution: credits the licence requires.
    """

    pretty_name: str
    license: str
    how_made: str
    attribution: str = ""
    tags: list[str] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)  # the build command's options, for reproducibility


def size_category(rows: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if rows < limit:
            return name
    return "100K<n<1M"


#: The card's body below its front matter (str.format fields: pretty_name, how_made, parameters, rows,
#: license, attribution).
CARD_BODY = """
# {pretty_name}

Multitrack drum recordings for automatic mixing with [mixwave-hf](https://github.com/mixwave-hf/mixwave-hf)
(the Mix-Wave-U-Net): separately recorded tracks in, the engineer's stereo mix out.

## How it was made

{how_made}

{parameters}

## Splits

| split | songs | segments (rows) | hours | shards |
|---|---:|---:|---:|---:|
{rows}

Whole songs (and for ENST-drums whole phrases) stay in one split.

## Format

One row per song segment of at most 30 s. Columns: `song_id`, `segment_index`, `segment_start`
(samples from the song's start), `sample_rate`, `track_names` and `tracks` (mono FLAC, as many as
the song has, named as recorded), `wet_mix` (the engineer's stereo mix, the default target),
`dry_mix` (the same balance without effects, where the source has one), `source`, `license`,
`engineer`, `style`, `kit`, `seed` (the generator's seed, -1 for recordings) and `metadata` (JSON,
e.g. every render parameter). The configs `wet` (default) and `dry` read the same files; the
config name says which mix is the training target.

Reading it with plain `datasets`: leave the audio undecoded (FLAC bytes) and decode it with
soundfile, as mixwave-hf does; this needs neither torchcodec nor FFmpeg.

```python
import io

import soundfile
from datasets import Audio, List, load_dataset

rows = load_dataset("THIS_REPO", split="train", streaming=True)
rows = rows.cast_column("tracks", List(Audio(decode=False)))
for column in ("wet_mix", "dry_mix"):
    rows = rows.cast_column(column, Audio(decode=False))
row = next(iter(rows))
mix, rate = soundfile.read(io.BytesIO(row["wet_mix"]["bytes"]), dtype="float32")  # [samples, 2]
for name, track in zip(row["track_names"], row["tracks"]):
    audio, _ = soundfile.read(io.BytesIO(track["bytes"]), dtype="float32")  # [samples], mono
```

Iterating without those casts lets `datasets` decode the audio itself, which stops with "install
torchcodec" unless `pip install 'datasets[audio]'` (torchcodec) and FFmpeg's libraries are
installed. With mixwave-hf installed, `mixwave_hf.data.schema.open_split(...)` and `decode_audio(...)`
do the above; training streams the dataset with `mixwave_hf.data.loader` (see the mixwave-hf README).

## Licence and attribution

Licence: `{license}`. {attribution}
"""


def render_dataset_card(description: DatasetDescription, summary: dict) -> str:
    """The card's text: YAML front matter (validated by huggingface_hub) and a body with the figures."""
    from huggingface_hub import DatasetCard, DatasetCardData

    data_files = [{"split": split, "path": f"data/{split}-*.parquet"} for split in summary]
    data = DatasetCardData(
        pretty_name=description.pretty_name,
        license=description.license,
        task_categories=["audio-to-audio"],
        tags=sorted({"audio", "music", "drums", "multitrack", "automatic-mixing", "mixwave-hf", *description.tags}),
        size_categories=[size_category(sum(split["rows"] for split in summary.values()))],
        configs=[
            {"config_name": "wet", "default": True, "data_files": data_files},
            {"config_name": "dry", "data_files": data_files},
        ],
    )
    rows = "\n".join(
        f"| {split} | {figures['songs']} | {figures['rows']} | {figures['hours']:.3f} | {figures['shards']} |"
        for split, figures in summary.items()
    )
    parameters = "\n".join(f"- `{key}`: `{value}`" for key, value in description.parameters.items())
    body = CARD_BODY.format(pretty_name=description.pretty_name, how_made=description.how_made, parameters=parameters,
                            rows=rows, license=description.license, attribution=description.attribution)
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def write_dataset_card(directory: str | Path, description: DatasetDescription, summary: dict) -> Path:
    """Write README.md into the dataset folder; returns its path."""
    path = Path(directory) / "README.md"
    path.write_text(render_dataset_card(description, summary))
    return path
