"""What a model folder written by `save_pretrained` must hold, checked before `MixWaveUNet.from_pretrained`
reads it: a missing or damaged file is named, never met as a size mismatch or a raw SafetensorError.

    check_model_folder("runs/x/best")  # ModelLoadError naming the folder and the file, else nothing
"""

from __future__ import annotations

import json
from pathlib import Path

from mixwave_hf.files import path_problem

#: What a model argument may be, for the messages.
EXPECTED_MODEL = "expected a folder written by save_pretrained (config.json + model.safetensors) or a Hub repo id"


class ModelLoadError(ValueError):
    """A model that does not load; the message names it (and the file), says why and what would be accepted."""


def check_model_folder(folder: str | Path) -> None:
    """ModelLoadError naming `folder` and the file when it holds no model.safetensors or config.json (or one
    that is no readable file), when config.json is not a JSON object, or when model.safetensors' header
    cannot be read (truncated, not safetensors). Reads config.json and the safetensors header only."""
    from safetensors import SafetensorError, safe_open

    folder = Path(folder)
    for name in ("model.safetensors", "config.json"):
        problem = path_problem(folder / name)
        if problem == "no such file":
            raise ModelLoadError(f"{folder}: the folder holds no {name}; {EXPECTED_MODEL}")
        if problem:
            raise ModelLoadError(f"{folder / name}: {problem}; {EXPECTED_MODEL}")
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ModelLoadError(f"{folder / 'config.json'}: not JSON ({error}); {EXPECTED_MODEL}") from error
    if not isinstance(config, dict):
        raise ModelLoadError(f"{folder / 'config.json'}: a JSON {type(config).__name__}; expected an object of the "
                             "model's options, as save_pretrained writes it")
    try:
        with safe_open(str(folder / "model.safetensors"), framework="pt"):
            pass
    except (OSError, SafetensorError) as error:
        raise ModelLoadError(f"{folder / 'model.safetensors'}: cannot be read ({error}); the file is probably "
                             "truncated or damaged: save or download the model again") from error
