"""Retake the console screenshots the README shows (docs/console-*.png): the demo loaded
into a scratch store, served on a loopback port, each page opened in the system Chromium
as the person who uses it, saved as a small palette PNG.

    .venv/bin/python docs/screenshots.py        # needs the test extra (Playwright)
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent)]

from browser import chromium, offline_page  # noqa: E402
from console_pages import ConsolePage, console_site  # noqa: E402

#: (file, person, page (None: Tom's first key result), the part of the page to show).
SHOTS = (
    ("console-monday.png", "priya", "/console", "#tree-h"),
    ("console-key-result.png", "tom", None, "#requests-heading"),
    ("console-audit.png", "marcus", "/console/audit?actor=tom", "table"),
)
VIEWPORT = {"width": 1200, "height": 760}


def _tom_key_result(console: ConsolePage) -> str:
    """Tom's first key result in the current cycle, from his My work page."""
    console.goto("/console/mine")
    link = console.page.locator("a[href^='/console/key-results/']").first
    return str(link.get_attribute("href"))


def main() -> None:
    with console_site() as site, chromium() as browser:
        for name, person, path, shown in SHOTS:
            with offline_page(browser, site.base) as offline:
                offline.page.set_viewport_size(VIEWPORT)
                console = ConsolePage(site, offline)
                console.sign_in_as(person)
                console.goto(path or _tom_key_result(console))
                part = console.page.locator(shown).first
                part.wait_for()
                console.page.evaluate("window.scrollTo(0, 0)")
                top = part.bounding_box() or {"y": 0}
                console.page.evaluate(f"window.scrollTo(0, {max(0, top['y'] - 8)})")
                target = HERE / name
                console.page.screenshot(path=str(target))
                small = Image.open(target).convert("RGB").quantize(colors=64)
                small.save(target, optimize=True)
                print(f"{target.relative_to(HERE.parent)}: {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
