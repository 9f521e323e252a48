"""Files that are not JPEG or PNG (or are broken ones) behind a frame's name, for decoding tests.

Each writer returns the format Pillow would have decoded the file as, had it been allowed to
guess by content, so a test can show the file is a real one of that kind.
"""

import io
import struct
import zlib
from pathlib import Path
from typing import Callable, Dict, Optional

import numpy as np
from PIL import Image

SIZE = (40, 64)  # W x H, like a player crop


def _pillow_save(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def broken_png() -> bytes:
    """A PNG whose second IDAT chunk has a garbage type: Pillow raises SyntaxError on load."""
    width, height = SIZE
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * (width * 3) for _ in range(height)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    garbage = struct.pack(">I", len(pixels) - 20) + b"\x01\x02\x03\x04" + pixels[20:] + b"\0" * 4
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels[:20])
            + garbage + _png_chunk(b"IEND", b""))


def truncated_png_header() -> bytes:
    """A PNG whose IHDR is 4 bytes long: Pillow raises ValueError on open."""
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", b"\0\0\0\x28") + _png_chunk(b"IEND", b"")


def dds() -> bytes:
    """A DDS header with an unknown FourCC: Pillow raises NotImplementedError on open."""
    width, height = SIZE
    pixel_format = struct.pack("<II4s5I", 32, 0x4, b"ZZZZ", 0, 0, 0, 0, 0)
    header = (struct.pack("<7I", 124, 0x1007, height, width, 0, 0, 0) + b"\0" * 44
              + pixel_format + struct.pack("<5I", 0x1000, 0, 0, 0, 0))
    return b"DDS " + header + b"\0" * 4000


def eps() -> bytes:
    """An EPS file: decoding it would run Ghostscript."""
    return (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 40 64\n%%EndComments\n"
            b"showpage\n%%EOF\n")


OTHER_FORMATS: Dict[str, Callable[[], bytes]] = {
    "TIFF": lambda: _pillow_save(Image.new("RGB", SIZE, (200, 30, 30)), "TIFF"),
    "float TIFF": lambda: _pillow_save(
        Image.fromarray(np.full(SIZE[::-1], 0.5, np.float32)), "TIFF"),
    "WEBP": lambda: _pillow_save(Image.new("RGB", SIZE, (200, 30, 30)), "WEBP"),
    "DDS": dds,
    "EPS": eps,
}

BROKEN_PNGS: Dict[str, Callable[[], bytes]] = {
    "syntax error on load": broken_png,
    "truncated header": truncated_png_header,
}

UNDECODABLE: Dict[str, Callable[[], bytes]] = {**OTHER_FORMATS, **BROKEN_PNGS}


def write(path: Path, case: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(UNDECODABLE[case]())
    return path


def guessed_format(path: Path) -> Optional[str]:
    """What Pillow identifies the file as when it may try every format it knows."""
    with Image.open(path) as image:
        return image.format
