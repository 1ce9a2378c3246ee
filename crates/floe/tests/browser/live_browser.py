"""floe web's live page in a real browser: Debian's Chromium
(/usr/bin/chromium, never a downloaded one), headless, driven by Playwright.

Run by crates/floe/tests/web_browser.rs, which starts floed and `floe web`
on its store and passes, as one JSON argument, the server's URL and a
directory for the screenshot. Opens /live and waits for the first
snapshot: the rates, and the line saying since when floed counts the
talkers (the page's first look starts them). Prints "ready" on a line of
its own; the test then sends flows to floed. Waits for the sources to be
listed, takes a screenshot, and prints one JSON object (what it saw,
console errors); exits 1 with the reason when the page does not do what
it should.
"""

import json
import sys

from playwright.sync_api import sync_playwright

import pages

ARGS = json.loads(sys.argv[1])
report = {"shots": [], "errors": [], "saw": {}}


def fail(why):
    report["failed"] = why
    print(json.dumps(report), flush=True)
    sys.exit(1)


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=ARGS["chromium"], headless=True)
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    pages.watch(page, "live", report["errors"])
    page.goto(ARGS["url"] + "/live")
    # Polled from here: the page's policy forbids the evaluated strings
    # wait_for_function would run.
    if not pages.until(lambda: "bit/s" in page.inner_text("#live .status")
                       and page.inner_text("#live .since").startswith("Sources counted since"), 20):
        fail("no first snapshot with its since line: " + page.inner_text("#live"))
    report["saw"]["since"] = page.inner_text("#live .since")
    report["saw"]["rows_before"] = page.locator("#live tbody tr").count()
    print("ready", flush=True)
    if not pages.until(lambda: page.locator("#live tbody tr").count() >= 5, 30):
        fail("the sources never came: " + page.inner_text("#live"))
    report["saw"]["status"] = page.inner_text("#live .status")
    report["saw"]["rows"] = [
        [td.inner_text() for td in r.locator("td").all()] for r in page.locator("#live tbody tr").all()
    ]
    path = f"{ARGS['out']}/live-desktop.png"
    page.screenshot(path=path)
    report["shots"].append({"file": path, "name": "live-desktop", "width": 1280, "height": 800})
    browser.close()

print(json.dumps(report), flush=True)
