"""Drop-in compatibility layers for existing Python hosts.

Each submodule reproduces one host's processing functions with the same signatures and the
same numbers, running on tonecore's native code, so the host can switch by changing imports:

``tonecore.compat.auralis``
    The Auralis player's DSP hot paths (windowed FFT/STFT, frame EQ, adaptive overlap-add EQ,
    chunk crossfades and geometry, gain smoother, level matcher, safety limit).
"""

from __future__ import annotations

from . import auralis

__all__ = ["auralis"]
