"""Number faces shipped inside matplotlib: varied jersey lettering with nothing fetched.

Three families of different construction (DejaVu: humanist sans, mono and serif; STIX: a
Times-like serif; Computer Modern: a high-contrast didone, its sans and typewriter faces),
upright and slanted, so no one glyph shape stands for a digit.
"""

import functools
import importlib.util
import os
from typing import Tuple

from PIL import ImageFont

from jersey_edge.core.errors import DatasetError

# Bold faces are listed twice: most kits use heavy block numbers.
FONT_FILES: Tuple[str, ...] = (
    "DejaVuSans-Bold.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Bold.ttf",
    "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif-BoldItalic.ttf",
    "DejaVuSans.ttf",
    "DejaVuSansMono.ttf",
    "DejaVuSerif.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralBol.ttf",
    "STIXGeneralBolIta.ttf",
    "cmb10.ttf",
    "cmb10.ttf",
    "cmss10.ttf",
    "cmtt10.ttf",
)
RENDER_SIZE = 120


def font_dir() -> str:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise DatasetError(
            "the synthetic generator needs the DejaVu fonts shipped with matplotlib; "
            "install it with: pip install 'jersey-edge[train]'"
        )
    return os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf")


@functools.lru_cache(maxsize=None)
def load_font(name: str) -> ImageFont.FreeTypeFont:
    """One large instance per face and process; glyphs are drawn big and resampled down."""
    path = os.path.join(font_dir(), name)
    if not os.path.isfile(path):
        raise DatasetError(f"font {path} is missing; reinstall matplotlib")
    return ImageFont.truetype(path, RENDER_SIZE)
