"""The README's edit and timeline pictures: frames rendered by the project's renderer into PNG strips.

    .venv/bin/python scripts/edit_figures.py      # docs/edit_inbetween.png, docs/edit_timeline.png

An in-between edit of a generated walk (the first and last 1.5 s kept, "a person jumps" in between), next
to the source, and a 30 s timeline of seven prompts, both with the shipped base model (seed 0, 50 steps).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the 30 s timeline of benchmarks/edit.py
TIMELINE_30 = [("a person walks forward", 6), ("a person turns left", 3), ("a person jumps", 4),
               ("a person walks backward", 5), ("a person waves with the right hand", 4),
               ("a person turns around", 4), ("a person sits down", 4)]


def frames_of(mp4: Path, picks: list[int]) -> list[np.ndarray]:
    import imageio.v2 as imageio

    reader = imageio.get_reader(str(mp4))
    out = {}
    for i, frame in enumerate(reader):
        if i in picks:
            out[i] = frame
    reader.close()
    return [out[i] for i in picks]


def strip(images: list[np.ndarray], captions: list[str], path: Path, width: int = 1600) -> None:
    """Images side by side with a caption under each, scaled to ``width`` pixels, saved as a small PNG."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = images[0].shape[:2]
    bar = 30
    canvas = Image.new("RGB", (w * len(images), h + bar), (255, 255, 255))
    d = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 15)
    except OSError:
        font = ImageFont.load_default()
    for k, (img, cap) in enumerate(zip(images, captions)):
        canvas.paste(Image.fromarray(img[..., :3]), (k * w, 0))
        d.text((k * w + 6, h + 6), cap, fill=(30, 30, 30), font=font)
    scale = width / canvas.width
    canvas = canvas.resize((width, int(canvas.height * scale)), Image.LANCZOS)
    canvas = canvas.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path, optimize=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from easytune_core.edit import make_edit
    from easytune_core.pipeline import MotionPipeline
    from easytune_core.render.video import render_video

    out = Path(args.out)
    pipe = MotionPipeline.from_checkpoint(ROOT / "assets/checkpoints/base")
    src = pipe.generate("a person walks forward", seconds=6, seed=3, steps=50)
    spec = make_edit("in-between", src.features[0], keep=30)
    res = pipe.edit(spec, "a person jumps", seed=0, steps=50)
    with tempfile.TemporaryDirectory() as tmp:
        mp4 = Path(tmp) / "edit.mp4"
        render_video(mp4, [src.joints[0], res.joints[0]], labels=["source", "edited"], size=(256, 256))
        picks = [10, 29, 45, 60, 75, 90, 110]
        images = frames_of(mp4, picks)
        caps = [f"{p / 20:.1f} s" + (" kept" if p < 30 or p >= 90 else " new") for p in picks]
        strip(images, caps, out / "edit_inbetween.png", width=1600)

        tl = pipe.compose(TIMELINE_30, seed=0, steps=50)
        mp4 = Path(tmp) / "timeline.mp4"
        render_video(mp4, [tl.joints], labels=["30 s timeline"], size=(224, 224))
        picks, caps = [], []
        for seg in tl.segments:
            for frac in (0.25, 0.85):
                picks.append(int(seg["start"] + frac * (seg["end"] - seg["start"])))
                caps.append(seg["prompt"].replace("a person ", "")[:16] if frac < 0.5 else f"{picks[-1] / 20:.0f} s")
        strip(frames_of(mp4, picks), caps, out / "edit_timeline.png", width=1800)
    for name in ("edit_inbetween.png", "edit_timeline.png"):
        print(out / name, f"{(out / name).stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
