"""Matching file and track names to the model's slots."""

import pytest

from mixwave_hf.slots import OVERHEAD_PAIR, assign_slots, match_slot, normalise_name, resolve_slot_name


@pytest.mark.parametrize("name,slot", [
    ("kick.wav", "kick"), ("01 Kick-In.wav", "kick"), ("BD.flac", "kick"), ("bass drum.aif", "kick"),
    ("Snare.wav", "snare"), ("SnareTop.flac", "snare"), ("sd.wav", "snare"),
    ("hihat.wav", "hihat"), ("Hi-Hat.wav", "hihat"), ("HH.wav", "hihat"), ("hi_hat.wav", "hihat"),
    ("Tom1.wav", "tom_1"), ("tom_1.wav", "tom_1"), ("Rack Tom.wav", "tom_1"), ("rack tom 2.wav", "tom_2"),
    ("tom2.wav", "tom_2"), ("Floor Tom.wav", "tom_3"), ("tom_3.wav", "tom_3"),
    ("overhead_L.wav", "overhead_L"), ("OHL.wav", "overhead_L"), ("overheadL.wav", "overhead_L"),
    ("OH Left.wav", "overhead_L"), ("overhead_R.wav", "overhead_R"), ("oh_r.flac", "overhead_R"),
    ("Overheads.wav", OVERHEAD_PAIR), ("OH.wav", OVERHEAD_PAIR),
    ("room.wav", None), ("mix.wav", None), ("reference_mix.wav", None), ("tambourine.wav", None),
])
def test_default_aliases(name, slot):
    assert match_slot(name) == slot


def test_normalised_names_split_case_and_digits():
    assert normalise_name("01 Kick-In.wav") == "01_kick_in"
    assert normalise_name("overheadL.flac") == "overhead_l"
    assert normalise_name("dir/Tom1.wav") == "tom_1"


def test_custom_slots_match_their_own_names():
    assert match_slot("vox_lead.wav", ["vox_lead", "bass"]) == "vox_lead"
    assert match_slot("kick.wav", ["vox_lead", "bass"]) is None
    assert match_slot("overheads.wav", ["kick"]) is None  # no pair without the overhead slots


def test_assign_slots_reports_unmatched_and_refuses_duplicates():
    assigned, unmatched, clashes = assign_slots(["a/kick.wav", "a/snare.wav", "a/room.wav"])
    assert clashes == []
    assert assigned == {"kick": "a/kick.wav", "snare": "a/snare.wav"} and unmatched == ["a/room.wav"]
    with pytest.raises(ValueError, match="kick_in.wav and kick_out.wav both match slot 'kick'"):
        assign_slots(["kick_in.wav", "kick_out.wav"])
    with pytest.raises(ValueError, match="both give the overheads"):
        assign_slots(["overheads.wav", "ohl.wav"])
    assigned, _, clashes = assign_slots(["kick_in.wav", "kick_out.wav", "ohl.wav", "oh.wav"], strict=False)
    assert assigned == {"kick": "kick_in.wav", "overhead_L": "ohl.wav"}
    assert clashes == ["kick_out.wav also matches kick, which kick_in.wav feeds",
                       "oh.wav also matches overheads, which ohl.wav feeds"]


def test_resolve_slot_name():
    assert resolve_slot_name("bd") == "kick" and resolve_slot_name("tom_2") == "tom_2"
    with pytest.raises(ValueError, match="unknown slot 'cowbell'; expected one of"):
        resolve_slot_name("cowbell")
