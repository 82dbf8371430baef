"""BVH import: parse, forward kinematics, map onto HumanML3D's 22 joints, metres, Y up, resample.

``load_bvh(path, fps=20)`` returns ``(T, 22, 3)`` float32 joint positions in metres with Y up.

How a file is read:

- **Parsing**: any channel layout per joint (position and rotation channels in any order);
  Euler angles in degrees, applied in the listed order (``Zrotation Yrotation Xrotation`` means
  ``R = Rz Ry Rx``); a joint with position channels uses them as its local translation (the
  components it lacks come from ``OFFSET``), other joints use ``OFFSET``. CRLF / LF both fine.
- **Skeleton mapping**: the joint names are normalised (namespace like ``mixamorig:`` dropped,
  lower case, only letters and digits) and matched against four profiles, in order:
  the CMU MotionBuilder conversion (``LowerBack``, ``LHipJoint``, ``Neck1`` ...), Mixamo
  (``Spine2``, ``LeftForeArm`` ...), this project's BVH export (Mixamo names, ``LeftToe``) and SMPL names (``pelvis``, ``l_hip``/``left_hip``,
  ``l_collar`` ...). Where a profile has no joint at an SMPL joint's place (CMU's clavicle
  joints sit exactly on the chest), the SMPL joint is placed on the segment between two BVH
  joints; this avoids zero-length bones, which have no direction for the feature IK.
  If no profile matches, ``ValueError`` lists the missing names of the closest profile.
- **Units** (``units="auto"``): the rest-pose length of the path head -> pelvis -> left ankle
  through the mapped joints is about 1.5 m on adults (HumanML3D's canonical skeleton: 1.58 m).
  Of metres, centimetres, millimetres, inches and CMU's ASF unit (1/0.45 inch = 0.056444 m),
  the one that brings that length closest to 1.55 m (in log scale) is used. Plausible bodies
  from about 0.9 m to 2.7 m are told apart correctly (neighbouring units differ by >= 2.2x);
  pass ``units=`` to override (a name or metres per unit).
- **Up axis** (``up_axis="auto"``): the mean over frames of head minus mid-ankle picks the
  signed world axis closest to "up"; a proper rotation turns it to +Y.
- **CMU reference frame** (``skip_first="auto"``): CMU conversions start with a fixed T-like
  pose that is not motion; when frame 0 has at least 75 % of its rotation channels exactly
  zero and frame 1 does not, frame 0 is dropped.
- **Floor** (``floor=True``): the lowest joint over the clip is moved to y = 0 (as HumanML3D's
  processing does).
- **Resampling**: local rotations are slerped and translations linearly interpolated at
  ``t = k / fps`` before forward kinematics (exact frames when the source rate is a multiple).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .rotations import matrix_to_quat, qslerp, quat_to_matrix

__all__ = ["BVHData", "BVHInfo", "read_bvh", "bvh_positions", "map_to_humanml3d", "load_bvh",
           "detect_units", "UNITS"]

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}
_TARGET_PATH_M = 1.55  # head -> pelvis -> ankle path of an adult, metres


@dataclass
class BVHData:
    """A parsed BVH file.

    Attributes:
        names: joint names as written (End Sites excluded).
        parents: parent index per joint (-1 for the root).
        offsets: ``(J, 3)`` OFFSETs in file units.
        channels: per joint, the list of channel names (e.g. ``["Zrotation", "Xrotation"]``).
        motion: ``(F, C)`` raw channel values.
        frame_time: seconds per frame.
        end_sites: joint index -> End Site OFFSET.
    """

    names: list
    parents: list
    offsets: np.ndarray
    channels: list
    motion: np.ndarray
    frame_time: float
    end_sites: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return self.motion.shape[0]


@dataclass
class BVHInfo:
    """How :func:`load_bvh` read a file: profile, unit scale (metres per file unit), source fps,
    frames dropped at the start, up axis found, floor shift (metres)."""

    profile: str
    scale: float
    unit: str
    source_fps: float
    dropped_frames: int
    up_axis: str
    floor_shift: float


def read_bvh(path) -> BVHData:
    """Parse a BVH file (hierarchy + motion). Raises ValueError on malformed files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"BVH file {path} does not exist")
    text = path.read_text(encoding="utf-8", errors="replace")
    head, sep, tail = text.partition("MOTION")
    if not sep:
        raise ValueError(f"{path}: no MOTION section; is this a BVH file?")
    tokens = head.replace("{", " { ").replace("}", " } ").split()
    names, parents, offsets, channels, end_sites = [], [], [], [], {}
    stack: list = []  # joint index per open brace (None for an End Site)
    pending = None  # ("joint", name) or ("end",) waiting for its "{"
    i = 0
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                j = i + 1
                while tokens[j] != "{":  # names may contain spaces
                    j += 1
                pending = ("joint", " ".join(tokens[i + 1:j]))
                i = j
                continue
            if tok == "End":
                pending = ("end",)
                i += 2  # "End Site"
                continue
            if tok == "{":
                if pending is None:
                    raise ValueError("unexpected '{'")
                if pending[0] == "joint":
                    parent = next((s for s in reversed(stack) if s is not None), -1) if stack else -1
                    names.append(pending[1])
                    parents.append(parent)
                    offsets.append(np.zeros(3))
                    channels.append([])
                    stack.append(len(names) - 1)
                else:
                    stack.append(None)
                pending = None
            elif tok == "}":
                stack.pop()
            elif tok == "OFFSET":
                off = np.array([float(t) for t in tokens[i + 1:i + 4]])
                if stack[-1] is None:
                    owner = next(s for s in reversed(stack) if s is not None)
                    end_sites[owner] = off
                else:
                    offsets[stack[-1]] = off
                i += 4
                continue
            elif tok == "CHANNELS":
                n = int(tokens[i + 1])
                channels[stack[-1]] = tokens[i + 2:i + 2 + n]
                i += 2 + n
                continue
            i += 1
    except (IndexError, StopIteration, ValueError) as err:
        raise ValueError(f"{path}: malformed HIERARCHY near token {i} ({err})") from None
    if not names:
        raise ValueError(f"{path}: no joints in HIERARCHY")
    for ch in channels:
        bad = [c for c in ch if c.lower() not in {f"{a}{k}" for a in "xyz" for k in ("position", "rotation")}]
        if bad:
            raise ValueError(f"{path}: unknown channel(s) {bad}")

    m = re.search(r"Frames:\s*(\d+)\s*Frame Time:\s*([0-9.eE+-]+)", tail)
    if not m:
        raise ValueError(f"{path}: MOTION section lacks 'Frames:' / 'Frame Time:'")
    n_frames, frame_time = int(m.group(1)), float(m.group(2))
    if not frame_time > 0:
        raise ValueError(f"{path}: Frame Time must be positive, got {frame_time}")
    values = np.array(tail[m.end():].split(), dtype=np.float64)
    n_ch = sum(len(c) for c in channels)
    if n_ch == 0 or values.size < n_frames * n_ch or values.size % n_ch:
        raise ValueError(f"{path}: MOTION has {values.size} numbers, expected {n_frames} frames x "
                         f"{n_ch} channels")
    motion = values.reshape(-1, n_ch)
    return BVHData(names, parents, np.array(offsets), channels, motion, frame_time, end_sites)


def _axis_matrix(axis: str, deg: np.ndarray) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    rows = {"x": [[o, z, z], [z, c, -s], [z, s, c]],
            "y": [[c, z, s], [z, o, z], [-s, z, c]],
            "z": [[c, -s, z], [s, c, z], [z, z, o]]}[axis]
    return np.stack([np.stack(r, -1) for r in rows], -2)


def _local_transforms(data: BVHData, motion: np.ndarray):
    """Per joint local rotation matrices ``(F, J, 3, 3)`` and translations ``(F, J, 3)``."""
    F, J = motion.shape[0], len(data.names)
    rot = np.broadcast_to(np.eye(3), (F, J, 3, 3)).copy()
    trans = np.broadcast_to(data.offsets, (F, J, 3)).copy()
    col = 0
    for j, chans in enumerate(data.channels):
        for c in chans:
            axis, kind = c[0].lower(), c[1:].lower()
            vals = motion[:, col]
            if kind == "position":
                trans[:, j, "xyz".index(axis)] = vals
            else:
                rot[:, j] = rot[:, j] @ _axis_matrix(axis, vals)
            col += 1
    return rot, trans


def _fk(parents, rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    F, J = rot.shape[:2]
    wrot = np.empty_like(rot)
    pos = np.empty((F, J, 3))
    for j, p in enumerate(parents):
        if p < 0:
            wrot[:, j], pos[:, j] = rot[:, j], trans[:, j]
        else:
            wrot[:, j] = wrot[:, p] @ rot[:, j]
            pos[:, j] = pos[:, p] + np.einsum("fij,fj->fi", wrot[:, p], trans[:, j])
    return pos


def bvh_positions(data: BVHData, fps: float | None = None, start_frame: int = 0) -> np.ndarray:
    """World positions ``(T, J, 3)`` (file units and axes) of every BVH joint.

    With ``fps`` the motion from ``start_frame`` on is resampled at ``k / fps`` seconds (slerp of
    local rotations, linear translations); without it every frame is used.
    """
    motion = data.motion[start_frame:]
    rot, trans = _local_transforms(data, motion)
    if fps is not None and motion.shape[0] > 1:
        src_fps = 1.0 / data.frame_time
        if abs(src_fps - round(src_fps)) <= 1e-4 * src_fps:  # "0.033333" is 30 fps written to 6 decimals
            src_fps = float(round(src_fps))
        duration = (motion.shape[0] - 1) / src_fps
        t = np.arange(int(math.floor(duration * fps + 1e-6)) + 1) * (src_fps / fps)
        i0 = np.minimum(np.floor(t + 1e-9).astype(int), motion.shape[0] - 1)
        i1 = np.minimum(i0 + 1, motion.shape[0] - 1)
        w = np.clip(t - i0, 0.0, 1.0)
        if np.all(w < 1e-9):
            rot, trans = rot[i0], trans[i0]
        else:
            q = matrix_to_quat(rot)
            qi = qslerp(q[i0], q[i1], np.broadcast_to(w[:, None], q[i0].shape[:-1]))
            rot = quat_to_matrix(qi)
            trans = trans[i0] + (trans[i1] - trans[i0]) * w[:, None, None]
    return _fk(data.parents, rot, trans)


def _norm(name: str) -> str:
    name = name.split(":")[-1]
    name = re.sub(r"^(mixamorig[_]?|[mf]_avg_)", "", name, flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9]", "", name.lower())


HML = ("pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle",
       "spine3", "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder",
       "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist")


def _sided(table: dict) -> dict:
    """Expand ``{"X_knee": spec}`` written for the left side with 'L'/'Left' into both sides."""
    out = {}
    for k, v in table.items():
        out[k] = v
        if k.startswith("l_"):
            def swap(s):
                return s.replace("left", "right").replace("lhip", "rhip").replace("lthumb", "rthumb")
            out["r_" + k[2:]] = {swap(n): w for n, w in v.items()} if isinstance(v, dict) else swap(v)
    return out


# Each profile maps HumanML3D joints to a normalised BVH joint name or {name: weight} blend.
PROFILES = {
    # Bruce Hahne's CMU conversion: LowerBack/LHipJoint/Neck/LeftShoulder sit on their parents.
    # The blends put the SMPL spine/neck/head joints at the same fractions of the
    # pelvis -> shoulder-line height as on SMPL's body (checked on CMU subjects 01 and 13).
    "cmu": _sided({
        "pelvis": "hips", "l_hip": "leftupleg", "l_knee": "leftleg", "l_ankle": "leftfoot",
        "l_foot": "lefttoebase", "spine1": {"hips": 0.4, "spine": 0.6},
        "spine2": {"spine": 0.55, "spine1": 0.45}, "spine3": {"spine": 0.2, "spine1": 0.8},
        "neck": "neck1", "head": {"neck1": 0.25, "head": 0.75},
        "l_collar": {"leftshoulder": 0.55, "leftarm": 0.45}, "l_shoulder": "leftarm",
        "l_elbow": "leftforearm", "l_wrist": "lefthand",
    }),
    "mixamo": _sided({
        "pelvis": "hips", "l_hip": "leftupleg", "l_knee": "leftleg", "l_ankle": "leftfoot",
        "l_foot": "lefttoebase", "spine1": "spine", "spine2": "spine1", "spine3": "spine2",
        "neck": "neck", "head": "head", "l_collar": "leftshoulder", "l_shoulder": "leftarm",
        "l_elbow": "leftforearm", "l_wrist": "lefthand",
    }),
    # this project's own BVH export (render.export.save_bvh): Mixamo names, toes "LeftToe"
    "easytune": _sided({
        "pelvis": "hips", "l_hip": "leftupleg", "l_knee": "leftleg", "l_ankle": "leftfoot",
        "l_foot": "lefttoe", "spine1": "spine", "spine2": "spine1", "spine3": "spine2",
        "neck": "neck", "head": "head", "l_collar": "leftshoulder", "l_shoulder": "leftarm",
        "l_elbow": "leftforearm", "l_wrist": "lefthand",
    }),
    "smpl": {k: v for k, v in zip(HML, (
        "pelvis", "lhip", "rhip", "spine1", "lknee", "rknee", "spine2", "lankle", "rankle",
        "spine3", "lfoot", "rfoot", "neck", "lcollar", "rcollar", "head", "lshoulder",
        "rshoulder", "lelbow", "relbow", "lwrist", "rwrist"))},
}
_SMPL_LONG = {"l": "left", "r": "right"}


def _lookup(norm_names: dict, key: str):
    if key in norm_names:
        return norm_names[key]
    if key[:1] in _SMPL_LONG and key[1:] and _SMPL_LONG[key[0]] + key[1:] in norm_names:
        return norm_names[_SMPL_LONG[key[0]] + key[1:]]  # "left_hip" for "l_hip"
    return None


def map_to_humanml3d(names: list) -> tuple[str, np.ndarray]:
    """``(profile, W)`` where ``W (22, J)`` turns BVH joint positions into the 22 joints.

    Raises ValueError naming the BVH joints that are missing for the closest profile.
    """
    norm = {}
    for i, n in enumerate(names):
        norm.setdefault(_norm(n), i)
    best = None
    for profile, table in PROFILES.items():
        W = np.zeros((22, len(names)))
        missing = []
        for t, target in enumerate(HML):
            spec = table[target]
            spec = spec if isinstance(spec, dict) else {spec: 1.0}
            for key, w in spec.items():
                idx = _lookup(norm, key)
                if idx is None:
                    missing.append(key)
                else:
                    W[t, idx] += w
        if not missing:
            return profile, W
        if best is None or len(missing) < len(best[1]):
            best = (profile, missing)
    raise ValueError(
        f"BVH skeleton cannot be mapped onto the 22 HumanML3D joints: closest match is the "
        f"{best[0]!r} naming, which lacks joints named {sorted(set(best[1]))} (names are compared "
        f"lower-case without '_', spaces or a 'prefix:'); the file has {list(names)}")


def detect_units(path_length: float) -> tuple[str, float]:
    """``(unit name, metres per unit)`` bringing a head->pelvis->ankle rest path closest to 1.55 m."""
    if not path_length > 0:
        raise ValueError("the skeleton has zero size; cannot detect its units")
    name = min(UNITS, key=lambda u: abs(math.log(path_length * UNITS[u] / _TARGET_PATH_M)))
    return name, UNITS[name]


def _rest_path(data: BVHData, W: np.ndarray) -> float:
    rest = _fk(data.parents, np.broadcast_to(np.eye(3), (1, len(data.names), 3, 3)),
               data.offsets[None].copy())[0]
    joints = W @ rest
    chain = [HML.index(n) for n in ("head", "neck", "spine3", "spine2", "spine1", "pelvis",
                                    "l_hip", "l_knee", "l_ankle")]
    return float(sum(np.linalg.norm(joints[a] - joints[b]) for a, b in zip(chain[:-1], chain[1:])))


def _up_rotation(joints: np.ndarray) -> tuple[str, np.ndarray]:
    up = (joints[:, 15] - 0.5 * (joints[:, 7] + joints[:, 8])).mean(axis=0)
    k = int(np.argmax(np.abs(up)))
    sign = 1.0 if up[k] > 0 else -1.0
    label = ("+" if sign > 0 else "-") + "xyz"[k]
    # proper rotations taking the found axis to +Y
    mats = {"+y": np.eye(3), "-y": np.diag([1.0, -1.0, -1.0]),
            "+z": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
            "-z": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
            "+x": np.array([[0, -1.0, 0], [1, 0, 0], [0, 0, 1]]),
            "-x": np.array([[0, 1.0, 0], [-1, 0, 0], [0, 0, 1]])}
    return label, mats[label]


def load_bvh(path, fps: float = 20.0, units: str | float = "auto", up_axis: str = "auto",
             skip_first: str | bool = "auto", floor: bool = True, return_info: bool = False):
    """Load a BVH file as HumanML3D joints.

    Args:
        path: the ``.bvh`` file.
        fps: output frame rate (HumanML3D: 20).
        units: ``"auto"`` (see the module doc), one of ``m cm mm inch cmu``, or metres per unit.
        up_axis: ``"auto"`` or the file's up axis ``"y"``, ``"z"``, ``"-z"`` ...
        skip_first: drop frame 0 (``True``), keep it (``False``) or ``"auto"`` (CMU T-pose test).
        floor: move the lowest joint over the clip to y = 0.
        return_info: also return a :class:`BVHInfo`.

    Returns:
        ``(T, 22, 3)`` float32 positions in metres, Y up (and the info when asked).
    """
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    data = read_bvh(path)
    profile, W = map_to_humanml3d(data.names)
    if isinstance(units, str) and units != "auto":
        if units not in UNITS:
            raise ValueError(f"units must be 'auto', one of {sorted(UNITS)} or a number, got {units!r}")
        unit, scale = units, UNITS[units]
    elif isinstance(units, (int, float)):
        if not units > 0:
            raise ValueError(f"units (metres per file unit) must be positive, got {units}")
        unit, scale = "custom", float(units)
    else:
        unit, scale = detect_units(_rest_path(data, W))

    drop = 0
    if skip_first is True:
        drop = 1
    elif skip_first == "auto" and data.num_frames > 1:
        rot_cols = np.concatenate([[c.lower().endswith("rotation") for c in ch] for ch in data.channels])
        zero0 = np.mean(data.motion[0, rot_cols] == 0.0)
        zero1 = np.mean(data.motion[1, rot_cols] == 0.0)
        drop = int(zero0 >= 0.75 and zero1 < 0.75)
    if data.num_frames - drop < 2:
        raise ValueError(f"{path}: needs at least 2 motion frames, has {data.num_frames - drop}")

    pos = bvh_positions(data, fps=fps, start_frame=drop)
    joints = np.einsum("kj,tjc->tkc", W, pos) * scale
    if up_axis == "auto":
        label, R = _up_rotation(joints)
    else:
        key = up_axis if up_axis[:1] in "+-" else "+" + up_axis
        if key not in ("+x", "-x", "+y", "-y", "+z", "-z"):
            raise ValueError(f"up_axis must be 'auto' or one of x, y, z, -x, -y, -z, got {up_axis!r}")
        one_hot = np.zeros((1, 22, 3))
        one_hot[0, 15, "xyz".index(key[1])] = 1.0 if key[0] == "+" else -1.0
        label, R = _up_rotation(one_hot)
    joints = joints @ R.T
    shift = 0.0
    if floor:
        shift = float(joints[..., 1].min())
        joints[..., 1] -= shift
    if not np.isfinite(joints).all():
        raise ValueError(f"{path}: motion produced NaN/inf positions")
    out = joints.astype(np.float32)
    if return_info:
        return out, BVHInfo(profile, scale, unit, 1.0 / data.frame_time, drop, label, shift)
    return out
