"""What a kit is: the pieces a groove plays, their articulations, and a kit's note for each (`KitSpec`).

A kit's samples are an SF2 soundfont preset or a Hydrogen drumkit; `kits.py` finds and renders them,
`registry.py` lists the kits. Notes: docs/synthetic-corpus.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Pieces a groove plays, in render order; the first six have close mics (the slots of the same name).
PIECES = ("kick", "snare", "hihat", "tom_1", "tom_2", "tom_3", "crash_1", "crash_2", "ride")
#: Articulations each piece can be played with (the first is its main one, used for level calibration).
ARTICULATIONS: dict[str, tuple[str, ...]] = {
    "kick": ("hit",),
    "snare": ("hit", "side_stick"),
    "hihat": ("closed", "pedal", "open"),
    "tom_1": ("hit",),
    "tom_2": ("hit",),
    "tom_3": ("hit",),
    "crash_1": ("hit",),
    "crash_2": ("hit",),
    "ride": ("hit", "bell"),
}
#: Articulations that only some kits sample (brushes): a kit lists them in its notes when it has them
#: (`KitSpec.has_note`); where it does not, the dry render approximates them from its other notes.
OPTIONAL_ARTICULATIONS: dict[str, tuple[str, ...]] = {"snare": ("brush_tap", "brush_sweep")}
#: What a kit's samples are: recordings of an acoustic drum set, or a drum machine's (synthesised) sounds.
KINDS = ("acoustic", "electronic")
ALL_VELOCITIES = (1, 127)


@dataclass(frozen=True)
class Note:
    """One articulation of a piece: a note of the kit, pitch-shifted by `semitones`.

    `key` is a MIDI key of the SF2 preset, or the `<id>` of a Hydrogen drumkit's instrument. A Hydrogen
    note may bound the MIDI velocity that picks its sample layer (`layer_velocities`, inclusive), so a
    stand-in plays the layers that fit it (a hi-hat foot "chick" from a closed hi-hat's softest layers);
    the stroke's level still follows its own velocity.
    """

    key: int
    semitones: float = 0.0
    layer_velocities: tuple[int, int] = ALL_VELOCITIES

    def as_metadata(self) -> list:
        """[key, semitones], and [low, high] layer velocities when they are bounded."""
        bounds = [list(self.layer_velocities)] if self.layer_velocities != ALL_VELOCITIES else []
        return [self.key, self.semitones, *bounds]


@dataclass(frozen=True)
class KitSpec:
    """A sampled kit: where its samples are, who made them under which licence, and the note of every articulation.

    The samples are an SF2 `soundfont` (a file name, looked up in MIXWAVE_SOUNDFONT_DIR then /usr/share/sounds/sf2)
    at `bank`/`preset`, or a Hydrogen `drumkit` (a folder name, looked up in MIXWAVE_DRUMKIT_DIR then
    /usr/share/hydrogen/data/drumkits; soundfont "" then). `maker` names who recorded the samples (kits
    of one maker may share recordings: hold them out together); `kind` is one of KINDS.
    """

    name: str
    soundfont: str
    bank: int
    preset: int
    debian_package: str
    license: str
    attribution: str
    notes: dict[str, dict[str, Note]] = field(default_factory=dict)  # piece -> articulation -> note
    description: str = ""
    drumkit: str = ""
    maker: str = ""
    kind: str = "acoustic"

    def __post_init__(self) -> None:
        if bool(self.soundfont) == bool(self.drumkit):
            raise ValueError(f"kit {self.name!r}: soundfont {self.soundfont!r}, drumkit {self.drumkit!r}; "
                             "expected exactly one of them")
        if self.kind not in KINDS:
            raise ValueError(f"kit {self.name!r}: kind {self.kind!r}; expected one of {KINDS}")
        bounded = [f"{piece} {art}" for piece, arts in self.notes.items() for art, note in arts.items()
                   if note.layer_velocities != ALL_VELOCITIES]
        if self.soundfont and bounded:
            raise ValueError(f"kit {self.name!r}: layer velocities for {bounded}; only Hydrogen drumkits have them")

    @property
    def samples(self) -> str:
        """Where the samples are, in words: "X.sf2, bank 0 preset 0" or "Hydrogen drumkit X"."""
        if self.drumkit:
            return f"Hydrogen drumkit {self.drumkit}"
        return f"{self.soundfont}, bank {self.bank} preset {self.preset}"

    def note(self, piece: str, articulation: str) -> Note:
        """The note playing `articulation` of `piece`; ValueError names the accepted ones."""
        try:
            return self.notes[piece][articulation]
        except KeyError:
            raise ValueError(
                f"kit {self.name!r}: no note for {piece} {articulation!r}; "
                f"expected a piece of {list(self.notes)} and an articulation of {ARTICULATIONS.get(piece)}"
            ) from None

    def has_note(self, piece: str, articulation: str) -> bool:
        """Whether the kit samples `articulation` of `piece` (always, for those of ARTICULATIONS)."""
        return articulation in self.notes.get(piece, {})

    def as_metadata(self) -> dict:
        """The spec as JSON-serialisable data: where the samples are, the licence, and the notes
        ({piece: {articulation: Note.as_metadata()}}, e.g. [key, semitones])."""
        source = ({"drumkit": self.drumkit} if self.drumkit else
                  {"soundfont": self.soundfont, "bank": self.bank, "preset": self.preset})
        return {
            "name": self.name, **source, "debian_package": self.debian_package, "license": self.license,
            "notes": {piece: {art: note.as_metadata() for art, note in arts.items()}
                      for piece, arts in self.notes.items()},
        }
