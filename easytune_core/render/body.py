"""Body models behind one interface, posed by batched torch linear-blend skinning (LBS).

``BodyModel`` holds a rest mesh (T-pose, metres, Y up, facing +Z), its 22 SMPL body joints and
sparse skinning weights onto those joints. Three sources:

* ``mannequin`` (default): the Apache-2.0 ``mannequin-x`` wooden mannequin (SMPL-X skeleton),
  hands in its relaxed rest pose and bound to the wrists.
* ``smpl`` / ``smplh`` / ``smplx``: licensed model files the user points ``SMPL_MODEL_DIR`` at.
  Only ``.npz`` files are accepted and they are read with ``allow_pickle=False`` (the ``.pkl``
  releases would have to be unpickled, which we never do with user files); shape blending uses
  ``smplx.lbs``. Pose-corrective blend shapes are not applied.
* ``capsule``: a plain capsule figure built here, the last fallback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..motion.ik import NUM_JOINTS, PARENTS, SMPL_REST_JOINTS, SMPLPose, joints_to_smpl
from ..motion.rotations import axis_angle_to_matrix, quat_to_matrix

BODY_KINDS = ("mannequin", "smpl", "smplh", "smplx", "capsule")


@dataclass
class BodyModel:
    """A skinned body bound to the 22 SMPL body joints.

    Attributes:
        name: source of the mesh (``"mannequin"``, ``"smpl"``, ...).
        rest_vertices: ``(V, 3)`` float32 T-pose vertices in metres.
        faces: ``(F, 3)`` int64 triangle indices.
        joint_indices: ``(V, K)`` int64 joints (0..21) influencing each vertex.
        weights: ``(V, K)`` float32 skinning weights, rows sum to 1.
        rest_joints: ``(22, 3)`` float64 T-pose joint positions.
    """

    name: str
    rest_vertices: np.ndarray
    faces: np.ndarray
    joint_indices: np.ndarray
    weights: np.ndarray
    rest_joints: np.ndarray

    def __post_init__(self):
        V = self.rest_vertices.shape[0]
        if self.rest_vertices.shape != (V, 3) or V == 0:
            raise ValueError(f"rest_vertices must be (V, 3), got {self.rest_vertices.shape}")
        if self.joint_indices.shape != self.weights.shape or self.weights.shape[0] != V:
            raise ValueError("joint_indices and weights must both be (V, K) with V vertices")
        if self.rest_joints.shape != (NUM_JOINTS, 3):
            raise ValueError(f"rest_joints must be (22, 3), got {self.rest_joints.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or self.faces.max() >= V:
            raise ValueError("faces must be (F, 3) indices into the vertices")

    @property
    def num_vertices(self) -> int:
        return int(self.rest_vertices.shape[0])

    def dense_weights(self) -> np.ndarray:
        """``(V, 22)`` float32 skinning weight matrix."""
        V, K = self.joint_indices.shape
        flat = (np.arange(V)[:, None] * NUM_JOINTS + self.joint_indices).ravel()  # repeated joints add up
        W = np.bincount(flat, weights=np.asarray(self.weights, np.float64).ravel(), minlength=V * NUM_JOINTS)
        return W.reshape(V, NUM_JOINTS).astype(np.float32)

    def scaled(self, factor: float) -> "BodyModel":
        """The same body uniformly scaled about the origin (e.g. to a motion's leg length)."""
        return replace(self, rest_vertices=(self.rest_vertices * factor).astype(np.float32),
                       rest_joints=self.rest_joints * factor)

    def decimated(self, cell: float = 0.02) -> "BodyModel":
        """A lighter copy by vertex clustering (for video): vertices sharing a ``cell``-metre grid
        cell *and* their strongest joint merge, so separate limbs never fuse."""
        V = self.num_vertices
        main = self.joint_indices[np.arange(V), np.argmax(self.weights, 1)]
        key = np.concatenate([np.floor(self.rest_vertices / cell).astype(np.int64), main[:, None]], 1)
        _, cluster = np.unique(key, axis=0, return_inverse=True)
        cluster = cluster.ravel()
        n = int(cluster.max()) + 1
        count = np.bincount(cluster, minlength=n)[:, None]
        verts = np.zeros((n, 3))
        np.add.at(verts, cluster, self.rest_vertices)
        dense = np.zeros((n, NUM_JOINTS))
        np.add.at(dense, (cluster[:, None], self.joint_indices), self.weights)
        f = cluster[self.faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        f = np.unique(f, axis=0)
        idx, w = _merge_influences(np.tile(np.arange(NUM_JOINTS), (n, 1)), dense / count)
        return replace(self, rest_vertices=(verts / count).astype(np.float32), faces=f.astype(np.int64),
                       joint_indices=idx, weights=w)

    def leg_length(self) -> float:
        """Mean hip-knee-ankle length of the rest skeleton, in metres."""
        j = self.rest_joints
        return float(np.mean([np.linalg.norm(j[a] - j[b]) + np.linalg.norm(j[b] - j[c])
                              for a, b, c in ((1, 4, 7), (2, 5, 8))]))

    def fit(self, joints) -> SMPLPose:
        """Analytic IK of ``(T, 22, 3)`` joints against this body's own rest directions."""
        return joints_to_smpl(joints, template=self.rest_joints)

    def joint_transforms(self, rotations: torch.Tensor, trans: torch.Tensor):
        """World rotations ``(T, 22, 3, 3)`` and joint positions ``(T, 22, 3)`` of this skeleton."""
        rest = torch.as_tensor(self.rest_joints, dtype=rotations.dtype, device=rotations.device)
        offsets = rest - rest[torch.as_tensor(np.maximum(PARENTS, 0))]
        Rw, pos = [rotations[:, 0]], [trans + rest[0]]
        for j in range(1, NUM_JOINTS):
            p = int(PARENTS[j])
            pos.append(pos[p] + Rw[p] @ offsets[j])
            Rw.append(Rw[p] @ rotations[:, j])
        return torch.stack(Rw, 1), torch.stack(pos, 1)

    def pose(self, poses, trans, vertex_ids=None, device=None, chunk: int = 64) -> torch.Tensor:
        """Posed vertices by linear-blend skinning.

        Args:
            poses: ``(T, 66)`` axis-angle, ``(T, 22, 4)`` quaternions (w, x, y, z), an
                ``SMPLPose`` (then ``trans`` may be None) - SMPL convention, T-pose rest.
            trans: ``(T, 3)`` root translation in metres (pelvis = trans + rest_joints[0]).
            vertex_ids: optional index array to pose only some vertices.
            device: torch device (default: CUDA when available).
            chunk: frames per batch, bounds memory.

        Returns:
            ``(T, V, 3)`` float32 tensor of vertex positions in metres.
        """
        if isinstance(poses, SMPLPose):
            poses, trans = poses.quats, poses.trans if trans is None else trans
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        p = torch.as_tensor(np.asarray(poses), dtype=torch.float32, device=device)
        if p.ndim == 2 and p.shape[1] == NUM_JOINTS * 3:
            R = axis_angle_to_matrix(p.reshape(-1, NUM_JOINTS, 3))
        elif p.ndim == 3 and p.shape[1:] == (NUM_JOINTS, 4):
            R = quat_to_matrix(p)
        else:
            raise ValueError(f"poses must be (T, 66) axis-angle or (T, 22, 4) quaternions, got {tuple(p.shape)}")
        t = torch.as_tensor(np.asarray(trans), dtype=torch.float32, device=device)
        if t.shape != (p.shape[0], 3):
            raise ValueError(f"trans must be (T, 3) with T={p.shape[0]}, got {tuple(t.shape)}")
        Rw, pos = self.joint_transforms(R, t)
        rest_j = torch.as_tensor(self.rest_joints, dtype=torch.float32, device=device)
        # Affine per joint: x -> Rw (x - rest_j) + pos.
        A = torch.cat([Rw, (pos - (Rw @ rest_j[:, :, None])[..., 0])[..., None]], -1)  # (T,22,3,4)
        ids = slice(None) if vertex_ids is None else torch.as_tensor(np.asarray(vertex_ids))
        v = torch.as_tensor(self.rest_vertices, device=device)[ids]
        # Dense (22, V) weights make blending one GEMM, much faster than gathering K influences.
        Wt = torch.as_tensor(self.dense_weights(), device=device)[ids].T.contiguous()
        out = []
        for s in range(0, A.shape[0], chunk):
            a = A[s:s + chunk]
            blend = (a.reshape(a.shape[0], NUM_JOINTS, 12).transpose(1, 2) @ Wt).reshape(-1, 3, 4, v.shape[0])
            out.append((blend[:, :, :3] * v.T[None, None]).sum(2).add_(blend[:, :, 3]).transpose(1, 2))
        return torch.cat(out, 0)


def _collapse_to_body(joint_idx: np.ndarray, parents) -> np.ndarray:
    """Map joints past the 22 body joints (hands, jaw, eyes) to their nearest body ancestor."""
    parents = list(parents)
    table = np.arange(len(parents))
    for j in range(len(parents)):
        k = j
        while k >= NUM_JOINTS:
            k = parents[k]
        table[j] = k
    return table[joint_idx]


def _merge_influences(idx: np.ndarray, w: np.ndarray, k: int = 4):
    """Sum duplicate joints per vertex, keep the ``k`` strongest and renormalise."""
    V = idx.shape[0]
    dense = np.zeros((V, NUM_JOINTS), np.float64)
    np.add.at(dense, (np.arange(V)[:, None], idx), w)
    top = np.argsort(-dense, axis=1)[:, :k]
    tw = np.take_along_axis(dense, top, 1)
    tw /= np.maximum(tw.sum(1, keepdims=True), 1e-12)
    return top.astype(np.int64), tw.astype(np.float32)


def load_mannequin() -> BodyModel:
    """The wooden mannequin of ``mannequin-x`` (24k vertices), hands relaxed and bound to wrists."""
    try:
        from mannequin import Mannequin
        from importlib.resources import files
    except ImportError as e:  # pragma: no cover - the package is a requirement
        raise RuntimeError("the mannequin-x package is not installed; pip install mannequin-x") from e
    m = Mannequin("wooden")
    rest = m.rest_pose()
    verts = np.asarray(m.vertices(rest), np.float32)
    joints = np.asarray(m.joint_transforms(rest))[:NUM_JOINTS, :3, 3].astype(np.float64)
    with (files("mannequin") / "assets" / "wooden.npz").open("rb") as f, np.load(f, allow_pickle=False) as d:
        idx = d["skin_joint_indices"].astype(np.int64)
        w = d["skin_weights"].astype(np.float64)
        rigid = d["skin_rigid_joint_indices"].astype(np.int64)
        parents = d["parents"].tolist()
    # As the package binds: rigid parts follow one joint, others their strongest influences.
    idx[rigid >= 0] = rigid[rigid >= 0, None]
    w[rigid >= 0] = 0.0
    w[rigid >= 0, 0] = 1.0
    idx, w = _merge_influences(_collapse_to_body(idx, parents), w)
    return BodyModel("mannequin", verts, np.asarray(m.faces, np.int64), idx, w, joints)


def capsule_body(rest_joints: np.ndarray | None = None) -> BodyModel:
    """A capsule per bone (rigidly on the bone's joint) plus a head sphere: no dependencies."""
    import trimesh

    rest = SMPL_REST_JOINTS if rest_joints is None else np.asarray(rest_joints, np.float64)
    radius = {1: 0.07, 2: 0.07, 4: 0.055, 5: 0.055, 7: 0.04, 8: 0.04, 0: 0.08, 3: 0.09, 6: 0.1,
              9: 0.08, 12: 0.05, 13: 0.05, 14: 0.05, 16: 0.045, 17: 0.045, 18: 0.04, 19: 0.04}
    children = {1: 4, 2: 5, 4: 7, 5: 8, 7: 10, 8: 11, 0: 3, 3: 6, 6: 9, 9: 12, 12: 15, 13: 16,
                14: 17, 16: 18, 17: 19, 18: 20, 19: 21}
    verts, faces, owner = [], [], []
    n = 0

    def add(mesh, joint):
        nonlocal n
        verts.append(np.asarray(mesh.vertices))
        faces.append(np.asarray(mesh.faces) + n)
        owner.append(np.full(len(mesh.vertices), joint))
        n += len(mesh.vertices)

    for j, c in children.items():
        a, b = rest[j], rest[c]
        length = float(np.linalg.norm(b - a))
        cap = trimesh.creation.capsule(height=max(length, 1e-3), radius=radius[j], count=[10, 10])
        # trimesh's capsule runs along +Z from z=0 to height; turn +Z onto the bone.
        T = trimesh.geometry.align_vectors([0, 0, 1], (b - a) / max(length, 1e-9))
        T[:3, 3] = a
        cap.apply_transform(T)
        add(cap, j)
    head = trimesh.creation.icosphere(subdivisions=2, radius=0.1)
    head.apply_translation(rest[15] + [0, 0.03, 0.0])
    add(head, 15)
    owner = np.concatenate(owner)
    return BodyModel("capsule", np.concatenate(verts).astype(np.float32), np.concatenate(faces).astype(np.int64),
                     owner[:, None].astype(np.int64), np.ones((len(owner), 1), np.float32), rest.copy())


_SMPL_KEYS = ("v_template", "f", "weights", "J_regressor", "kintree_table", "shapedirs")


def find_smpl_file(kind: str, gender: str = "neutral", model_dir: str | None = None) -> Path:
    """Locate ``<KIND>_<GENDER>.npz`` under ``SMPL_MODEL_DIR`` (or ``model_dir``, or a file path)."""
    root = model_dir or os.environ.get("SMPL_MODEL_DIR")
    if not root:
        raise FileNotFoundError(f"--body {kind} needs licensed model files: set SMPL_MODEL_DIR to the "
                                f"folder holding {kind}/{kind.upper()}_{gender.upper()}.npz")
    root = Path(root)
    if root.is_file():
        cands = [root]
    else:
        name = f"{kind.upper()}_{gender.upper()}"
        cands = [root / kind / f"{name}.npz", root / f"{name}.npz", root / kind.upper() / f"{name}.npz",
                 root / kind / gender.lower() / "model.npz"]  # the last: AMASS's body-model layout
    for c in cands:
        if c.is_file():
            if c.suffix.lower() != ".npz":
                raise ValueError(f"{c}: only .npz model files are accepted (we never unpickle "
                                 f"user files); convert the .pkl release to .npz")
            return c
    pkl = [c.with_suffix(".pkl") for c in cands if c.with_suffix(".pkl").is_file()]
    hint = f" Found {pkl[0]}: convert it to .npz (we never unpickle user files)." if pkl else ""
    raise FileNotFoundError(f"no {kind} model found; looked for {', '.join(str(c) for c in cands)}.{hint}")


def load_smpl_body(kind: str = "smpl", gender: str = "neutral", model_dir: str | None = None,
                   betas=None) -> BodyModel:
    """SMPL / SMPL-H / SMPL-X body from a licensed ``.npz`` model file (see module docstring)."""
    from smplx.lbs import blend_shapes, vertices2joints

    path = find_smpl_file(kind, gender, model_dir)
    try:
        with np.load(path, allow_pickle=False) as d:
            missing = [k for k in _SMPL_KEYS if k not in d.files]
            if missing:
                raise ValueError(f"{path} is not an SMPL-family model file: missing {missing}")
            data = {k: np.asarray(d[k]) for k in _SMPL_KEYS}
    except ValueError as e:
        if "missing" in str(e):
            raise
        raise ValueError(f"{path} could not be read as a plain .npz model file ({e}); object "
                         f"arrays are refused because reading them would unpickle") from e
    except (OSError, EOFError) as e:
        raise ValueError(f"{path} is not a valid .npz file: {e}") from e
    v = data["v_template"].astype(np.float64)
    Jr, W = data["J_regressor"].astype(np.float64), data["weights"].astype(np.float64)
    V = v.shape[0]
    if v.ndim != 2 or v.shape[1] != 3 or W.shape[0] != V or Jr.shape[1] != V or W.shape[1] < NUM_JOINTS \
            or Jr.shape[0] != W.shape[1] or data["f"].ndim != 2 or data["f"].max() >= V:
        raise ValueError(f"{path}: inconsistent shapes (v_template {v.shape}, weights {W.shape}, "
                         f"J_regressor {Jr.shape}, f {data['f'].shape})")
    b = np.zeros(min(10, data["shapedirs"].shape[-1])) if betas is None else np.asarray(betas, np.float64)
    vt = torch.as_tensor(v)[None]
    if b.size:
        sd = torch.as_tensor(data["shapedirs"][..., :b.size].astype(np.float64))
        vt = vt + blend_shapes(torch.as_tensor(b)[None], sd)
    joints = vertices2joints(torch.as_tensor(Jr), vt)[0].numpy()
    parents = data["kintree_table"][0].astype(np.int64)
    parents[0] = -1
    k = min(4, W.shape[1])
    top = np.argsort(-W, axis=1)[:, :k]
    idx, w = _merge_influences(_collapse_to_body(top, parents), np.take_along_axis(W, top, 1))
    return BodyModel(kind, vt[0].numpy().astype(np.float32), data["f"].astype(np.int64), idx, w,
                     joints[:NUM_JOINTS].astype(np.float64))


_CACHE: dict = {}


def get_body(kind: str = "mannequin", gender: str = "neutral") -> BodyModel:
    """Body model by name (cached): ``mannequin`` (default), ``smpl``, ``smplh``, ``smplx``, ``capsule``."""
    kind = str(kind).lower()
    if kind not in BODY_KINDS:
        raise ValueError(f"unknown body {kind!r}; choose one of {', '.join(BODY_KINDS)}")
    key = (kind, gender, os.environ.get("SMPL_MODEL_DIR"))
    if key not in _CACHE:
        if kind == "mannequin":
            _CACHE[key] = load_mannequin()
        elif kind == "capsule":
            _CACHE[key] = capsule_body()
        else:
            _CACHE[key] = load_smpl_body(kind, gender)
    return _CACHE[key]


__all__ = ["BODY_KINDS", "BodyModel", "capsule_body", "find_smpl_file", "get_body", "load_mannequin",
           "load_smpl_body"]
