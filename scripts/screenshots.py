"""Screenshots of each tab for the README, taken in headless Chromium (Debian's /usr/bin/chromium via
Playwright) from the app running on the shipped checkpoints, with runs and outputs in a temp folder.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--tiny]

Writes compare.png, compare_everyday.png (when the everyday base is installed), finetune.png and
evaluate.png (palette PNGs, each kept under 300 KB)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # run as a script from anywhere: `app` and `tests.support` import from the checkout

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAX_BYTES = 300_000


def _save(page, path: Path, full_page: bool = True) -> int:
    """Screenshot, then shrink to a 256-colour palette PNG (UI colours are flat) under MAX_BYTES."""
    from PIL import Image

    raw = path.with_suffix(".raw.png")
    page.screenshot(path=str(raw), full_page=full_page)
    img = Image.open(raw).convert("RGB")
    for colors, scale in ((256, 1.0), (128, 1.0), (128, 0.8), (64, 0.7), (64, 0.5)):
        im = img if scale == 1.0 else img.resize((int(img.width * scale), int(img.height * scale)), Image.LANCZOS)
        im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if path.stat().st_size < MAX_BYTES:
            break
    raw.unlink()
    return path.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description="README screenshots of the app's tabs")
    ap.add_argument("--out", default=str(REPO_ROOT / "docs" / "screenshots"))
    ap.add_argument("--tiny", action="store_true", help="tiny random stand-in models (layout check only)")
    ap.add_argument("--assets", default=str(REPO_ROOT / "assets"), help="assets folder with checkpoints/")
    ap.add_argument("--prompt", default="a person walks forward and waves with the right hand")
    ap.add_argument("--everyday-example", type=int, default=2, help="which everyday example to show (0-based)")
    ap.add_argument("--finetune-seconds", type=float, default=25.0, help="how long to let the demo job run")
    args = ap.parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    from tests.support.app_server import serve

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="easytune_shots_"))
    assets = None if args.tiny else Path(args.assets)
    data = REPO_ROOT / "data" / "builtin"
    with serve(scratch, assets_dir=assets, data_dir=data) as (url, demo), sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(scratch / "profile"), executable_path=chromium, headless=True,
                                                   args=ARGS, viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(url)
        page.wait_for_selector("#generate", timeout=60_000)
        page.locator("#prompt textarea").fill(args.prompt)
        page.click("#generate")
        page.wait_for_selector("#view_b canvas", timeout=180_000)
        page.wait_for_function("document.querySelector('#scores').innerText.includes('(shipped)')", timeout=180_000)
        page.wait_for_timeout(2500)  # mid-animation
        print("compare.png", _save(page, out / "compare.png"))

        if page.locator("#everyday_examples").count():
            from app.compare import EVERYDAY_EXAMPLES

            page.locator("#everyday_examples").get_by_text(EVERYDAY_EXAMPLES[args.everyday_example], exact=True).click()
            page.wait_for_function("document.querySelector('#ckpt_a input').value.startsWith('everyday')", timeout=30_000)
            page.click("#generate")
            page.wait_for_function("document.querySelector('#scores').innerText.includes('everyday base')", timeout=180_000)
            page.wait_for_timeout(2500)
            print("compare_everyday.png", _save(page, out / "compare_everyday.png"))

        page.get_by_role("tab", name="Fine-tune").click()
        page.wait_for_selector("#ft_start")
        page.get_by_label("My prompts (one per line)").check()
        page.get_by_label("My prompts", exact=True).fill("a person walks forward\na person waves with the right hand\n"
                                                          "a person jumps up\na person turns left")
        page.get_by_label("Optimiser steps").fill("200")
        page.get_by_label("Run name (optional)").fill("readme-demo")
        page.click("#ft_start")
        page.wait_for_timeout(int(args.finetune_seconds * 1000))
        print("finetune.png", _save(page, out / "finetune.png"))
        page.click("#ft_cancel")
        page.wait_for_function("document.querySelector('#ft_status').innerText.includes('Saved as checkpoint')", timeout=120_000)

        page.get_by_role("tab", name="Evaluate").click()
        page.wait_for_selector("#eval_run")
        names = demo.easytune_backend.checkpoint_choices()
        target = "easytune (shipped)" if "easytune (shipped)" in names else "readme-demo"
        box = page.get_by_label("Checkpoint", exact=True)
        box.click()
        box.fill(target)
        box.press("Enter")
        page.get_by_label("Test captions (multiple of 32)").fill("32")
        page.get_by_label("Repeats").fill("1")
        page.click("#eval_run")
        page.wait_for_function("document.body.innerText.includes('DDIM steps; mean over repeats')", timeout=600_000)
        page.wait_for_timeout(500)
        print("evaluate.png", _save(page, out / "evaluate.png"))
        ctx.close()
    shutil.rmtree(scratch, ignore_errors=True)
    if errors:
        print("browser console errors:", *errors, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
