"""What a model folder written by `save_pretrained` must hold, checked before `MixWaveUNet.from_pretrained`
reads it: a missing or damaged file is named, never met as a size mismatch or a raw SafetensorError.

    check_model_folder("runs/x/best")  # ModelLoadError naming the folder and the file, else nothing

`check_weights` compares a weights file's tensors with a model's before they are loaded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from huggingface_hub.errors import EntryNotFoundError
from safetensors import SafetensorError

from mixwave_hf.errors import MixwaveError
from mixwave_hf.files import path_problem

#: What `model.load_model` reports as a model that cannot be loaded: a folder or Hub id that is not there or cannot
#: be reached (OSError, the Hub's HfHubHTTPError among them), or files the mixin cannot read.
LOAD_FAILURES = (OSError, ValueError, TypeError, EntryNotFoundError, SafetensorError)
#: What a model argument may be, for the messages.
EXPECTED_MODEL = "expected a folder written by save_pretrained (config.json + model.safetensors) or a Hub repo id"


class ModelLoadError(MixwaveError, ValueError):
    """A model that does not load; the message names it (and the file), says why and what would be accepted."""


class WeightsMismatchError(ModelLoadError):
    """Weights whose tensors are not the ones the model's config makes (`check_weights`); the message lists them."""


def check_model_folder(folder: str | Path) -> None:
    """ModelLoadError naming `folder` and the file when it holds no model.safetensors or config.json (or one
    that is no readable file), when config.json is not a JSON object, or when model.safetensors' header
    cannot be read (truncated, not safetensors). Reads config.json and the safetensors header only."""
    from safetensors import safe_open

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


def check_weights(model_state: Mapping[str, Sequence[int]], weights_file: str | Path, strict: bool = True) -> None:
    """WeightsMismatchError listing the tensors of `weights_file` (safetensors) whose shape differs from
    `model_state` ({name: shape}, the model built from the config), and, if `strict`, those missing from the
    file or not in the model. Reads the file's header only."""
    from safetensors import safe_open

    with safe_open(str(weights_file), framework="pt") as weights:
        found = {name: tuple(weights.get_slice(name).get_shape()) for name in weights.keys()}  # noqa: SIM118
    expected = {name: tuple(shape) for name, shape in model_state.items()}
    problems = []
    if strict and expected.keys() - found.keys():
        problems.append(f"missing {', '.join(sorted(expected.keys() - found.keys()))}")
    if strict and found.keys() - expected.keys():
        problems.append(f"unexpected {', '.join(sorted(found.keys() - expected.keys()))}")
    shapes = [f"{name} {list(found[name])} (the config makes {list(expected[name])})"
              for name in sorted(found.keys() & expected.keys()) if found[name] != expected[name]]
    if shapes:
        problems.append(f"other shapes: {', '.join(shapes)}")
    if problems:
        raise WeightsMismatchError("; ".join(problems))
