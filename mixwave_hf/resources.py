"""Paths of the data shipped inside the package: the example stems, the default model, the card template.

    from mixwave_hf.resources import example_stems
    tracks = [soundfile.read(path)[0] for path in example_stems()]  # 8 mono 4 s FLAC files, in slot order

The example is rendered by `make example-stems` (`mixwave data example ...`).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
#: The bundled example multitrack (4 s, 8 mono 24-bit FLAC files named as in real sessions, ATTRIBUTION.txt).
EXAMPLE_DIR = PACKAGE_DIR / "examples" / "drums"
#: The embedded default model: a save_pretrained folder, loaded by `MixWaveUNet.from_pretrained()`.
DEFAULT_MODEL_DIR = PACKAGE_DIR / "pretrained"
#: The Jinja template of the model card (`card.render_model_card`).
TEMPLATE_PATH = PACKAGE_DIR / "templates" / "model_card.md"
#: File name per slot, in the styles real sessions use (matched to slots by alias).
EXAMPLE_FILE_NAMES = {
    "kick": "01_Kick.flac",
    "snare": "02_Snare.flac",
    "hihat": "03_HiHat.flac",
    "tom_1": "04_Tom1.flac",
    "tom_2": "05_Tom2.flac",
    "tom_3": "06_FloorTom.flac",
    "overhead_L": "07_OH_L.flac",
    "overhead_R": "08_OH_R.flac",
}


def example_stems() -> list[Path]:
    """Paths of the bundled example stems (FLAC, 44.1 kHz mono, 4 s), in slot order."""
    return [EXAMPLE_DIR / name for name in EXAMPLE_FILE_NAMES.values()]
