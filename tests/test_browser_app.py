"""End to end in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright): the page
loads, Generate shows both 3D views and the scores, every tab opens, and the console stays clean."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page_and_logs(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (CI installs the Debian package 'chromium')")
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.support.app_server import serve

    root = tmp_path_factory.mktemp("browser")
    with serve(root, default_steps=5) as (url, demo), sync_api.sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(root / "profile"), executable_path=CHROMIUM, headless=True,
                                                   args=ARGS, viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        logs: list[str] = []
        page.on("console", lambda m: logs.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))
        page.goto(url, wait_until="load")
        page.wait_for_selector("#generate", timeout=30_000)
        yield page, logs
        ctx.close()


def test_page_loads_with_the_compare_controls(page_and_logs):
    page, logs = page_and_logs
    assert page.title() == "EasyTune Studio"
    assert page.locator("#generate").is_visible()
    assert page.locator("#prompt textarea").input_value().startswith("a person")
    assert logs == []


def test_generate_shows_both_3d_views_and_scores(page_and_logs):
    page, logs = page_and_logs
    page.click("#generate")
    page.wait_for_selector("#view_a canvas", timeout=60_000)
    page.wait_for_selector("#view_b canvas", timeout=60_000)
    page.wait_for_function("document.querySelector('#scores').innerText.includes('base (shipped)')",
                           timeout=60_000)
    page.wait_for_timeout(500)  # let the viewers draw a few frames of the animation
    for view in ("#view_a canvas", "#view_b canvas"):
        box = page.locator(view).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 200
    assert page.get_by_text("same noise").is_visible()
    assert logs == []


def test_fine_tune_job_draws_live_curves_and_evaluate_tab_opens(page_and_logs):
    page, logs = page_and_logs
    page.get_by_role("tab", name="Fine-tune").click()
    page.wait_for_selector("#ft_start", timeout=10_000)
    assert page.get_by_text("No fine-tuning job yet").is_visible()
    page.get_by_label("My prompts (one per line)").check()
    page.get_by_label("My prompts", exact=True).fill("a person walks forward\na person jumps")
    page.get_by_label("Optimiser steps").fill("5000")
    page.click("#ft_start")
    page.wait_for_function("/step \\d{2,} \\//.test(document.querySelector('#ft_status').innerText)", timeout=60_000)
    page.wait_for_timeout(1500)  # a few more timer ticks while it runs
    # Both series (per step and running mean) are drawn as visible lines in each plot, live.
    visible = "ps => ps.filter(p => (p.getAttribute('d') || '').length > 20 && getComputedStyle(p).stroke !== 'none').length"
    for plot in ("#ft_reward", "#ft_loss"):
        drawn = page.eval_on_selector_all(f"{plot} .mark-line path", visible)
        assert drawn >= 2, f"{plot}: {drawn} of 2 series drawn"
    page.click("#ft_cancel")
    page.wait_for_function("document.querySelector('#ft_status').innerText.includes('Saved as checkpoint')",
                           timeout=60_000)
    page.get_by_role("tab", name="Evaluate").click()
    page.wait_for_selector("#eval_run", timeout=10_000)
    page.get_by_role("tab", name="Compare").click()
    assert logs == []


def test_edit_tab_edits_the_last_motion_and_walks_a_drawn_path(page_and_logs):
    page, logs = page_and_logs
    page.get_by_role("tab", name="Compare").click()
    page.click("#generate")  # a motion of this session: the Edit tab's "last generated" source
    page.wait_for_function("document.querySelector('#scores').innerText.includes('base (shipped)')", timeout=60_000)
    page.get_by_role("tab", name="Edit").click()
    page.wait_for_selector("#edit_generate", timeout=10_000)
    page.wait_for_function("document.querySelector('#edit_source_note').innerText.includes('Last generated')",
                           timeout=10_000)
    page.click("#edit_generate")  # default: in-between of the last generated motion
    page.wait_for_function("document.querySelector('#edit_status').innerText.includes('in-between')", timeout=60_000)
    page.wait_for_selector("#edit_view_a canvas", timeout=60_000)
    page.wait_for_selector("#edit_view_b canvas", timeout=60_000)
    assert "kept" in page.locator("#edit_status").inner_text()
    # a root path instead: pick the preset, generate, and the top view shows the walked roots
    page.locator("#edit_preset input").click()
    page.get_by_role("option", name="path (draw a root path)").click()
    page.click("#edit_generate")
    page.wait_for_function("document.querySelector('#edit_status').innerText.includes('path:')", timeout=60_000)
    box = page.locator("#edit_path_image img").bounding_box()
    assert box and box["width"] > 100
    for view in ("#edit_view_a canvas", "#edit_view_b canvas"):
        box = page.locator(view).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 200
    assert logs == []


def test_a_prompt_of_actions_in_order_splits_into_a_timeline(page_and_logs):
    page, logs = page_and_logs
    page.get_by_role("tab", name="Compare").click()
    page.locator("#prompt textarea").fill("a person walks forward, then sits down")
    page.get_by_text("Timeline: several prompts in a row").click()
    page.click("#split_prompt")
    page.wait_for_function("document.querySelector('#timeline').innerText.includes('a person sits down')",
                           timeout=10_000)
    rows = page.locator("#timeline").inner_text()
    assert "a person walks forward" in rows and "a person turns left" not in rows
    page.click("#compose")
    page.wait_for_function("document.querySelector('#view_a') && document.body.innerText.includes('Timeline of 2 "
                           "segments')", timeout=90_000)
    assert "'a person sits down' frames" in page.locator("body").inner_text()
    assert logs == []
