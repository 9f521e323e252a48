"""A synthetic broadcast clip with ground truth: the crop generator's players on a pitch.

Each player is a track of this generator: a kit (two teams, one kit each; own skin and hair),
a printed number and a sequence motion (turning, arm swing, folds, motion blur, a passing
ball) drawn by the same generator, slowed from tracker samples to video rate. Every frame,
`render.draw_frame` draws each player straight onto the pitch, far players first
so nearer ones hide them, placed by the generator's own tracker framing: the box it frames
is the ground truth, so by `core.crops`' rule a crop cut at a box shows what a training crop
shows. The generator's passing bodies and reaching arms are left out: they stand for other
players, and here the other players are real.

Writes OUT/clip.mp4 (H.264), OUT/gt.txt (MOT, 1-based frames, boxes clipped to the frame,
absent while less than half of a box is on screen) and OUT/clip.json (numbers per track id).
"""

import json
import math
import re
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ...core.crops import crop_box
from ...core.errors import InputError
from ...core.fileio import PathLike, atomic_write_text
from ...video.mot import TrackBox, write_mot
from ...video.reader import VideoWriter, require_av
from .background import PAN_SLACK, paint_pitch, pan_offsets
from .config import SynthConfig
from .motion import FrameParams, Occluder, sample_motion
from .printing import build_print
from .render import Scene, draw_frame, make_scene, motion_blur
from .style import Kit, sample_kit
from .writer import GENERATOR_VERSION as SYNTH_VERSION

GENERATOR = "jersey-edge synth-video"
GENERATOR_VERSION = 1
VIDEO, TRACKS, MANIFEST = "clip.mp4", "gt.txt", "clip.json"
STRIDE = 6  # video frames between two generator frames (its frames are tracker samples)
BODY = (-2.0, 2.0, -2.35, 4.25)  # body units around the torso origin: arms, head, feet
FEET = 4.1  # body units from the torso origin down to the soles
GROUND = (0.34, 1.0)  # where feet stand, share of the frame height: far side .. near side
VISIBLE = 0.5  # a box is in the ground truth while this share of it is in the frame
REFERENCE_ROWS = 360  # `ClipConfig.box_height` is given for a frame this tall


@dataclass(frozen=True)
class ClipConfig:
    """What clip to render; written to clip.json. `box_height` is the tracker box's height
    (head to knees, as the generator frames it) on the far and the near side of the pitch,
    in pixels of a 360-row frame: broadcast players are small."""

    players: int = 6
    frames: int = 150
    width: int = 640
    height: int = 360
    fps: int = 25
    seed: int = 0
    box_height: Tuple[float, float] = (40.0, 140.0)
    synth: SynthConfig = field(default_factory=SynthConfig)

    def validate(self) -> None:
        limits = (("players", 1, 99), ("frames", 1, 100_000), ("fps", 1, 240),
                  ("width", 32, 3840), ("height", 32, 2160), ("seed", 0, None))
        for name, low, high in limits:
            value = getattr(self, name)
            if not _whole(value) or value < low or (high is not None and value > high):
                span = f"from {low} to {high}" if high is not None else f">= {low}"
                raise InputError(f"{name} must be a whole number {span}, got {value!r}")
        if self.width % 2 or self.height % 2:
            raise InputError(f"size {self.width}x{self.height} needs even sides (H.264 in "
                             "yuv420p halves the colour planes); e.g. 640x360")
        far, near = self.box_height
        if not 0 < far <= near:
            raise InputError(f"box_height must be (far, near) pixels with 0 < far <= near, "
                             f"got {self.box_height}")
        self.synth.validate()


@dataclass(frozen=True)
class ClipSummary:
    out: Path
    frames: int
    tracks: int
    boxes: int  # ground-truth boxes in gt.txt
    seconds: float


@dataclass(frozen=True)
class _Player:
    """One track: who it is and, per video frame, how it is drawn and where its box is."""

    track_id: int
    number: int
    team: int
    scene: Scene
    frames: Tuple[FrameParams, ...]  # sized in video pixels, cx/cy inside the box
    boxes: np.ndarray  # [frames, 4] int: left, top, width, height on screen (unclipped)


def parse_size(text: str) -> Tuple[int, int]:
    """'640x360' -> (640, 360)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if match is None:
        raise InputError(f"--size takes WIDTHxHEIGHT in pixels, e.g. 640x360; got {text!r}")
    return int(match.group(1)), int(match.group(2))


def synthesize_clip(out: PathLike, config: Optional[ClipConfig] = None, *,
                    progress: bool = True) -> ClipSummary:
    """Render the clip, its MOT ground truth and clip.json into folder `out` (other files
    there are left alone; a clip.mp4 or gt.txt that an earlier run did not write there is
    refused). The same config gives the same clip, box for box."""
    config = config or ClipConfig()
    config.validate()
    require_av()  # before anything is rendered or created
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder; choose another --out")
    existing = [name for name in (VIDEO, TRACKS, MANIFEST) if (out / name).exists()]
    if existing and not _written_here(out / MANIFEST):
        raise InputError(f"output {out} already holds {', '.join(existing)}, not written by "
                         "synth-video; refusing to overwrite them: choose another --out")
    started = time.perf_counter()
    rng = np.random.default_rng([config.seed, 0])
    slack = int(PAN_SLACK * config.width)
    pitch = paint_pitch(rng, config.height, config.width + slack)
    pan = pan_offsets(rng, config.frames, slack, config.fps)
    players = _cast(rng, config, pan)
    out.mkdir(parents=True, exist_ok=True)
    truth: List[TrackBox] = []
    with VideoWriter(out / VIDEO, width=config.width, height=config.height,
                     fps=config.fps) as video:
        for f in tqdm(range(config.frames), unit="frame", desc="synth-video",
                      disable=not progress):
            frame = pitch[:, pan[f]:pan[f] + config.width].astype(np.float32)
            for player in sorted(players, key=lambda p: int(p.boxes[f, 1] + p.boxes[f, 3])):
                _draw(frame, player, f)
                truth += _truth(player, f, (config.width, config.height))
            video.write(np.clip(frame, 0, 255).astype(np.uint8))
    truth.sort(key=lambda box: (box.frame, box.track_id))
    write_mot(out / TRACKS, truth)
    atomic_write_text(out / MANIFEST, json.dumps(_manifest(config, players, truth), indent=2)
                      + "\n")
    return ClipSummary(out, config.frames, len(players), len(truth),
                       time.perf_counter() - started)


def _written_here(manifest: Path) -> bool:
    """Whether `manifest` is a clip.json this generator wrote (its clip may be replaced)."""
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def _cast(rng: np.random.Generator, config: ClipConfig, pan: np.ndarray) -> List[_Player]:
    """Distinct numbers 1-99, two team kits, then every player from its own seed."""
    numbers = rng.choice(np.arange(1, 100), config.players, replace=False)
    home = sample_kit(rng, config.synth)
    away = sample_kit(rng, config.synth)
    for _ in range(8):  # teams must be told apart at a glance
        if np.abs(np.subtract(home.primary, away.primary)).sum() >= 150:
            break
        away = sample_kit(rng, config.synth)
    return [_player(config, index, int(numbers[index]), (home, away), pan)
            for index in range(config.players)]


def _player(config: ClipConfig, index: int, number: int, kits: Tuple[Kit, Kit],
            pan: np.ndarray) -> _Player:
    rng = np.random.default_rng([config.seed, 1, index])
    own = sample_kit(rng, config.synth)
    team = index % 2
    kit = replace(kits[team], skin=own.skin, hair=own.hair)
    tex = build_print(kit, number, rng)
    steps = max(2, math.ceil((config.frames - 1) / STRIDE) + 1)  # generator frames needed
    motion = sample_motion(rng, replace(config.synth, frames=(steps, steps)))
    sampled = _slowed([_without_bodies(f) for f in motion.frames], config.frames)
    torso_x, feet_y, box_h = _path(rng, config, pan)
    # body units -> pixels from the box height, through the generator's own framing ratio
    scale = box_h * float(np.mean([f.scale / f.height for f in motion.frames]))
    frames, boxes = [], []
    for f, params in enumerate(sampled):
        ratio = scale[f] / params.scale
        width = max(2, round(params.width * ratio))
        height = max(2, round(params.height * ratio))
        left = round(torso_x[f] - pan[f] - params.cx * ratio)
        top = round(feet_y[f] - FEET * scale[f] - params.cy * ratio)
        frames.append(replace(params, width=width, height=height, scale=float(scale[f]),
                              cx=float(torso_x[f] - pan[f] - left),
                              cy=float(feet_y[f] - FEET * scale[f] - top),
                              blur=params.blur * ratio))
        boxes.append((left, top, width, height))
    scene = make_scene(kit, tex, motion, float(scale.mean()))
    return _Player(index + 1, number, team, scene, tuple(frames), np.array(boxes, int))


def _path(rng: np.random.Generator, config: ClipConfig,
          pan: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame: torso x on the pitch texture, feet y on screen, box height in pixels.

    Speed and depth drift smoothly (a mean pace plus two slow sways); the player is on
    screen at one random frame and goes wherever the walk takes them from there, so players
    enter late, leave, and come back as the camera pans.
    """
    n, fps = config.frames, config.fps
    seconds = np.arange(n) / fps
    px = config.width / 640  # speeds below are pixels per second in a 640-wide frame

    def sways(amplitude: float, low: float, high: float) -> np.ndarray:
        total = np.zeros(n)
        for _ in range(2):
            period, phase = rng.uniform(low, high), rng.uniform(0, 2 * math.pi)
            total += rng.uniform(0, amplitude) * np.sin(2 * math.pi * seconds / period + phase)
        return total

    velocity = (rng.uniform(-60, 60) + sways(100, 3, 8)) * px
    walked = np.cumsum(velocity) / fps
    depth = 1 / (1 + np.exp(-(rng.normal(0, 1.0) + sways(0.7, 4, 10))))
    seen = int(rng.integers(n))
    torso_x = pan[seen] + config.width * rng.uniform(0.08, 0.92) + walked - walked[seen]
    feet_y = config.height * (GROUND[0] + (GROUND[1] - GROUND[0]) * depth)
    far, near = config.box_height
    rows = config.height / REFERENCE_ROWS
    box_h = (far + (near - far) * depth) * rows * rng.uniform(0.92, 1.08)
    return torso_x, feet_y, box_h


def _without_bodies(frame: FrameParams) -> FrameParams:
    """Keep the ball; passing bodies and arms belong to players this clip draws for real."""
    keep = frame.occluder is None or frame.occluder.kind == "ball"
    return frame if keep else replace(frame, occluder=None)


def _slowed(frames: Sequence[FrameParams], n: int) -> List[FrameParams]:
    """`n` video frames between the generator's frames, STRIDE apart, interpolated, so turns,
    swings and blur change smoothly at video rate."""
    out = []
    for f in range(n):
        k, step = divmod(f, STRIDE)
        a, b = frames[k], frames[min(k + 1, len(frames) - 1)]
        out.append(FrameParams(**{item.name: _mix(getattr(a, item.name), getattr(b, item.name),
                                                  step / STRIDE) for item in fields(a)}))
    return out


def _mix(a: Any, b: Any, weight: float) -> Any:
    if isinstance(a, Occluder) and isinstance(b, Occluder) and a.kind == b.kind:
        return replace(a, u=_mix(a.u, b.u, weight))
    if isinstance(a, tuple):
        return tuple(_mix(x, y, weight) for x, y in zip(a, b))
    if isinstance(a, int):
        return round(a + (b - a) * weight)
    if isinstance(a, float):
        return a + (b - a) * weight
    return a if weight < 0.5 else b  # an occluder coming or going


def _draw(frame: np.ndarray, player: _Player, f: int) -> None:
    """Draw the player onto `frame` (float RGB, whole numbers, changed in place); motion
    blur smears the player, premultiplied, over what is behind it."""
    params = player.frames[f]
    left, top, width, height = (int(v) for v in player.boxes[f])
    torso = (left + params.cx, top + params.cy)
    x0 = max(0, math.floor(min(left, torso[0] + BODY[0] * params.scale)))
    x1 = min(frame.shape[1], math.ceil(max(left + width, torso[0] + BODY[1] * params.scale)))
    y0 = max(0, math.floor(min(top, torso[1] + BODY[2] * params.scale)))
    y1 = min(frame.shape[0], math.ceil(max(top + height, torso[1] + BODY[3] * params.scale)))
    if x0 >= x1 or y0 >= y1:
        return
    behind = frame[y0:y1, x0:x1]
    placed = replace(params, cx=torso[0] - x0, cy=torso[1] - y0)
    drawn = draw_frame(player.scene, placed, behind.copy()).rgb
    mask = (np.abs(drawn - behind).max(axis=2, keepdims=True) >= 1).astype(np.float32)
    alpha = motion_blur(mask, params.blur, params.blur_angle)
    colour = motion_blur(drawn * mask, params.blur, params.blur_angle)
    behind[...] = np.rint(behind * (1 - alpha) + colour)


def _truth(player: _Player, f: int, size: Tuple[int, int]) -> List[TrackBox]:
    """The player's box in frame f, clipped to the frame; none while mostly off screen."""
    left, top, width, height = (int(v) for v in player.boxes[f])
    box = crop_box((left, top, left + width, top + height), size)
    if box is None or (box[2] - box[0]) * (box[3] - box[1]) < VISIBLE * width * height:
        return []
    return [TrackBox(f + 1, player.track_id, box[0], box[1], box[2] - box[0], box[3] - box[1])]


def _manifest(config: ClipConfig, players: Sequence[_Player], truth: Sequence[TrackBox]) -> dict:
    return {
        "generator": GENERATOR,
        "version": GENERATOR_VERSION,
        "synth_version": SYNTH_VERSION,
        "seed": config.seed,
        "fps": config.fps,
        "width": config.width,
        "height": config.height,
        "frames": config.frames,
        "numbers": {str(p.track_id): p.number for p in players},
        "teams": {str(p.track_id): p.team for p in players},
        "files": {"video": VIDEO, "tracks": TRACKS},
        "boxes": len(truth),
        "box": "MOT frame,id,x,y,w,h: the generator's tracker framing (head to knees), "
               "clipped to the frame",
        "config": asdict(config),
    }


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
