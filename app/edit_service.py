"""The app's door into `easytune_core.edit`: edits, timelines and takes for checkpoints A and B from
the same noise, their exports, and the checks of the inputs these three actions take.

Like `backend.py`, core imports happen on first use."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from easytune_core.shipped import world_of

from .backend import FPS, SideResult, _both

MAX_APP_TAKES = 8
"""Takes per request in the app (the library allows 16): each take is a body in one GLB."""
SOURCE_KINDS = ("last generated", "file upload", "dataset example")
PATH_PRESET = "path (draw a root path)"


@dataclass
class EditRequest:
    """A validated Edit-tab request (see `parse_edit`)."""

    spec: object  # easytune_core.edit.EditSpec
    prompt: str
    note: str


def _int_or_none(value, name: str, zero_is_unset: bool = False) -> int | None:
    """A whole number of frames, or None for an empty field (and for 0 where 0 means "not set":
    the browser's number fields cannot be empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number of frames, got {value!r}") from None
    if not np.isfinite(number) or number != int(number):
        raise ValueError(f"{name} must be a whole number of frames, got {value!r}")
    if zero_is_unset and number == 0:
        return None
    return int(number)


def table_rows(value) -> list[list]:
    """Rows of a gr.Dataframe payload (list of lists, {"data": ...}, or a pandas DataFrame)."""
    if value is None:
        return []
    if hasattr(value, "values") and hasattr(value, "columns"):  # pandas
        return value.values.tolist()
    if isinstance(value, dict):
        value = value.get("data", [])
    if not isinstance(value, (list, tuple)):
        raise ValueError("the table must be a list of rows")
    return [list(r) if isinstance(r, (list, tuple)) else [r] for r in value]


def path_rows(value) -> list[list]:
    """(t, x, z) rows of the path table without the empty rows a table keeps at its end."""
    return [r for r in table_rows(value) if not all(_blank(v) for v in r)]


def _blank(v) -> bool:
    """An empty table cell: None, an empty string, or the NaN a numeric column shows for one."""
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v))


def timeline_segments(value) -> list[tuple[str, float]]:
    """(prompt, seconds) pairs of the timeline table; rows with an empty prompt and no seconds are skipped."""
    from easytune_core.edit.compose import check_timeline

    rows = []
    for r in table_rows(value):
        r = (r + [None, None])[:2]
        prompt, seconds = r
        if _blank(prompt) and _blank(seconds):
            continue
        rows.append((prompt if isinstance(prompt, str) else ("" if prompt is None else str(prompt)), seconds))
    return check_timeline(rows)


def load_source(kind: str, upload, example: str | None, last: dict | None, data_dir: Path, start, end) -> np.ndarray:
    """The Edit tab's source motion as raw features (S, 263)."""
    from easytune_core.edit.source import check_features, dataset_source
    from easytune_core.edit.source import load_source as load_file

    start, end = _int_or_none(start, "source start", True), _int_or_none(end, "source end", True)
    if kind == "last generated":
        if not last or not last.get("features") or not Path(last["features"]).exists():
            raise ValueError("no generated motion in this session yet: generate one in Compare (or pick a take), "
                             "or choose a file upload or a dataset example as the source")
        feats = check_features(np.load(last["features"], allow_pickle=False), "the last generated motion")
        if start is not None or end is not None:
            lo, hi = start or 0, len(feats) if end is None else end
            if not 0 <= lo < hi <= len(feats):
                raise ValueError(f"frame range {lo}..{hi} is outside the last generated motion (frames 0..{len(feats)})")
            feats = feats[lo:hi]
        return feats
    if kind == "file upload":
        if not upload:
            raise ValueError("no file uploaded: choose a .bvh, or a .npy with joints (T, 22, 3) or features (T, 263)")
        path = upload[0] if isinstance(upload, (list, tuple)) else upload
        path = getattr(path, "name", path)
        return load_file(path, start, end)
    if kind == "dataset example":
        if not example:
            raise ValueError("choose a dataset example")
        name = str(example).split(":")[0].strip()
        return dataset_source(data_dir, name, start, end)
    raise ValueError(f"source must be one of {', '.join(SOURCE_KINDS)}; got {kind!r}")


def parse_edit(kind, upload, example, last, data_dir, start, end, preset, keep, range_start, range_end,
               frames, path_table, heading="tangent") -> object:
    """The EditSpec the Edit tab describes (frame counts at 20 fps)."""
    from easytune_core.edit import make_edit, path_spec
    from easytune_core.edit.presets import PRESETS

    if preset == PATH_PRESET:
        return path_spec(path_rows(path_table), heading=heading)
    if preset not in PRESETS:
        raise ValueError(f"choose what to keep: one of {', '.join(PRESETS + (PATH_PRESET,))}; got {preset!r}")
    src = load_source(kind, upload, example, last, data_dir, start, end)
    r_start, r_end = _int_or_none(range_start, "range start"), _int_or_none(range_end, "range end")
    if preset == "frames" and not r_start and not r_end:
        r_start = r_end = None  # 0..0: no range given
    return make_edit(preset, src, keep=_int_or_none(keep, "keep", True), frames=_int_or_none(frames, "output frames", True),
                     start=r_start, end=r_end)


def edit_pair(backend, spec, prompt: str, seed: int, guidance: float, steps: int, name_a: str, name_b: str,
              session: str | None = None) -> list[SideResult]:
    """Edit with checkpoints A and B from the same initial noise (two parallel threads on CPU)."""
    import torch

    pipe_a, pipe_b = backend.pipeline(name_a, session), backend.pipeline(name_b, session)
    for pipe in (pipe_a, pipe_b):
        if pipe.latent or pipe.feature_dim != 263:
            raise ValueError("editing needs frame-space HumanML3D models (263 features per frame); "
                             "latent and few-step models cannot edit")
        if prompt:
            pipe.encode([prompt])  # fill the shared text cache before the threads read it
    noise = pipe_a.takes_noise([spec.frames], [seed])

    def one(side, name, pipe):
        with backend._sampling(), torch.inference_mode():
            res = pipe.edit(spec, prompt, seed=seed, guidance=guidance, steps=steps, init_noise=noise.clone())
        return SideResult(side, name, np.asarray(res.joints[0], np.float32), np.asarray(res.features[0], np.float32),
                          world=world_of(getattr(pipe, "meta", None)))

    return _both(lambda: one("A", name_a, pipe_a), lambda: one("B", name_b, pipe_b))


def compose_pair(backend, segments, seed: int, guidance: float, steps: int, name_a: str, name_b: str,
                 session: str | None = None) -> tuple[list[SideResult], list]:
    """A timeline with checkpoints A and B (each window's noise comes from the seed: shared)."""
    import torch

    pipe_a, pipe_b = backend.pipeline(name_a, session), backend.pipeline(name_b, session)
    for pipe in (pipe_a, pipe_b):
        pipe.encode([p for p, _ in segments])
    results = {}

    def one(side, name, pipe):
        with backend._sampling(), torch.inference_mode():
            res = pipe.compose(segments, seed=seed, guidance=guidance, steps=steps)
        results[side] = res
        return SideResult(side, name, np.asarray(res.joints, np.float32), np.asarray(res.features, np.float32),
                          world=world_of(getattr(pipe, "meta", None)))

    sides = _both(lambda: one("A", name_a, pipe_a), lambda: one("B", name_b, pipe_b))
    return sides, results["A"].segments


def takes(backend, prompt: str, seconds: float, seed: int, n: int, guidance: float, steps: int, name: str,
          session: str | None = None):
    """n takes of one prompt with one checkpoint, batched: a GenerationResult."""
    import torch

    from easytune_core.edit.takes import check_repetitions

    try:  # numbers given as text count too: the app's own cap, then the library's checks
        asked = float(n) if not isinstance(n, bool) else None
    except (TypeError, ValueError):
        asked = None
    if asked is not None and math.isfinite(asked) and asked > MAX_APP_TAKES:
        raise ValueError(f"{asked:g} takes asked for: the app makes at most {MAX_APP_TAKES} per request "
                         f"(the library and `sample --repetitions` up to 16)")
    n = check_repetitions(n)
    pipe = backend.pipeline(name, session)
    with backend._sampling(), torch.inference_mode():
        return pipe.takes(prompt, n, seconds=seconds, seed=seed, guidance=guidance, steps=steps)  # the model's own fps


def score_takes(backend, prompt: str, result, name: str, session: str | None = None):
    """Each take's reward and evaluator matching distance, scored like the Compare tab's sides (the
    world's reward and evaluator); None for a score whose model is missing or when scoring fails."""
    pipe = backend.pipeline(name, session)
    sides = [SideResult("A", name, None, np.asarray(result.features[b, :m], np.float32),
                        world=world_of(getattr(pipe, "meta", None)))
             for b, m in enumerate(result.lengths)]
    backend.score(prompt, sides)
    return [s.reward for s in sides], [s.matching_distance for s in sides]


def export_takes(result, folder: Path) -> dict:
    """One GLB with every take side by side (labelled 1..n) and per take its joints and features."""
    from easytune_core.render.glb import write_glb

    folder = Path(folder)
    joints = [np.asarray(result.joints[b, :n], np.float32) for b, n in enumerate(result.lengths)]
    glb = folder / "takes.glb"
    write_glb(glb, joints, fps=float(getattr(result, "fps", FPS)), labels=[str(k + 1) for k in range(len(joints))])
    files = []
    for k, (j, n) in enumerate(zip(joints, result.lengths)):
        jp, fp = folder / f"take{k + 1}_joints.npy", folder / f"take{k + 1}_features.npy"
        np.save(jp, j)
        np.save(fp, np.asarray(result.features[k, :n], np.float32))
        files += [jp, fp]
    return {"glb": glb, "files": files}
