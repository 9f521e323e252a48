"""The generator's variety knobs: each one turns its look on and off, and changes pixels."""

from dataclasses import replace

import numpy as np
import pytest

from jersey_edge.data.synth.config import SHARES, SynthConfig
from jersey_edge.data.synth.motion import Occluder, sample_motion
from jersey_edge.data.synth.printing import ONES, TENS, build_print
from jersey_edge.data.synth.render import _interlace, draw_frame, make_scene
from jersey_edge.data.synth.style import Shadow, sample_kit

NONE = SynthConfig(**{name: 0.0 for name in SHARES}, box_jitter=0.0)
ALL = SynthConfig(**{name: 1.0 for name in SHARES})


def _kits(config: SynthConfig, n: int = 40):
    rng = np.random.default_rng(0)
    return [sample_kit(rng, config) for _ in range(n)]


def test_lettering_shares_turn_block_digits_shadows_and_two_tones_on_and_off() -> None:
    off = _kits(NONE)
    assert all(k.block is None and k.shadow is None and k.two_tone is None for k in off)
    on = _kits(ALL)
    assert all(k.block is not None and k.shadow is not None for k in on)
    assert sum(k.two_tone is not None for k in on) > len(on) // 2
    default = _kits(SynthConfig(), 200)
    assert 50 < sum(k.block is not None for k in default) < 110  # about 40% of kits


def test_shadow_and_second_tone_are_printed() -> None:
    rng = np.random.default_rng(3)
    kit = replace(sample_kit(rng, NONE), outline=None, chest_number="none", has_name=False)
    plain = build_print(kit, 47, np.random.default_rng(1))
    lower = (20.0, 200.0, 20.0) if kit.number[1] < 128 else (200.0, 20.0, 200.0)
    styled = replace(kit, shadow=Shadow((5.0, 5.0, 5.0), 0.06, 0.05), two_tone=(lower, 0.5))
    printed = build_print(styled, 47, np.random.default_rng(1))
    side = plain.side_width
    for digit in (TENS, ONES):  # the shadow widens each digit's ink
        widened = (printed.planes[:, :side, 4] == digit).sum()
        assert widened > (plain.planes[:, :side, 4] == digit).sum()
    ink = printed.planes[:, :side, 3] > 0.99
    colours = printed.planes[:, :side, :3][ink]
    assert np.isclose(colours, lower, atol=2).all(axis=1).sum() > 200  # the lower tone
    assert np.isclose(colours, kit.number, atol=2).all(axis=1).sum() > 200  # the upper one
    assert np.isclose(colours, (5, 5, 5), atol=2).all(axis=1).sum() > 50  # and the shadow


def test_interlace_combs_odd_rows_only() -> None:
    rgb = np.random.default_rng(0).uniform(0, 255, (8, 12, 3)).astype(np.float32)
    combed = _interlace(rgb, 2)
    assert np.array_equal(combed[0::2], rgb[0::2])
    assert np.array_equal(combed[1::2, 2:], rgb[1::2, :-2])
    assert _interlace(rgb, 0) is rgb


@pytest.mark.parametrize("config, on", [(NONE, False), (ALL, True)])
def test_camera_and_distractor_shares(config: SynthConfig, on: bool) -> None:
    rng = np.random.default_rng(5)
    motions = [sample_motion(rng, config) for _ in range(30)]
    combs = [f.interlace for m in motions for f in m.frames]
    assert (min(combs) >= 1) if on else (max(combs) == 0)
    numbers = [
        f.occluder.number for m in motions for f in m.frames
        if f.occluder is not None and f.occluder.kind == "player"
    ]
    assert numbers and all((n is not None) == on for n in numbers)


def test_floodlights_tint_whole_clips() -> None:
    def tint(config: SynthConfig) -> float:
        rng = np.random.default_rng(7)
        casts = np.log([sample_motion(rng, config).frames[0].cast for _ in range(60)])
        return float((casts.max(axis=1) - casts.min(axis=1)).mean())  # colour, not gain

    assert tint(replace(NONE, stadium_light=1.0)) > 1.8 * tint(NONE)


def test_box_jitter_moves_the_crop_frame_to_frame() -> None:
    def wobble(config: SynthConfig) -> float:
        rng = np.random.default_rng(11)
        steps = []
        for _ in range(40):
            frames = sample_motion(rng, config).frames
            cx = np.array([f.cx / f.width for f in frames])
            steps.append(np.abs(np.diff(np.diff(cx))).mean())  # jitter, not drift
        return float(np.mean(steps))

    assert wobble(replace(NONE, box_jitter=1.0)) > 2 * wobble(NONE)


def test_a_passing_player_with_a_number_hides_ink_and_adds_a_distractor() -> None:
    rng = np.random.default_rng(2)
    kit = sample_kit(rng, NONE)
    tex = build_print(kit, 38, rng)
    motion = sample_motion(np.random.default_rng(4), NONE)
    scene = make_scene(kit, tex, motion, motion.frames[0].scale)
    frame = replace(motion.frames[0], theta=0.0, occluder=None, blur=0.0)
    background = np.full((frame.height, frame.width, 3), 90, np.float32)
    clear = draw_frame(scene, frame, background.copy())
    passer = Occluder("player", 1.4, 0.0, 1.0, 0.0, (30, 30, 160), (200, 150, 110))
    blank = draw_frame(scene, replace(frame, occluder=passer), background.copy())
    numbered = draw_frame(
        scene, replace(frame, occluder=replace(passer, number=5)), background.copy()
    )
    assert blank.ink[1] < clear.ink[1]  # the passer hides part of the ones digit
    assert blank.ink == numbered.ink  # their own number is not our number's ink
    assert np.abs(numbered.rgb - blank.rgb).max() > 100  # but it is there to be seen
