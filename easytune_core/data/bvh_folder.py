"""A HumanML3D-layout dataset from a folder of BVH files and a captions file.

Captions file format (UTF-8 text, one caption per line, several lines per file allowed)::

    # comment lines and blank lines are ignored
    01_01.bvh<TAB>a person jumps forward several times
    01_01.bvh<TAB>someone hops ahead, then turns around<TAB>0.0<TAB>9.5
    13_29<TAB>a person does jumping jacks

- column 1: the BVH file, relative to the BVH folder (sub-folders allowed; ``.bvh`` optional);
- column 2: the caption (no TAB, no ``#``);
- columns 3-4 (optional): start and end in seconds of the part of the clip the caption
  describes. As in HumanML3D's own construction (its ``index.csv`` cuts AMASS sequences
  into motions), each distinct span becomes its own motion, named ``<file>_<k>`` (k = 1, 2,
  ... in order of first appearance); captions without a span describe the whole clip,
  named ``<file>``.

HumanML3D's loader drops motions of 200 frames (10 s at 20 fps) or more, so long clips
(CMU trials are 20-40 s) need spans under 10 s; whole clips that are too long are still
written but reported. BVH files without any caption are skipped (and reported); a caption
naming a missing file is an error. Sample names are the file path with ``/`` -> ``__`` and
other characters outside ``[A-Za-z0-9_.-]`` -> ``_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..motion.bvh import load_bvh
from .layout import LayoutSummary, write_humanml3d_folder


@dataclass
class BVHImportReport:
    """Result of :func:`write_bvh_dataset`: the layout summary, BVH files skipped for lack of
    captions, and names of motions too long to be loaded whole (no span caption)."""

    summary: LayoutSummary
    uncaptioned: list = field(default_factory=list)
    too_long: list = field(default_factory=list)


def read_captions_file(path) -> dict[str, list]:
    """``{relative bvh path without .bvh: [caption or (caption, start, end), ...]}`` in file order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"captions file {path} does not exist")
    out: dict[str, list] = {}
    for no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) not in (2, 4) or not cols[0].strip() or not cols[1].strip():
            raise ValueError(f"{path}:{no}: expected 'file<TAB>caption' or "
                             f"'file<TAB>caption<TAB>start<TAB>end', got {line!r}")
        key = re.sub(r"\.bvh$", "", cols[0].strip(), flags=re.IGNORECASE)
        caption = cols[1].strip()
        if "#" in caption:
            raise ValueError(f"{path}:{no}: a caption cannot contain '#' (HumanML3D's separator)")
        if len(cols) == 4:
            try:
                start, end = float(cols[2]), float(cols[3])
            except ValueError:
                raise ValueError(f"{path}:{no}: start/end must be seconds, got {cols[2]!r}, {cols[3]!r}") from None
            if not 0 <= start < end:
                raise ValueError(f"{path}:{no}: need 0 <= start < end, got {start}, {end}")
            out.setdefault(key, []).append((caption, start, end))
        else:
            out.setdefault(key, []).append(caption)
    if not out:
        raise ValueError(f"captions file {path} has no captions")
    return out


def _sample_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", key.replace("/", "__")).lstrip("._-") or "motion"


def _segments(name: str, joints, caps: list, fps: float):
    """Split one clip's captions into the whole clip and one motion per distinct span."""
    whole = [c for c in caps if isinstance(c, str)]
    if whole:
        yield name, joints, whole
    spans: dict = {}
    for c in caps:
        if not isinstance(c, str):
            spans.setdefault((c[1], c[2]), []).append(c[0])
    for k, ((start, end), texts) in enumerate(spans.items(), 1):
        a = int(round(start * fps))
        b = min(int(round(end * fps)) + 1, joints.shape[0])  # +1: features are one frame shorter
        if b - a < 2:
            raise ValueError(f"{name}: span {start}-{end} s is outside the {joints.shape[0] / fps:.2f} s clip")
        yield f"{name}_{k}", joints[a:b], texts


def bvh_samples(bvh_dir, captions: dict, fps: float = 20.0, units="auto"):
    """Yield ``(name, joints (T, 22, 3), captions)`` per captioned BVH clip (and per span), by path."""
    for _clip, name, joints, caps in _clip_samples(bvh_dir, captions, fps, units):
        yield name, joints, caps


def _clip_samples(bvh_dir, captions: dict, fps: float, units):
    """As :func:`bvh_samples`, each sample preceded by the name of the clip it comes from."""
    root = Path(bvh_dir)
    files = {re.sub(r"\.bvh$", "", str(p.relative_to(root)), flags=re.IGNORECASE): p
             for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".bvh"}
    missing = sorted(k for k in captions if k not in files)
    if missing:
        raise ValueError(f"the captions file names BVH files that are not in {root}: {missing[:10]}")
    names = {}
    for key in sorted(captions):
        name = _sample_name(key)
        if name in names:
            raise ValueError(f"BVH files {names[name]!r} and {key!r} give the same dataset name {name!r}")
        names[name] = key
    for name, key in names.items():
        try:
            joints = load_bvh(files[key], fps=fps, units=units)
        except ValueError as err:
            raise ValueError(f"{files[key]}: {err}") from None
        for sample in _segments(name, joints, captions[key], fps):
            yield (name, *sample)


def write_bvh_dataset(bvh_dir, captions_file, out_dir, fps: float = 20.0, units="auto", seed: int = 0,
                      split_fracs=(0.8, 0.05, 0.15), mirror: bool = True, workers: int = 1,
                      overwrite: bool = False, fix_yaw_wrap: bool = False) -> BVHImportReport:
    """Convert a folder of BVH files + a captions file into a HumanML3D-layout dataset folder."""
    root = Path(bvh_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"BVH folder {root} does not exist")
    captions = read_captions_file(captions_file)
    all_bvh = sorted(re.sub(r"\.bvh$", "", str(p.relative_to(root)), flags=re.IGNORECASE)
                     for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".bvh")
    if not all_bvh:
        raise ValueError(f"BVH folder {root} has no .bvh files")
    too_long = []
    clip_of: dict[str, str] = {}

    def samples():
        for clip, name, joints, caps in _clip_samples(root, captions, fps, units):
            clip_of[name] = clip
            if joints.shape[0] - 1 >= 200:
                too_long.append(name)
            yield name, joints, caps

    # a clip's whole motion and its captioned spans overlap: they all go to one split
    summary = write_humanml3d_folder(out_dir, samples(), split_fracs=split_fracs, seed=seed,
                                     mirror=mirror, workers=workers, overwrite=overwrite,
                                     fix_yaw_wrap=fix_yaw_wrap, group_of=clip_of.__getitem__)
    return BVHImportReport(summary, [k for k in all_bvh if k not in captions], too_long)


__all__ = ["read_captions_file", "bvh_samples", "write_bvh_dataset", "BVHImportReport"]
