"""mixwave-hf: automatic drum mixing with the Mix-Wave-U-Net, on the Hugging Face Hub.

    from mixwave_hf import MixWaveUNet
    model = MixWaveUNet.from_pretrained("path/or/org-name")
    result = model.mix({"kick": kick, "snare": snare, "overheads": overheads}, sample_rate=48000)
    result.audio  # [2, samples] float32 at 48 kHz
"""

from mixwave_hf.mixing import MixResult, mix_tracks
from mixwave_hf.model import MixWaveUNet, ValidLengths
from mixwave_hf.slots import DEFAULT_SLOTS

__all__ = ["DEFAULT_SLOTS", "MixResult", "MixWaveUNet", "ValidLengths", "mix_tracks"]
__version__ = "0.1.0"
