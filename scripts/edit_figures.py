"""The README's edit and timeline pictures: frames rendered by the project's renderer into PNG strips.

    .venv/bin/python scripts/edit_figures.py      # docs/edit_inbetween.png, docs/edit_timeline.png

An in-between edit of a generated walk (the first and last second kept, "a person jumps" in between), next
to the source, and a 30 s timeline of seven prompts, both with the shipped base model (50 steps). The edit
uses seed 1, the first of seeds 0-7 whose regenerated middle passes the jump rule check; 5 of the 8 do
(benchmarks/edit.py, "follow"). The timeline uses seed 0.
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


def grid(rows: list[list[np.ndarray]], captions: list[str], row_labels: list[str], path: Path,
         width: int = 1600, crop_top: int = 30) -> None:
    """Rows of frames (the renderer's label bar cropped off) with a caption under each column and a label
    at the start of each row, scaled to ``width`` pixels and saved as a small palette PNG."""
    from PIL import Image, ImageDraw, ImageFont

    h, w = rows[0][0].shape[0] - crop_top, rows[0][0].shape[1]
    cap, left = 26, 110 if any(row_labels) else 0
    canvas = Image.new("RGB", (left + w * len(rows[0]), (h + 2) * len(rows) + cap), (255, 255, 255))
    d = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 17)
    except OSError:
        font = ImageFont.load_default()
    for r, (row, label) in enumerate(zip(rows, row_labels)):
        y = r * (h + 2)
        for k, img in enumerate(row):
            canvas.paste(Image.fromarray(img[crop_top:, :, :3]), (left + k * w, y))
        d.text((8, y + h // 2 - 10), label, fill=(30, 30, 30), font=font)
    for k, text in enumerate(captions):
        d.text((left + k * w + 6, (h + 2) * len(rows) + 4), text, fill=(30, 30, 30), font=font)
    scale = width / canvas.width
    canvas = canvas.resize((width, int(canvas.height * scale)), Image.LANCZOS)
    canvas = canvas.quantize(colors=64, method=Image.Quantize.MEDIANCUT)
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
    spec = make_edit("in-between", src.features[0], keep=20)
    res = pipe.edit(spec, "a person jumps", seed=1, steps=50)
    middle = res.joints[0][20:100, 0, 1]
    top = 20 + int(middle.argmax())  # the highest pelvis of the regenerated part: the jump
    picks = sorted({10, 19, top - 8, top, top + 8, 100, 112})
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for name, joints, color in (("source", src.joints[0], "#e6731f"), ("edited", res.joints[0], "#3b73d9")):
            mp4 = Path(tmp) / f"{name}.mp4"
            render_video(mp4, [joints], labels=[name], colors=[color], size=(256, 256))
            rows.append(frames_of(mp4, picks))
        caps = [f"{p / 20:.1f} s" + (" (kept)" if p < 20 or p >= 100 else "") for p in picks]
        grid(rows, caps, ["source", "edited"], out / "edit_inbetween.png", width=1200)

        tl = pipe.compose(TIMELINE_30, seed=0, steps=50)
        mp4 = Path(tmp) / "timeline.mp4"
        render_video(mp4, [tl.joints], labels=["timeline"], size=(256, 256))
        picks, caps = [], []
        for seg in tl.segments:
            picks.append(int(seg["start"] + 0.7 * (seg["end"] - seg["start"])))
            caps.append(f"{picks[-1] / 20:.0f} s " + seg["prompt"].replace("a person ", "").replace(" with the right hand", ""))
        grid([frames_of(mp4, picks)], caps, [""], out / "edit_timeline.png", width=1200)
    for name in ("edit_inbetween.png", "edit_timeline.png"):
        print(out / name, f"{(out / name).stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
