"""KIT-ML motions (21 MMM joints, millimetres, 12.5 fps) render and export like HumanML3D ones."""

from pathlib import Path

import numpy as np
import pytest

from easytune_core.cli import main
from easytune_core.motion.features import features_to_joints
from easytune_core.motion.ik import validate_joints
from easytune_core.motion.kit_body import KIT_TO_BODY, kit_to_body_joints, looks_like_millimetres

KIT = Path(__file__).parent / "data" / "tiny_kitml"


def test_kit_joints_on_the_body():
    mm = np.load(KIT / "new_joints" / "000001.npy")
    assert mm.shape[1:] == (21, 3) and looks_like_millimetres(mm)
    body = kit_to_body_joints(mm)
    assert body.shape == (len(mm), 22, 3)
    np.testing.assert_allclose(body[:, 0], mm[:, 0] / 1000, atol=1e-6)       # pelvis = root
    np.testing.assert_allclose(body[:, 15], mm[:, 4] / 1000, atol=1e-6)      # head = BUN
    np.testing.assert_allclose(body[:, 20], mm[:, 7] / 1000, atol=1e-6)      # left wrist = LW
    np.testing.assert_allclose(body[:, 9], (0.7 * mm[:, 2] + 0.3 * mm[:, 3]) / 1000, atol=1e-6)  # spine3
    np.testing.assert_allclose(kit_to_body_joints(mm / 1000), body, atol=1e-9)  # metres are read as metres
    assert sum(m is None for m in KIT_TO_BODY) == 3
    # a standing body: head above pelvis above ankles, about human height
    y = body[0, :, 1]
    assert y[15] > y[0] > y[7] and 1.3 < y[15] - min(y[7], y[8]) < 2.2
    # validate_joints (every renderer's entry) puts KIT joints on the body
    np.testing.assert_allclose(validate_joints(mm), body)
    with pytest.raises(ValueError, match=r"\(T, 21, 3\)"):
        kit_to_body_joints(np.zeros((4, 20, 3)))


def test_kit_features_render_and_export(tmp_path, capsys):
    feats = np.load(KIT / "new_joint_vecs" / "000001.npy")
    src = tmp_path / "kit_features.npy"
    np.save(src, feats)
    for ext in (".glb", ".bvh", ".npz", ".npy"):
        assert main(["render", "--input", str(src), "--out", str(tmp_path / f"m{ext}")]) == 0
    assert (tmp_path / "m.glb").read_bytes()[:4] == b"glTF"
    bvh = (tmp_path / "m.bvh").read_text()
    assert f"Frames: {len(feats)}" in bvh and "Frame Time: 0.080000" in bvh  # 12.5 fps by default for KIT-ML
    npz = np.load(tmp_path / "m.npz")
    assert npz["poses"].shape == (len(feats), 156) and float(npz["mocap_framerate"]) == 12.5
    joints = np.load(tmp_path / "m.npy")
    expected = kit_to_body_joints(features_to_joints(feats, "kit"))
    np.testing.assert_allclose(joints, expected, atol=1e-4)
    # joints files (T, 21, 3) in millimetres work too
    assert main(["render", "--input", str(KIT / "new_joints" / "000001.npy"), "--out", str(tmp_path / "j.glb")]) == 0


@pytest.mark.slow
def test_kit_mp4(tmp_path):
    src = KIT / "new_joint_vecs" / "000002.npy"
    assert main(["render", "--input", str(src), "--out", str(tmp_path / "m.mp4"), "--renderer", "numpy"]) == 0
    import imageio.v2 as imageio
    reader = imageio.get_reader(str(tmp_path / "m.mp4"))
    assert abs(reader.get_meta_data()["fps"] - 12.5) < 0.01
    assert reader.count_frames() == np.load(src).shape[0]
