"""The drawing page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
draw a digit, submit, see the prediction and its ten bars; the page fits a phone screen."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import unused_port
from serve_fixtures import model_dir, served  # noqa: F401 (fixtures)

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.usefixtures("needs_chromium")


@pytest.fixture
def server_url(served):
    from werkzeug.serving import make_server

    from dltp.serve.app import create_app

    server = make_server("127.0.0.1", unused_port(), create_app(served), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


def draw(page, strokes):
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        (x0, y0), rest = stroke[0], stroke[1:]
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


def test_draw_a_digit_and_see_the_prediction(server_url, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server_url)
            page.click("#predict")  # nothing drawn yet: a message, no request
            assert "Draw a digit first" in page.inner_text("#status")

            # A "7": a top bar and a diagonal stroke, in canvas fractions.
            draw(page, [[(0.3, 0.25), (0.7, 0.25)], [(0.7, 0.25), (0.45, 0.8)]])
            with page.expect_response(lambda r: r.url.endswith("/predict")) as answer:
                page.click("#predict")
            assert answer.value.status == 200
            page.wait_for_function("document.getElementById('digit').textContent.length > 0")
            predicted = page.inner_text("#digit")
            assert predicted.isdigit() and 0 <= int(predicted) <= 9
            assert page.locator(".bar").count() == 10
            widths = [float(w.rstrip("%")) for w in page.locator(".bar .fill").evaluate_all(
                "els => els.map(e => e.style.width)")]
            assert abs(sum(widths) - 100) < 1.5 and max(widths) == widths[int(predicted)]
            assert page.locator(".bar.top").get_attribute("data-digit") == predicted
            page.screenshot(path=str(tmp_path / "drawing-page.png"), full_page=True)
            assert (tmp_path / "drawing-page.png").stat().st_size > 1000

            page.click("#clear")
            assert page.inner_text("#digit") == ""
            assert not errors, errors

            # A phone screen with touch: the pad fits the width, and a finger can draw.
            phone = browser.new_page(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
            phone.goto(server_url)
            box = phone.locator("#pad").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            draw(phone, [[(0.5, 0.2), (0.5, 0.8)]])  # a "1"
            phone.click("#predict")
            phone.wait_for_function("document.getElementById('digit').textContent.length > 0")
            phone.screenshot(path=str(tmp_path / "drawing-page-phone.png"), full_page=True)
            assert (tmp_path / "drawing-page-phone.png").exists()
        finally:
            browser.close()
