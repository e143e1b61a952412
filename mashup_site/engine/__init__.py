"""The offline mashup engine: pure audio code (numpy in, numpy out); no Django here.

Public API: ``make_mashup(song1, song2, out_dir, MashupParams(...), on_stage=...)``.
"""

from .errors import EngineError
from .pipeline import MashupParams, MashupResult, Variant, make_mashup

__all__ = ["EngineError", "MashupParams", "MashupResult", "Variant", "make_mashup"]
