"""Hub integration, offline: the real huggingface_hub client against the local test Hub (see conftest)."""

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    HfFileSystem,
    RepoFile,
    RepoFolder,
    constants,
    hf_hub_download,
    hf_hub_url,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import build_hf_headers, get_session

from mixwave_hf.model import MixWaveUNet

# Not the default slots, so that a restored config visibly comes from config.json.
SLOTS = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "room_L", "room_R")


def tiny_model() -> MixWaveUNet:
    """A small, randomly initialised model with a non-default config."""
    torch.manual_seed(0)
    return MixWaveUNet(levels=3, base_channels=4, upsampling="learned", slot_names=SLOTS).eval()


def assert_same_model(loaded: MixWaveUNet, original: MixWaveUNet) -> None:
    """Same config, every tensor equal, and equal outputs on a random input."""
    assert (loaded.levels, loaded.slot_names, loaded.upsampling) == (3, SLOTS, "learned")
    expected = original.state_dict()
    assert loaded.state_dict().keys() == expected.keys()
    for name, tensor in loaded.state_dict().items():
        assert torch.equal(tensor, expected[name]), name
    tracks = torch.randn(2, len(SLOTS), original.valid_lengths(100).input)
    with torch.no_grad():
        assert torch.equal(loaded.eval()(tracks), original(tracks))


def test_upload_download_list_and_history(hub_server: str) -> None:
    api = HfApi()
    repo_id = "someorg/generic"
    url = api.create_repo(repo_id)
    assert (url.repo_id, url.endpoint) == (repo_id, hub_server)
    assert api.create_repo(repo_id, exist_ok=True).repo_id == repo_id

    notes = b"first version\n"
    weights = np.random.default_rng(0).bytes(300_000)  # small, but LFS by its name
    api.upload_file(path_or_fileobj=notes, path_in_repo="docs/notes.txt", repo_id=repo_id)
    first = api.upload_file(path_or_fileobj=weights, path_in_repo="weights.safetensors", repo_id=repo_id)
    assert len(first.oid) == 40 and api.model_info(repo_id).sha == first.oid

    assert Path(hf_hub_download(repo_id, "docs/notes.txt")).read_bytes() == notes
    assert Path(hf_hub_download(repo_id, "weights.safetensors")).read_bytes() == weights
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "docs/notes.txt", "weights.safetensors"]

    # A ranged GET straight at resolve/ (a regular file), then through HfFileSystem as datasets reads
    # files: an LFS file, redirected to the storage host, read by ranges.
    response = get_session().get(hf_hub_url(repo_id, "docs/notes.txt"), headers={
        **build_hf_headers(), "Range": "bytes=6-12"})
    assert (response.status_code, response.content) == (206, notes[6:13])
    assert response.headers["Content-Range"] == f"bytes 6-12/{len(notes)}"
    with HfFileSystem().open(f"{repo_id}/weights.safetensors", block_size=4096) as file:
        file.seek(100_000)
        assert file.read(5000) == weights[100_000:105_000]

    # Listing with LFS metadata; paths-info leaves missing paths out, tree answers 404 for them.
    infos = {info.path: info for info in api.get_paths_info(
        repo_id, ["weights.safetensors", "docs", "missing"], expand=True)}
    assert infos.keys() == {"weights.safetensors", "docs"}
    assert isinstance(infos["docs"], RepoFolder) and infos["docs"].last_commit is not None
    lfs_file = infos["weights.safetensors"]
    assert isinstance(lfs_file, RepoFile) and lfs_file.last_commit.oid == first.oid
    assert (lfs_file.size, lfs_file.lfs.sha256) == (len(weights), hashlib.sha256(weights).hexdigest())
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_id, "missing-folder"))

    # A second commit moves main; the first commit id still resolves the old content.
    second = api.create_commit(repo_id, commit_message="Update notes, drop weights", operations=[
        CommitOperationAdd("docs/notes.txt", b"second version\n"),
        CommitOperationDelete("weights.safetensors"),
    ])
    assert second.oid != first.oid and api.model_info(repo_id).sha == second.oid
    assert Path(hf_hub_download(repo_id, "docs/notes.txt")).read_bytes() == b"second version\n"
    assert Path(hf_hub_download(repo_id, "docs/notes.txt", revision=first.oid)).read_bytes() == notes
    assert Path(hf_hub_download(repo_id, "weights.safetensors", revision=first.oid)).read_bytes() == weights
    assert api.list_repo_files(repo_id) == [".gitattributes", "docs/notes.txt"]
    assert [commit.commit_id for commit in api.list_repo_commits(repo_id)][:2] == [second.oid, first.oid]
    api.delete_folder("docs", repo_id)
    assert api.list_repo_files(repo_id) == [".gitattributes"]

    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "weights.safetensors")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, ".gitattributes", revision="no-such-branch")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("someorg/no-such-repo", "config.json")
    with pytest.raises(RepositoryNotFoundError):
        api.model_info("someorg/no-such-repo")


def test_dataset_repo_listing_and_ranged_reads(hub_server: str) -> None:
    api = HfApi()
    repo_id = "someorg/tiny-dataset"
    api.create_repo(repo_id, repo_type="dataset")
    shard = np.random.default_rng(1).bytes(20_000)
    operations = [CommitOperationAdd(f"data/train-{i:05d}.parquet", shard + bytes([i])) for i in range(60)]
    operations.append(CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n"))
    commit = api.create_commit(repo_id, operations, commit_message="Add shards", repo_type="dataset")

    # 60 files plus a folder, listed with expand: more than one 50-entry page, followed through Link.
    tree = list(api.list_repo_tree(repo_id, recursive=True, expand=True, repo_type="dataset"))
    shards = [entry for entry in tree if entry.path.endswith(".parquet")]
    assert len(shards) == 60 and all(entry.lfs and entry.last_commit.oid == commit.oid for entry in shards)

    fs = HfFileSystem()
    root = f"datasets/{repo_id}@{commit.oid}"
    found = fs.glob(f"{root}/data/*.parquet")
    assert len(found) == 60 and found[0] == f"{root}/data/train-00000.parquet"
    with fs.open(found[7], block_size=1024) as file:
        file.seek(15_000)
        assert file.read(5001) == (shard + bytes([7]))[15_000:]
    assert api.dataset_info(repo_id).sha == commit.oid


def test_model_round_trip_through_the_hub(hub_server: str) -> None:
    model = tiny_model()
    model.push_to_hub("someorg/tiny-mixer")
    assert_same_model(MixWaveUNet.from_pretrained("someorg/tiny-mixer"), model)

    api = HfApi()
    files = {info.path: info for info in api.list_repo_tree("someorg/tiny-mixer")}
    assert {"config.json", "model.safetensors", "README.md"} <= files.keys()
    assert files["model.safetensors"].lfs is not None and files["config.json"].lfs is None

    model.push_to_hub("someorg/tiny-private-mixer", private=True)
    assert api.model_info("someorg/tiny-private-mixer").private is True
    with pytest.raises(RepositoryNotFoundError):  # hidden from anonymous requests
        api.model_info("someorg/tiny-private-mixer", token=False)
    assert_same_model(MixWaveUNet.from_pretrained("someorg/tiny-private-mixer"), model)


def test_from_pretrained_offline_from_a_prepopulated_cache(tmp_path: Path, monkeypatch) -> None:
    # The cache layout hf_hub_download leaves, built by hand: refs/main names a snapshot folder.
    commit = hashlib.sha1(b"a commit that only exists in this cache").hexdigest()
    repo_cache = tmp_path / "models--someorg--somerepo"
    model = tiny_model()
    model.save_pretrained(repo_cache / "snapshots" / commit)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(commit)

    # huggingface_hub reads HF_HUB_OFFLINE once, into constants, when it is imported.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(OfflineModeIsEnabled):  # no request leaves the process
        HfApi().model_info("someorg/somerepo")
    assert_same_model(MixWaveUNet.from_pretrained("someorg/somerepo", cache_dir=tmp_path), model)
