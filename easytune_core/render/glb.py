"""Animated binary glTF (GLB) of one or several skinned bodies on a floor, written directly.

trimesh cannot write animations, so the container is assembled here: a JSON chunk and a BIN
chunk (glTF 2.0). Each body is one skinned mesh over 22 joint nodes whose rotations (and the
root's translation) are animated with LINEAR samplers at ``fps``; all bodies share the vertex
data (only their material differs), so two bodies cost little more than one. Bodies stand side
by side along X, each lifted so its lowest vertex over the motion touches the floor (y = 0).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from ..motion.ik import NUM_JOINTS, PARENTS, validate_joints
from .body import BodyModel, get_body

# Distinct, colour-blind friendly A/B/C... colours (linear RGB factors for baseColorFactor).
DEFAULT_COLORS = ((0.90, 0.45, 0.10), (0.10, 0.45, 0.85), (0.25, 0.65, 0.30), (0.65, 0.30, 0.70))
_FLOAT, _UBYTE, _USHORT, _UINT = 5126, 5121, 5123, 5125
_ARRAY, _ELEMENTS = 34962, 34963


def parse_color(c) -> tuple:
    """An RGB triple in 0..1 from ``(r, g, b)`` (0..1 or 0..255) or ``"#rrggbb"``."""
    if isinstance(c, str):
        s = c.lstrip("#")
        if len(s) != 6:
            raise ValueError(f"colour must be '#rrggbb', got {c!r}")
        return tuple(int(s[i:i + 2], 16) / 255.0 for i in (0, 2, 4))
    arr = np.asarray(c, dtype=np.float64).ravel()
    if arr.shape != (3,) or not np.isfinite(arr).all():
        raise ValueError(f"colour must be three numbers, got {c!r}")
    return tuple((arr / 255.0 if arr.max() > 1.0 else arr).clip(0, 1).tolist())


class _Builder:
    """Collects bufferViews / accessors into one little-endian BIN chunk."""

    def __init__(self):
        self.bin = bytearray()
        self.views, self.accessors = [], []

    def add(self, data: np.ndarray, ctype: int, atype: str, target=None, minmax=False, normalized=False):
        data = np.ascontiguousarray(data)
        while len(self.bin) % 4:
            self.bin.append(0)
        view = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": data.nbytes}
        if target is not None:
            view["target"] = target
        self.bin += data.tobytes()
        self.views.append(view)
        acc = {"bufferView": len(self.views) - 1, "componentType": ctype, "count": int(data.shape[0]),
               "type": atype}
        if normalized:
            acc["normalized"] = True
        if minmax:
            flat = data.reshape(data.shape[0], -1)
            acc["min"] = flat.min(0).tolist()
            acc["max"] = flat.max(0).tolist()
        self.accessors.append(acc)
        return len(self.accessors) - 1


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    # area-weighted face normals summed per vertex (bincount: an order of magnitude faster than add.at)
    corner = f.ravel()
    n = np.stack([np.bincount(corner, weights=np.repeat(fn[:, c], 3), minlength=len(v)) for c in range(3)], 1)
    ln = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(ln > 1e-12, n / np.maximum(ln, 1e-12), [0.0, 1.0, 0.0])
    return n.astype(np.float32)


def _floor(lo: np.ndarray, hi: np.ndarray, tile: float = 0.5):
    """Checkered floor at y=0 covering x/z from ``lo`` to ``hi`` (snapped to 0.5 m tiles):
    positions, normals, colours, indices."""
    lo = np.floor(np.asarray(lo) / tile) * tile
    hi = np.ceil(np.asarray(hi) / tile) * tile
    nx, nz = (np.clip(np.round((hi - lo) / tile), 1, 120)).astype(int)
    pos, col, idx = [], [], []
    for i in range(nx):
        for k in range(nz):
            n = len(pos)
            x0, z0 = lo[0] + i * tile, lo[1] + k * tile
            x1, z1 = x0 + tile, z0 + tile
            pos += [[x0, 0, z0], [x1, 0, z0], [x1, 0, z1], [x0, 0, z1]]
            odd = (int(np.floor(x0 / tile + 1e-6)) + int(np.floor(z0 / tile + 1e-6))) % 2
            shade = 0.55 if odd else 0.36
            col += [[shade, shade, shade + 0.02, 1.0]] * 4
            idx += [[n, n + 2, n + 1], [n, n + 3, n + 2]]  # counter-clockwise seen from above
    pos = np.asarray(pos, np.float32)
    return pos, np.tile([[0, 1, 0]], (len(pos), 1)).astype(np.float32), np.asarray(col, np.float32), \
        np.asarray(idx, np.uint16 if len(pos) < 65535 else np.uint32).ravel()


def prepare_motion(body: BodyModel, joints, scale_to_motion: bool = True):
    """IK a motion onto ``body``: returns (scaled body, SMPLPose, lowest vertex height, scale).

    With ``scale_to_motion`` the body is scaled so its legs match the motion's, which keeps feet
    planted where the joints say.
    """
    P = validate_joints(joints)
    if scale_to_motion:
        legs = np.mean([np.linalg.norm(P[:, a] - P[:, b], axis=-1).mean()
                        + np.linalg.norm(P[:, b] - P[:, c], axis=-1).mean()
                        for a, b, c in ((1, 4, 7), (2, 5, 8))])
        factor = float(np.clip(legs / body.leg_length(), 0.5, 2.0))
        body = body.scaled(factor)
    else:
        factor = 1.0
    pose = body.fit(P)
    sub = np.arange(0, body.num_vertices, 7)
    low = float(body.pose(pose, None, vertex_ids=sub, device="cpu")[..., 1].min())
    return body, pose, low, factor


def write_glb(path, motions, colors=None, fps: float = 20.0, body="mannequin", spacing: float = 1.5,
              labels=None) -> Path:
    """Write an animated GLB of several bodies side by side (``gr.Model3D`` plays it).

    Args:
        path: output ``.glb`` path.
        motions: list of ``(T, 22, 3)`` joint arrays (metres, Y up); lengths may differ.
        colors: one colour per motion (RGB 0..1, 0..255 or ``"#rrggbb"``); default orange, blue...
        fps: frame rate of the motions; each body's animation lasts ``T / fps`` seconds.
        body: a body kind (``"mannequin"``, ``"capsule"``, ``"smpl"``...) or a ``BodyModel``.
        spacing: distance in metres between neighbouring bodies along X.
        labels: optional node names (e.g. ``["A", "B"]``).

    Returns:
        The written path.
    """
    if isinstance(motions, np.ndarray) and motions.ndim == 3:
        motions = [motions]
    motions = list(motions)
    if not motions:
        raise ValueError("motions is empty; pass at least one (T, 22, 3) joint array")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")
    colors = [parse_color(c) for c in (colors or DEFAULT_COLORS[:len(motions)])]
    if len(colors) < len(motions):
        raise ValueError(f"got {len(colors)} colours for {len(motions)} motions")
    labels = list(labels or [chr(ord("A") + i) for i in range(len(motions))])
    base = get_body(body) if isinstance(body, str) else body

    b = _Builder()
    V = base.num_vertices
    K = base.joint_indices.shape[1]
    ji = np.zeros((V, 4), np.uint8)
    wt = np.zeros((V, 4), np.float32)
    ji[:, :min(K, 4)] = base.joint_indices[:, :4]
    wt[:, :min(K, 4)] = base.weights[:, :4]
    wt /= wt.sum(1, keepdims=True)
    ji[wt == 0] = 0
    a_pos = b.add(base.rest_vertices.astype(np.float32), _FLOAT, "VEC3", _ARRAY, minmax=True)
    a_nrm = b.add(_vertex_normals(base.rest_vertices.astype(np.float64), base.faces), _FLOAT, "VEC3", _ARRAY)
    a_jnt = b.add(ji, _UBYTE, "VEC4", _ARRAY)
    a_wgt = b.add(wt, _FLOAT, "VEC4", _ARRAY)
    idx_type = (np.uint16, _USHORT) if V < 65535 else (np.uint32, _UINT)
    a_idx = b.add(base.faces.astype(idx_type[0]).ravel(), idx_type[1], "SCALAR", _ELEMENTS)

    nodes, meshes, materials, skins = [], [], [], []
    channels, samplers = [], []
    scene_nodes = []
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)  # floor extent (x, z) over all bodies
    offsets_x = (np.arange(len(motions)) - (len(motions) - 1) / 2.0) * spacing
    for i, joints in enumerate(motions):
        bm, pose, low, factor = prepare_motion(base, joints)
        T = pose.num_frames
        rest = base.rest_joints
        root_pos = (pose.trans + bm.rest_joints[0]) / factor  # in the unscaled group space
        track = (pose.trans + bm.rest_joints[0])[:, [0, 2]] + [offsets_x[i], 0.0]
        lo, hi = np.minimum(lo, track.min(0) - 1.0), np.maximum(hi, track.max(0) + 1.0)

        group = len(nodes)
        nodes.append({"name": f"{labels[i]}", "translation": [float(offsets_x[i]), -low, 0.0],
                      "scale": [factor] * 3, "children": []})
        scene_nodes.append(group)
        jnodes = []
        for j in range(NUM_JOINTS):
            p = PARENTS[j]
            t = rest[j] - (rest[p] if p >= 0 else 0.0)
            jnodes.append(len(nodes))
            nodes.append({"name": f"{labels[i]}_joint{j:02d}", "translation": [float(x) for x in t]})
        for j in range(NUM_JOINTS):
            kids = [jnodes[c] for c in range(NUM_JOINTS) if PARENTS[c] == j]
            if kids:
                nodes[jnodes[j]]["children"] = kids
        nodes[group]["children"].append(jnodes[0])

        ibm = np.tile(np.eye(4, dtype=np.float32), (NUM_JOINTS, 1, 1))
        ibm[:, :3, 3] = -rest
        a_ibm = b.add(ibm.transpose(0, 2, 1).reshape(NUM_JOINTS, 16), _FLOAT, "MAT4")  # column-major
        skins.append({"joints": jnodes, "inverseBindMatrices": a_ibm, "skeleton": jnodes[0]})

        materials.append({"name": f"body_{labels[i]}", "pbrMetallicRoughness": {
            "baseColorFactor": [*colors[i], 1.0], "metallicFactor": 0.0, "roughnessFactor": 0.7}})
        meshes.append({"name": f"body_{labels[i]}", "primitives": [{
            "attributes": {"POSITION": a_pos, "NORMAL": a_nrm, "JOINTS_0": a_jnt, "WEIGHTS_0": a_wgt},
            "indices": a_idx, "material": len(materials) - 1}]})
        scene_nodes.append(len(nodes))
        nodes.append({"name": f"{labels[i]}_mesh", "mesh": len(meshes) - 1, "skin": len(skins) - 1})

        # Frame k shows during [k/fps, (k+1)/fps): a closing key holds the last pose so the
        # animation lasts exactly T / fps seconds (and loops at the right rate).
        times = np.arange(T + 1, dtype=np.float64) / fps
        a_t = b.add(times.astype(np.float32), _FLOAT, "SCALAR", minmax=True)
        root_pos = np.concatenate([root_pos, root_pos[-1:]])
        a_tr = b.add(root_pos.astype(np.float32), _FLOAT, "VEC3")
        samplers.append({"input": a_t, "output": a_tr, "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": jnodes[0], "path": "translation"}})
        q = pose.quats.astype(np.float64)
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        q = np.concatenate([q, q[-1:]])
        xyzw = np.concatenate([q[..., 1:], q[..., :1]], -1).astype(np.float32)
        for j in range(NUM_JOINTS):
            a_q = b.add(np.ascontiguousarray(xyzw[:, j]), _FLOAT, "VEC4")
            samplers.append({"input": a_t, "output": a_q, "interpolation": "LINEAR"})
            channels.append({"sampler": len(samplers) - 1, "target": {"node": jnodes[j], "path": "rotation"}})

    fpos, fnrm, fcol, fidx = _floor(lo, hi)
    materials.append({"name": "floor", "pbrMetallicRoughness": {
        "baseColorFactor": [1.0, 1.0, 1.0, 1.0], "metallicFactor": 0.0, "roughnessFactor": 1.0}})
    meshes.append({"name": "floor", "primitives": [{"attributes": {
        "POSITION": b.add(fpos, _FLOAT, "VEC3", _ARRAY, minmax=True),
        "NORMAL": b.add(fnrm, _FLOAT, "VEC3", _ARRAY),
        "COLOR_0": b.add(fcol, _FLOAT, "VEC4", _ARRAY)},
        "indices": b.add(fidx, _USHORT if fidx.dtype == np.uint16 else _UINT, "SCALAR", _ELEMENTS),
        "material": len(materials) - 1}]})
    scene_nodes.append(len(nodes))
    nodes.append({"name": "floor", "mesh": len(meshes) - 1})

    while len(b.bin) % 4:
        b.bin.append(0)
    gltf = {
        "asset": {"version": "2.0", "generator": "easytune_core.render.glb"},
        "scene": 0, "scenes": [{"name": "motions", "nodes": scene_nodes}],
        "nodes": nodes, "meshes": meshes, "materials": materials, "skins": skins,
        "animations": [{"name": "motion", "channels": channels, "samplers": samplers}],
        "accessors": b.accessors, "bufferViews": b.views, "buffers": [{"byteLength": len(b.bin)}],
    }
    js = json.dumps(gltf, separators=(",", ":")).encode()
    js += b" " * (-len(js) % 4)
    total = 12 + 8 + len(js) + 8 + len(b.bin)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<4sII", b"glTF", 2, total))
        f.write(struct.pack("<I4s", len(js), b"JSON") + js)
        f.write(struct.pack("<I4s", len(b.bin), b"BIN\x00") + bytes(b.bin))
    return path


def read_glb(path) -> tuple[dict, bytes]:
    """The JSON dict and BIN chunk of a GLB file (for tests and tools)."""
    data = Path(path).read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    if magic != b"glTF" or version != 2 or total != len(data):
        raise ValueError(f"{path} is not a glTF 2.0 binary file")
    jlen, jtype = struct.unpack_from("<I4s", data, 12)
    gltf = json.loads(data[20:20 + jlen])
    blen, _ = struct.unpack_from("<I4s", data, 20 + jlen)
    return gltf, data[28 + jlen:28 + jlen + blen]


__all__ = ["DEFAULT_COLORS", "parse_color", "prepare_motion", "read_glb", "write_glb"]
