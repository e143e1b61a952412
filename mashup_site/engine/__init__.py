"""The offline mashup engine: pure audio code (numpy in, numpy out); no Django here.

Public API: ``make_mashup(song1, song2, out_dir, MashupParams(...), on_stage=...)``; it
reports ``text`` (analysis done, ``info["summary"]``), then ``first`` and ``complete``
(``info["variant"]``, and ``info["index"]``: 1 or 2, as the summary numbers them; the two
render at once, so the second may come first). Module by module: decode → analysis →
separation (behind the ``Separator`` protocol: pass ``separator=`` to use another) →
matching → arrange → style → master → output, with measure for the quality figures;
pipeline ties them together and documents how the API's parameters map.
``manage.py mashup`` is the command line; ``benchmarks/engine.py`` prints its cost on two
real songs.
"""

from .analysis import GIVEN_BPM
from .errors import EngineError
from .key import KEY_NAMES
from .pipeline import MashupParams, MashupResult, Variant, make_mashup
from .separation import Separator, Stems

__all__ = [
    "GIVEN_BPM",
    "KEY_NAMES",
    "EngineError",
    "MashupParams",
    "MashupResult",
    "Separator",
    "Stems",
    "Variant",
    "make_mashup",
]
