"""Publishing a model folder to the Hub: weights, config, and a freshly rendered, validated card.

`push_model` (`mixwave push`) renders the card for the target repo from the folder's `training.json`
(the options of `card.render_model_card`, written by training) and `evaluation.json` /
`evaluation-SPLIT.json` (written by `mixwave evaluate --output`), validates it, then uploads the folder.

    url = push_model("runs/paper/best", "org/mix-wave-u-net", private=True)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from mixwave_hf.errors import InputError

CARD_FILES = ("training.json", "evaluation.json")


def saved_card_options(model_dir: str | Path, evaluation_file: str | Path | None = None) -> dict:
    """The `render_model_card` options saved in a model folder (training.json, as a run's
    `run_card_options`; evaluation.json and evaluation-*.json) and in an evaluation JSON, if given."""
    model_dir = Path(model_dir)
    options: dict = {}
    if (model_dir / "training.json").is_file():
        options.update(read_json(model_dir / "training.json"))
    evaluation = Path(evaluation_file) if evaluation_file else model_dir / "evaluation.json"
    if evaluation.is_file():
        options["evaluation"] = read_json(evaluation)
    elif evaluation_file:
        raise InputError(f"{evaluation_file}: no such file; expected the JSON written by `mixwave evaluate --output`")
    extra = sorted(model_dir.glob("evaluation-*.json"))
    if extra:
        options["extra_evaluations"] = [read_json(path) for path in extra]
    return options


def read_json(path: Path) -> dict:
    """The JSON object in `path`; InputError naming it when it is not JSON."""
    try:
        return json.loads(path.read_text())
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise InputError(f"{path}: not JSON ({error}); expected the JSON a training run or `mixwave evaluate` "
                         "writes") from error


def push_model(model_dir: str | Path, repo_id: str, private: bool = False,
               evaluation_file: str | Path | None = None) -> str:
    """Upload a model folder to `repo_id` with its card rendered for that repo; returns the repo URL.

    The card is validated offline (metadata parsed back) and by the Hub's YAML validator before any
    file is uploaded; the weights must load strictly.
    """
    from huggingface_hub import HfApi

    from mixwave_hf.card import render_model_card
    from mixwave_hf.model import MixWaveUNet

    model_dir = Path(model_dir)
    if not (model_dir / "model.safetensors").is_file():
        raise InputError(f"{model_dir}: no model.safetensors; expected a folder written by save_pretrained")
    model = MixWaveUNet.from_pretrained(model_dir)
    options = {**saved_card_options(model_dir, evaluation_file), "repo_id": repo_id}
    render_model_card(model, **options).validate(repo_type="model")
    api = HfApi()
    url = api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mixwave-push-") as staging:
        model.save_pretrained(staging, model_card_kwargs=options)
        for name in [*CARD_FILES, *(path.name for path in sorted(model_dir.glob("evaluation-*.json")))]:
            if (model_dir / name).is_file():
                shutil.copy(model_dir / name, Path(staging) / name)
        if evaluation_file:
            shutil.copy(evaluation_file, Path(staging) / "evaluation.json")
        api.upload_folder(folder_path=staging, repo_id=repo_id, commit_message="Upload model with mixwave-hf")
    return str(url)
