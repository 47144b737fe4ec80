"""Matching file and track names to the model's slots."""

import pytest

from mixwave_hf.slots import OVERHEAD_PAIR, assign_slots, match_slot, mic_rank, normalise_name, resolve_slot_name


@pytest.mark.parametrize("name,slot", [
    ("kick.wav", "kick"), ("01 Kick-In.wav", "kick"), ("BD.flac", "kick"), ("bass drum.aif", "kick"),
    ("Snare.wav", "snare"), ("SnareTop.flac", "snare"), ("sd.wav", "snare"),
    ("hihat.wav", "hihat"), ("Hi-Hat.wav", "hihat"), ("HH.wav", "hihat"), ("hi_hat.wav", "hihat"),
    ("Tom1.wav", "tom_1"), ("tom_1.wav", "tom_1"), ("Rack Tom.wav", "tom_1"), ("rack tom 2.wav", "tom_2"),
    ("tom2.wav", "tom_2"), ("Floor Tom.wav", "tom_3"), ("tom_3.wav", "tom_3"),
    ("overhead_L.wav", "overhead_L"), ("OHL.wav", "overhead_L"), ("overheadL.wav", "overhead_L"),
    ("OH Left.wav", "overhead_L"), ("overhead_R.wav", "overhead_R"), ("oh_r.flac", "overhead_R"),
    ("Overheads.wav", OVERHEAD_PAIR), ("OH.wav", OVERHEAD_PAIR),
    ("Overheads L.wav", "overhead_L"), ("Overheads Right.wav", "overhead_R"), ("Overhead 1.wav", "overhead_L"),
    ("OH 2.wav", "overhead_R"), ("OHR.wav", "overhead_R"), ("Left OH.wav", "overhead_L"),
    ("Kick Sub.wav", "kick"), ("Subkick.wav", "kick"), ("Snare Btm.wav", "snare"), ("Hi Hat.wav", "hihat"),
    ("room.wav", None), ("mix.wav", None), ("reference_mix.wav", None), ("tambourine.wav", None),
    ("Room L.wav", None), ("Mono Room.wav", None), ("Kick Amb.wav", None), ("Trash.wav", None),
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
    assigned, unmatched, notes = assign_slots(["a/kick.wav", "a/snare.wav", "a/guitar.wav"])
    assert notes == []
    assert assigned == {"kick": "a/kick.wav", "snare": "a/snare.wav"} and unmatched == ["a/guitar.wav"]
    with pytest.raises(ValueError, match="kick.wav and bd.wav both match slot 'kick'"):
        assign_slots(["kick.wav", "bd.wav"])  # both primary: which one is meant is not clear
    with pytest.raises(ValueError, match="overheads.wav and ohl.wav both give the overheads"):
        assign_slots(["overheads.wav", "ohl.wav"])
    assigned, _, notes = assign_slots(["kick.wav", "bd.wav", "ohl.wav", "oh.wav"], strict=False)
    assert assigned == {"kick": "kick.wav", "overhead_L": "ohl.wav"}
    assert notes == ["bd.wav also matches kick, which kick.wav feeds",
                     "oh.wav also matches overheads, which ohl.wav feeds"]


@pytest.mark.parametrize("name,rank", [
    ("Kick In.wav", (0, None)), ("Kick.wav", (0, None)), ("Snare Top.wav", (0, None)), ("Tom 1.wav", (0, None)),
    ("Kick Beta91.wav", (0, None)), ("Kick In D112.wav", (0, None)),  # a primary word outranks the rest
    ("Kick Out.wav", (1, "out")), ("Kick Outside.wav", (1, "outside")), ("Kick D112.wav", (1, "d_112")),
    ("Snare Bottom.wav", (1, "bottom")), ("SnareBtm.wav", (1, "btm")), ("Snare Under.wav", (1, "under")),
    ("Floor Tom Bot.wav", (1, "bot")), ("Kick Sub.wav", (2, "sub")), ("SubKick.wav", (2, "sub")),
])
def test_mic_rank_by_the_words_of_the_name(name, rank):
    assert mic_rank(name) == rank


SESSION = ["Kick In.wav", "Kick Out.wav", "Snare Top.wav", "Snare Bottom.wav", "Hi Hat.wav", "Tom 1.wav",
           "Tom 2.wav", "Floor Tom.wav", "Room L.wav", "Room R.wav"]
SESSION_SLOTS = {"kick": "Kick In.wav", "snare": "Snare Top.wav", "hihat": "Hi Hat.wav", "tom_1": "Tom 1.wav",
                 "tom_2": "Tom 2.wav", "tom_3": "Floor Tom.wav"}
SESSION_NOTES = ["Kick Out.wav left out: kick takes Kick In.wav; 'out' marks a secondary mic",
                 "Snare Bottom.wav left out: snare takes Snare Top.wav; 'bottom' marks a secondary mic"]
ROOM_NOTE = "Room L.wav, Room R.wav left out: room mics are not model inputs"


@pytest.mark.parametrize("left,right", [
    ("OH L.wav", "OH R.wav"), ("Overheads L.wav", "Overheads R.wav"), ("OH Left.wav", "OH Right.wav"),
    ("Overheads Left.wav", "Overheads Right.wav"), ("OHL.wav", "OHR.wav"),
])
def test_a_real_session_feeds_the_primary_mics_and_notes_the_rest(left, right):
    for strict in (True, False):  # secondary and room mics are never a clash
        assigned, unmatched, notes = assign_slots(sorted([*SESSION, left, right]), strict=strict)
        assert assigned == {**SESSION_SLOTS, "overhead_L": left, "overhead_R": right}
        assert unmatched == [] and notes == [*SESSION_NOTES, ROOM_NOTE]


@pytest.mark.parametrize("left,right", [("Overhead 1.wav", "Overhead 2.wav"), ("OH 1.wav", "OH 2.wav")])
def test_numbered_overheads_are_taken_as_left_then_right_with_a_note(left, right):
    assigned, _, notes = assign_slots(sorted([*SESSION, right, left]))
    assert assigned == {**SESSION_SLOTS, "overhead_L": left, "overhead_R": right}
    assert notes == [*SESSION_NOTES, f"{left} and {right}: overheads numbered, not sided; taken as 1 = left, "
                     "2 = right", ROOM_NOTE]


def test_the_primary_mic_wins_in_any_order_and_ranks_fall_back():
    assert assign_slots(["Snare Bottom.wav", "Snare Top.wav"])[0] == {"snare": "Snare Top.wav"}
    assigned, _, notes = assign_slots(["Kick Sub.wav", "Kick Out.wav"])  # no inside mic: out over sub
    assert assigned == {"kick": "Kick Out.wav"}
    assert notes == ["Kick Sub.wav left out: kick takes Kick Out.wav; 'sub' marks a secondary mic"]
    assigned, _, notes = assign_slots(["Kick In.wav", "Kick Out.wav", "Kick D112.wav", "SubKick.wav"])
    assert assigned == {"kick": "Kick In.wav"} and len(notes) == 3  # two equal secondaries: no clash
    with pytest.raises(ValueError, match="Kick.wav and Kick In.wav both match slot 'kick'"):
        assign_slots(["Kick.wav", "Kick In.wav", "Kick Out.wav"])


def test_resolve_slot_name():
    assert resolve_slot_name("bd") == "kick" and resolve_slot_name("tom_2") == "tom_2"
    with pytest.raises(ValueError, match="unknown slot 'cowbell'; expected one of"):
        resolve_slot_name("cowbell")
