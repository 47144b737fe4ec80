"""Uploading a built dataset folder (shards + card) to the Hugging Face Hub (`mixwave data push`).

    url = push_dataset("out/drums", "org/drums", private=True)
"""

from __future__ import annotations

from pathlib import Path

from mixwave_hf.errors import InputError


def push_dataset(directory: str | Path, repo_id: str, private: bool = False) -> str:
    """Upload `directory` (as written by a builder) to the dataset repo `repo_id`; returns its URL.

    Raises ValueError if the folder is not a complete built dataset (no card, no shards, or shards
    left unfinished by an interrupted build).
    """
    from huggingface_hub import HfApi

    directory = Path(directory)
    shards = sorted((directory / "data").glob("*.parquet"))
    if not (directory / "README.md").is_file() or not shards:
        raise InputError(f"{directory}: expected a built dataset (README.md and data/*.parquet); "
                         "make one with `mixwave data build ...`")
    if any((directory / "data").glob(".*.partial")):
        raise InputError(f"{directory}: holds unfinished shards from an interrupted build; rebuild it")
    api = HfApi()
    url = api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    api.upload_folder(folder_path=directory, repo_id=repo_id, repo_type="dataset",
                      allow_patterns=["README.md", "data/*.parquet"],
                      commit_message=f"Upload {len(shards)} shards with mixwave-hf")
    return str(url)
