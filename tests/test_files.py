"""files.atomic_path: readers see the old file or the new one, never half of one; a failure leaves nothing."""

import pytest

from mixwave_hf.files import atomic_path, write_json


def test_a_failed_write_leaves_the_old_file_and_no_partial(tmp_path):
    target = tmp_path / "mix.wav"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        assert partial.suffix == ".wav" and partial.parent == tmp_path  # writers that go by the extension work
        partial.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]


def test_a_folder_is_replaced_whole(tmp_path):
    folder = tmp_path / "best"
    folder.mkdir()
    (folder / "stale.txt").write_text("from the last save")
    with atomic_path(folder) as partial:
        partial.mkdir()
        write_json(partial / "training.json", {"step": 2})
    assert sorted(path.name for path in folder.iterdir()) == ["training.json"]
    assert sorted(tmp_path.iterdir()) == [folder]
