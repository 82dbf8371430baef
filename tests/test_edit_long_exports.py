"""The longest timeline (60 s, 1,200 frames) through every export: GLB, BVH, SMPL NPZ and mp4."""

from __future__ import annotations

import numpy as np
import pytest

from easytune_core.edit.compose import MAX_TIMELINE_SECONDS
from easytune_core.motion.bvh import load_bvh
from easytune_core.render.export import save_bvh, save_smpl_npz
from easytune_core.render.glb import read_glb, write_glb

from _render_helpers import walk_joints

FRAMES = int(MAX_TIMELINE_SECONDS * 20)


@pytest.fixture(scope="module")
def long_walk():
    return walk_joints(FRAMES)  # (1200, 22, 3), 60 s of walking at 20 fps


def test_glb_of_a_60_s_motion_plays_60_s_and_stays_small(tmp_path, long_walk):
    path = write_glb(tmp_path / "long.glb", [long_walk])
    gltf, _ = read_glb(path)
    anim = gltf["animations"][0]
    assert len(anim["channels"]) == 23  # one body: 22 rotations + root translation
    times = {s["input"] for s in anim["samplers"]}
    assert max(gltf["accessors"][i]["max"][0] for i in times) == pytest.approx(FRAMES / 20)
    assert all(gltf["accessors"][s["output"]]["count"] >= FRAMES for s in anim["samplers"])
    # one skinned body + floor (~0.7 MB) and 1,200 keyframes of 22 rotations and a translation (~0.4 MB)
    assert path.stat().st_size < 2.5 * 2**20


def test_bvh_and_npz_of_a_60_s_motion_round_trip(tmp_path, long_walk):
    bvh = save_bvh(tmp_path / "long.bvh", long_walk)
    back = load_bvh(bvh, floor=False)
    assert back.shape == (FRAMES, 22, 3)
    # the BVH skeleton's bone lengths are fitted to the whole clip; positions come back within 2 cm
    assert np.abs(back - long_walk).max() < 0.02
    npz = np.load(save_smpl_npz(tmp_path / "long.npz", long_walk))
    assert npz["poses"].shape == (FRAMES, 156) and npz["trans"].shape == (FRAMES, 3)
    assert float(npz["mocap_framerate"]) == 20.0 and np.isfinite(npz["poses"]).all()


@pytest.mark.slow
def test_mp4_of_a_60_s_motion_has_every_frame(tmp_path, long_walk):
    import imageio.v2 as imageio

    from easytune_core.render.video import render_video

    path = render_video(tmp_path / "long.mp4", [long_walk], size=(64, 64), mode="stick", renderer="numpy")
    reader = imageio.get_reader(str(path))
    count = sum(1 for _ in reader)
    reader.close()
    assert count == FRAMES
