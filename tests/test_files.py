"""files.atomic_path: readers see the old file or the new one, never half of one; a failure leaves nothing.
files.clashing_input / folder_relation: whether an output would replace an input, through any path or link."""

import pytest

from mixwave_hf.files import atomic_path, clashing_input, folder_relation, write_json


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


def test_an_output_clashes_with_an_input_through_any_path_or_link(tmp_path):
    stems = tmp_path / "stems"
    stems.mkdir()
    kick, snare = stems / "kick.wav", stems / "snare.wav"
    kick.write_bytes(b"kick")
    snare.write_bytes(b"snare")
    (tmp_path / "soft.wav").symlink_to(kick)
    (tmp_path / "hard.wav").hardlink_to(snare)
    for output, clash in [(stems / ".." / "stems" / "kick.wav", kick), (tmp_path / "soft.wav", kick),
                          (tmp_path / "hard.wav", snare), (tmp_path / "mix.wav", None), (stems / "mix.wav", None)]:
        assert clashing_input(output, [kick, snare]) == clash, output
    assert folder_relation(stems, stems / ".") == "is"
    assert folder_relation(tmp_path, kick) == "holds" and folder_relation(stems / "new" / "out", stems) == "lies inside"
    assert folder_relation(tmp_path / "link", kick) is None
    (tmp_path / "link").symlink_to(stems)  # a linked output folder is where it points
    assert folder_relation(tmp_path / "link", kick) == "holds"
    assert folder_relation(tmp_path / "out", stems) is None
