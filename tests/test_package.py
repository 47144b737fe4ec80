"""The wheel carries the package data the code relies on."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from mixwave_hf.example import EXAMPLE_FILE_NAMES

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_example_stems_and_the_console_script(tmp_path):
    # Built from a copy: setuptools leaves build/ and egg-info folders in the tree it builds.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".pytest_cache", ".ruff_cache"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(source)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("mixwave_hf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for file_name in [*EXAMPLE_FILE_NAMES.values(), "ATTRIBUTION.txt"]:
        assert f"mixwave_hf/examples/drums/{file_name}" in names
    for module in ["model", "mixing", "streaming", "slots", "audio", "cli", "example", "metrics", "baselines",
                   "evaluate", "card", "data/schema", "data/loader", "data/builders", "data/synth/song"]:
        assert f"mixwave_hf/{module}.py" in names
    assert "mixwave_hf/templates/model_card.md" in names
    for file_name in ["config.json", "model.safetensors", "README.md", "evaluation.json", "training.json"]:
        assert f"mixwave_hf/pretrained/{file_name}" in names
    entry_points = next(name for name in names if name.endswith("entry_points.txt"))
    assert "mixwave = mixwave_hf.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
