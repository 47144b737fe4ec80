"""One family for the errors a user can cause: a file, an option, a model or a dataset that cannot be used.

Each module's own error (`audio.AudioError`, `model_files.ModelLoadError`, `data.schema.DatasetError`, ...)
derives from `MixwaveError`, so an entry point prints these as one line naming the input, and lets anything else
(a bug) show its traceback. Most also derive from ValueError, which callers of the Python API catch.

    try:
        mix_files(model, song, "mix.wav")
    except MixwaveError as error:
        print(f"mixwave: error: {error}")
"""

from __future__ import annotations


class MixwaveError(Exception):
    """A problem with the user's input; the message names the input and says what would be accepted."""


class InputError(MixwaveError, ValueError):
    """An argument that cannot be used (out of range, unknown, given twice, a file or folder that is not what it
    should be); the message names it and what is accepted."""
