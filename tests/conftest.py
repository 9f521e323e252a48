"""Shared fixtures: tiny, deterministic fake datasets of real JPEGs (a digit drawn on a shirt
colour), in both dataset layouts, odd-sized frames for preprocessing checks, and one tiny export.

Torch-free at import, so `tests/runtime` and `tests/core` run on a device without torch: there
the tiny export is a folder made beforehand by `python -m tests.tools.tiny_export DIR` (on a
machine with torch) and named by the environment variable TINY_EXPORT_ENV.
"""

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, Optional, Sequence, Tuple

import pytest
from PIL import Image, ImageDraw, ImageFont

from jersey_edge.core.preprocess import PreprocessConfig

if TYPE_CHECKING:
    from jersey_edge.export.pipeline import ExportReport
    from jersey_edge.model.net import JerseyNet

Size = Tuple[int, int]


def write_jpeg(path: Path, *, size: Size = (40, 64), colour: Tuple[int, int, int] = (200, 40, 40),
               text: str = "7") -> Path:
    """A shirt-coloured W x H JPEG with `text` drawn in white near the middle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, size[0] - 1, max(0, size[1] // 8)), fill=(30, 30, 30))
    draw.text((size[0] // 4, size[1] // 3), text, fill=(250, 250, 250),
              font=ImageFont.load_default())
    img.save(path, quality=90)
    return path


def _colour(*keys: int) -> Tuple[int, int, int]:
    seed = sum((k + 1) * p for k, p in zip(keys, (37, 101, 211)))
    return (40 + seed * 7 % 200, 40 + seed * 13 % 200, 40 + seed * 29 % 200)


def write_fake_dataset(root: Path, *, layout: str = "B", labels: Sequence[int] = (4, 7, 48),
                       tracks: int = 3, sequences: int = 2, frames: int = 4,
                       anchor: bool = True, size: Size = (40, 64)) -> Path:
    """layout "A": ROOT/<label>/<seq>/*.jpg (tracks*sequences sequences per label, each its own
    track); layout "B": ROOT/<label>/track_XX/seq_XX/*.jpg."""
    for label in labels:
        for t in range(tracks):
            for s in range(sequences):
                if layout == "A":
                    folder = root / str(label) / f"seq_{t * sequences + s:02d}"
                else:
                    folder = root / str(label) / f"track_{t:02d}" / f"seq_{s:02d}"
                colour = _colour(label, t)
                for f in range(frames):
                    # frame size varies a little, as real crops do
                    w, h = size[0] + (f % 3) * 2, size[1] + (s % 2) * 4
                    write_jpeg(folder / f"frame_{f:03d}.jpg", size=(w, h), colour=colour,
                               text=str(label))
                if anchor:
                    write_jpeg(folder / "anchor.jpg", size=size, colour=colour, text=str(label))
    return root


@pytest.fixture
def fake_dataset(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Factory: fake_dataset(layout="B", labels=..., tracks=..., ..., root=None) -> root.

    Without `root` it writes a fresh folder; with one it adds to it (e.g. to mix layouts)."""

    def make(root: Optional[Path] = None, **kwargs) -> Path:
        return write_fake_dataset(root or tmp_path_factory.mktemp("dataset"), **kwargs)

    return make


@pytest.fixture
def jpeg() -> Callable[..., Path]:
    """write_jpeg(path, *, size=(W, H), colour=(r, g, b), text="7") -> path."""
    return write_jpeg


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Track layout (ROOT/label/track/sequence): labels 4, 7, 48 x 3 tracks x 2 sequences
    x 4 frames + anchor.
    Shared by many tests: do not modify it (use fake_dataset for that)."""
    return write_fake_dataset(tmp_path_factory.mktemp("tiny_b"), layout="B")


@pytest.fixture(scope="session")
def tiny_dataset_a(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Flat layout (ROOT/label/sequence): labels 4, 7, 48 x 6 sequences x 4 frames + anchor.
    Read-only."""
    return write_fake_dataset(tmp_path_factory.mktemp("tiny_a"), layout="A")


ODD_SIZES: Dict[str, Size] = {
    "wide": (300, 20),
    "tall": (20, 300),
    "tiny": (1, 1),
    "tiny_wide": (2, 1),
    "larger": (400, 640),
    "exact": (96, 160),
    "odd": (97, 151),
    "crop": (96, 150),
}


@pytest.fixture(scope="session")
def odd_frames(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """JPEGs of awkward sizes/aspects (W x H in ODD_SIZES) for preprocessing checks."""
    root = tmp_path_factory.mktemp("odd_frames")
    return {name: write_jpeg(root / f"{name}.jpg", size=size, colour=_colour(i), text="48")
            for i, (name, size) in enumerate(ODD_SIZES.items())}


# One tiny export per test session, shared by the export, runtime and bench tests: an
# untrained Lite0 at 64x32, max_frames=4, exported with FP16 and INT8. Tests only read it.
TINY = PreprocessConfig(height=64, width=32)
MAX_FRAMES = 4
TINY_EXPORT_ENV = "JERSEY_EDGE_TINY_EXPORT"


@dataclass
class Exported:
    """The tiny export. `report` and `model` exist only where this session exported it."""

    out: Path
    checkpoint: Path
    data_root: Path
    report: Optional["ExportReport"] = None
    model: Optional["JerseyNet"] = None
    preprocess: PreprocessConfig = TINY
    max_frames: int = MAX_FRAMES

    @classmethod
    def prebuilt(cls, root: Path) -> "Exported":
        """A folder written by `python -m tests.tools.tiny_export ROOT`."""
        return cls(out=root / "run" / "artifacts", checkpoint=root / "run" / "best.pt",
                   data_root=root / "data")


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


@pytest.fixture
def tiny_checkpoint() -> Callable[..., Path]:
    """make_checkpoint(folder, data_root, *, record_data_root=True) -> best.pt path."""
    if not _has_torch():
        pytest.skip("making a checkpoint needs torch")
    from tests.tools.tiny_export import make_checkpoint

    return make_checkpoint


@pytest.fixture(scope="session")
def exported(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Exported:
    prebuilt = os.environ.get(TINY_EXPORT_ENV)
    if prebuilt:
        return Exported.prebuilt(Path(prebuilt))
    if not _has_torch():
        pytest.skip(f"the tiny export needs torch, or a folder from `python -m "
                    f"tests.tools.tiny_export DIR` named by {TINY_EXPORT_ENV}")
    from tests.tools.tiny_export import export_tiny

    return export_tiny(tmp_path_factory.mktemp("export_run"), tiny_dataset)
