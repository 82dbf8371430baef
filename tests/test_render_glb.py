"""Animated GLB: container structure, skinning data, animation timing, Khronos validator."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from easytune_core.render.glb import parse_color, read_glb, write_glb

from _render_helpers import walk_joints

VALIDATOR = Path(__file__).resolve().parents[1] / "tools" / "gltf-validator"


def _accessor(gltf, bin_, i):
    acc = gltf["accessors"][i]
    view = gltf["bufferViews"][acc["bufferView"]]
    dtype = {5126: np.float32, 5121: np.uint8, 5123: np.uint16, 5125: np.uint32}[acc["componentType"]]
    n = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    data = np.frombuffer(bin_, dtype, acc["count"] * n, view["byteOffset"] + acc.get("byteOffset", 0))
    return data.reshape(acc["count"], n)


@pytest.fixture(scope="module")
def two_body_glb(tmp_path_factory):
    path = tmp_path_factory.mktemp("glb") / "ab.glb"
    write_glb(path, [walk_joints(40), walk_joints(30, speed=0.7)], colors=["#ff8800", (0, 0, 255)],
              labels=["A", "B"])
    return path


def test_structure_two_skinned_bodies_and_a_floor(two_body_glb):
    gltf, bin_ = read_glb(two_body_glb)
    assert len(gltf["skins"]) == 2 and all(len(s["joints"]) == 22 for s in gltf["skins"])
    names = [m["name"] for m in gltf["meshes"]]
    assert names == ["body_A", "body_B", "floor"]
    a, b = (m["primitives"][0] for m in gltf["meshes"][:2])
    assert a["attributes"] == b["attributes"]  # vertex data shared between the bodies
    mats = [gltf["materials"][p["material"]]["pbrMetallicRoughness"]["baseColorFactor"] for p in (a, b)]
    np.testing.assert_allclose(mats[0][:3], [1.0, 136 / 255, 0.0], atol=1e-6)
    np.testing.assert_allclose(mats[1][:3], [0.0, 0.0, 1.0], atol=1e-6)
    w = _accessor(gltf, bin_, a["attributes"]["WEIGHTS_0"])
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-5)
    assert _accessor(gltf, bin_, a["attributes"]["JOINTS_0"]).max() < 22
    pos = _accessor(gltf, bin_, a["attributes"]["POSITION"])
    acc = gltf["accessors"][a["attributes"]["POSITION"]]
    np.testing.assert_allclose(acc["min"], pos.min(0), atol=1e-6)
    # the two bodies stand apart along X
    xs = [gltf["nodes"][n]["translation"][0] for n in gltf["scenes"][0]["nodes"][:4:2]]
    assert xs[1] - xs[0] == pytest.approx(1.5)


def test_animation_lasts_frames_over_fps(two_body_glb):
    gltf, bin_ = read_glb(two_body_glb)
    anim = gltf["animations"][0]
    assert len(anim["channels"]) == 2 * 23  # 22 rotations + root translation per body
    inputs = sorted({s["input"] for s in anim["samplers"]})
    durations = sorted(gltf["accessors"][i]["max"][0] for i in inputs)
    assert durations == pytest.approx([30 / 20, 40 / 20])
    q = _accessor(gltf, bin_, anim["samplers"][1]["output"])
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)


def test_size_of_a_six_second_two_body_glb(tmp_path):
    path = write_glb(tmp_path / "six.glb", [walk_joints(120), walk_joints(120, phase=1.0)])
    assert path.stat().st_size < 3_000_000


def test_khronos_validator_reports_no_errors(two_body_glb):
    node = shutil.which("node")
    if node is None or not (VALIDATOR / "node_modules" / "gltf-validator").is_dir():
        pytest.skip("gltf-validator not installed: run `bash scripts/setup.sh --dev` (needs node + npm)")
    out = subprocess.run([node, str(VALIDATOR / "validate.js"), str(two_body_glb)], capture_output=True,
                         text=True, timeout=60, check=True)
    issues = json.loads(out.stdout)["issues"]
    assert issues["numErrors"] == 0, issues["messages"][:5]
    assert issues["numWarnings"] == 0, issues["messages"][:5]


def test_capsule_body_glb(tmp_path):
    gltf, _ = read_glb(write_glb(tmp_path / "c.glb", walk_joints(5), body="capsule"))
    assert len(gltf["skins"]) == 1


def test_bad_inputs(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        write_glb(tmp_path / "x.glb", [])
    bad = walk_joints(5)
    bad[2, 3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        write_glb(tmp_path / "x.glb", [bad])
    with pytest.raises(ValueError, match="shape"):
        write_glb(tmp_path / "x.glb", [np.zeros((5, 24, 3))])
    with pytest.raises(ValueError, match="colour"):
        write_glb(tmp_path / "x.glb", [walk_joints(5)], colors=["#12"])
    with pytest.raises(ValueError, match="colours for 2 motions"):
        write_glb(tmp_path / "x.glb", [walk_joints(5)] * 2, colors=["#ff0000"])
    assert parse_color((255, 0, 0)) == (1.0, 0.0, 0.0)


def _trs(node, rot=None, trans=None):
    from scipy.spatial.transform import Rotation

    M = np.eye(4)
    r = rot if rot is not None else node.get("rotation", [0, 0, 0, 1])
    M[:3, :3] = Rotation.from_quat(r).as_matrix() * np.asarray(node.get("scale", [1, 1, 1]))
    M[:3, 3] = trans if trans is not None else node.get("translation", [0, 0, 0])
    return M


def test_glb_skinning_as_a_gltf_viewer_evaluates_it_matches_our_lbs(tmp_path):
    from easytune_core.render.body import get_body
    from easytune_core.render.glb import prepare_motion

    J = walk_joints(12)
    gltf, bin_ = read_glb(write_glb(tmp_path / "one.glb", [J], body="capsule"))
    frame = 7
    anim = gltf["animations"][0]
    keyed = {}
    for ch in anim["channels"]:
        s = anim["samplers"][ch["sampler"]]
        keyed[(ch["target"]["node"], ch["target"]["path"])] = _accessor(gltf, bin_, s["output"])[frame]
    nodes = gltf["nodes"]
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}

    def world(i):
        M = _trs(nodes[i], keyed.get((i, "rotation")), keyed.get((i, "translation")))
        return world(parent[i]) @ M if i in parent else M

    skin = gltf["skins"][0]
    ibm = _accessor(gltf, bin_, skin["inverseBindMatrices"]).reshape(-1, 4, 4).transpose(0, 2, 1)
    G = np.stack([world(j) @ ibm[k] for k, j in enumerate(skin["joints"])])
    prim = gltf["meshes"][0]["primitives"][0]["attributes"]
    v = _accessor(gltf, bin_, prim["POSITION"]).astype(np.float64)
    ji, w = _accessor(gltf, bin_, prim["JOINTS_0"]), _accessor(gltf, bin_, prim["WEIGHTS_0"])
    vh = np.concatenate([v, np.ones((len(v), 1))], 1)
    skinned = np.einsum("vk,vkij,vj->vi", w, G[ji], vh)[:, :3]

    bm, pose, low, _ = prepare_motion(get_body("capsule"), J)
    ours = bm.pose(pose, None, device="cpu")[frame].numpy() + [0.0, -low, 0.0]
    np.testing.assert_allclose(skinned, ours, atol=1e-4)
