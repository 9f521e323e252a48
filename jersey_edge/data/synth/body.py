"""Everything on the player except the printed shirt: head, arms, shorts, legs; and the
things that pass in front (another player, an arm, the ball).

Limbs are placed in 3-D body space and rotated with the turn, so at a side view one arm
swings across the back and hides part of the number while the other disappears behind it.
"""

import math
from typing import List, Tuple

from .canvas import Layer, Point
from .motion import FrameParams, Occluder
from .printing import load_font
from .style import Kit

DEPTH = 0.55  # torso depth relative to its width
Point3 = Tuple[float, float, float]


def _to_screen(p: Point3, theta: float) -> Tuple[Point, float]:
    """Body (x, y, z) -> ((screen x, y), depth towards the camera)."""
    x, y, z = p
    return (x * math.cos(theta) + z * math.sin(theta), y), -x * math.sin(theta) + z * math.cos(
        theta
    )


def arm_points(side: int, frame: FrameParams) -> Tuple[List[Point], float]:
    """Shoulder, elbow, wrist, hand on screen, and the shoulder's depth towards the camera
    (about 0 when the back faces us: the arm hangs beside the shirt, not over it)."""
    swing = frame.swing * side
    shoulder = (0.86 * side, -0.84, 0.0)
    elbow = (shoulder[0] + 0.16 * side, shoulder[1] + 0.9 * math.cos(swing), 0.9 * math.sin(swing))
    bend = swing - 0.45  # forearms bend forwards, away from a camera behind the player
    wrist = (
        elbow[0] + 0.04 * side,
        elbow[1] + 0.78 * math.cos(bend),
        elbow[2] + 0.78 * math.sin(bend),
    )
    hand = (wrist[0], wrist[1] + 0.16 * math.cos(bend), wrist[2] + 0.16 * math.sin(bend))
    screen = [_to_screen(p, frame.theta) for p in (shoulder, elbow, wrist, hand)]
    return [p for p, _ in screen], screen[0][1]


def _lerp(a: Point, b: Point, k: float) -> Point:
    return (a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k)


def draw_arm(layer: Layer, kit: Kit, points: List[Point]) -> None:
    sleeve = kit.secondary if kit.pattern == "sleeves" else kit.primary
    covered = sleeve if kit.sleeves == "long" else kit.skin
    layer.limb(points[0], points[1], 0.2, covered)
    layer.limb(points[1], points[2], 0.16, covered)
    layer.limb(points[2], points[3], 0.14, kit.skin)
    if kit.sleeves != "none":
        inner = (points[0][0] * 0.93, points[0][1])
        layer.limb(inner, _lerp(points[0], points[1], 0.45), 0.23, sleeve)


def draw_head(layer: Layer, kit: Kit, frame: FrameParams) -> None:
    """Neck and head; hair covers the back of the head and only the top when facing us."""
    layer.limb((0.0, -1.55), (0.0, -1.12), 0.21, kit.skin)
    centre, rx, ry = (0.07 * math.sin(frame.theta), -1.82), 0.34, 0.44
    layer.ellipse(centre, rx, ry, kit.hair)
    hairline = min(0.95, max(-0.95, 0.7 * math.cos(frame.theta) - 0.05))  # below centre, in ry
    start = math.degrees(math.asin(hairline))
    layer.chord(centre, rx, ry, start, 180 - start, kit.skin)


def draw_lower_body(layer: Layer, kit: Kit, frame: FrameParams) -> None:
    """Legs, then shorts over their tops (both behind the shirt hem)."""
    stride = frame.swing * 0.8
    for side in (-1, 1):
        hip = _to_screen((0.45 * side, 1.5, 0.0), frame.theta)[0]
        knee = _to_screen((0.47 * side, 2.75, 0.35 * math.sin(stride * side)), frame.theta)[0]
        ankle = _to_screen((0.45 * side, 3.95, -0.2 * math.sin(stride * side)), frame.theta)[0]
        layer.limb(hip, knee, 0.29, kit.skin)
        layer.limb(_lerp(knee, ankle, 0.3), ankle, 0.21, kit.socks)
        layer.limb(knee, _lerp(knee, ankle, 0.3), 0.22, kit.skin)
    width = math.hypot(math.cos(frame.theta), DEPTH * math.sin(frame.theta))
    top, bottom, notch = 0.95 * width, 1.0 * width, 0.12 * width
    outline = [
        (-top, 0.8),
        (top, 0.8),
        (bottom, 1.85),
        (notch, 1.85),
        (0.0, 1.55),
        (-notch, 1.85),
        (-bottom, 1.85),
    ]
    layer.polygon(outline, kit.shorts, 0.7)
    layer.polygon([(x * 0.7 + layer.side_light * 0.15, y) for x, y in outline], kit.shorts)


def draw_occluder(layer: Layer, occ: Occluder) -> None:
    if occ.kind == "player":  # someone between us and the player: shoulder, torso, head
        u, y, r = occ.u, occ.y, occ.size
        torso = [
            (u - r, y - 0.75),
            (u + r, y - 0.75),
            (u + 0.85 * r, y + 2.6),
            (u - 0.85 * r, y + 2.6),
        ]
        layer.polygon(torso, occ.colour, 0.7)
        layer.limb((u - 0.75 * r, y - 0.7), (u + 0.75 * r, y - 0.7), 0.3, occ.colour)
        lit = [(x * 0.6 + u * 0.4 + layer.side_light * 0.2 * r, yy) for x, yy in torso]
        layer.polygon(lit, occ.colour)
        layer.limb((u, y - 1.3), (u, y - 0.8), 0.2, occ.skin)
        layer.ellipse((u, y - 1.75), 0.33, 0.43, occ.skin)
        if occ.number is not None:
            layer.text((u, y + 0.3), str(occ.number), 0.85 * r, occ.number_colour,
                       load_font(occ.font))
    elif occ.kind == "arm":  # another player's arm reaching across: sleeve, forearm, hand
        dx, dy = math.cos(occ.angle), math.sin(occ.angle)
        shoulder = (occ.u - 3.0 * dx, occ.y - 3.0 * dy)
        elbow = (occ.u - 1.4 * dx, occ.y - 1.4 * dy + 0.15)
        wrist = (occ.u + 0.3 * dx, occ.y + 0.3 * dy)
        layer.limb(shoulder, elbow, occ.size * 1.25, occ.colour)
        layer.limb(elbow, wrist, occ.size, occ.skin)
        layer.limb(wrist, (wrist[0] + 0.2 * dx, wrist[1] + 0.2 * dy), occ.size * 1.1, occ.skin)
    else:
        layer.ellipse((occ.u, occ.y), occ.size, occ.size, occ.colour)
        for k in range(3):
            angle = occ.angle + k * 2.1
            spot = (
                occ.u + 0.5 * occ.size * math.cos(angle),
                occ.y + 0.5 * occ.size * math.sin(angle),
            )
            layer.ellipse(spot, occ.size * 0.25, occ.size * 0.25, (40, 40, 40))
