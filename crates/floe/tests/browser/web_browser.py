"""floe web in a real browser: Debian's Chromium (/usr/bin/chromium, never a
downloaded one), headless, driven by Playwright.

Run by crates/floe/tests/web_browser.rs, which starts `floe web` over a
store of generated flows and passes, as one JSON argument, the server's
URL, a directory for screenshots and what the pages must show (computed
from the same flows). Loads the graph, changes the key, clicks a series in
the chart, sees its details, drills down, opens a host's month, at desktop
and phone widths. Prints one JSON object (screenshots with the chart's box,
console errors, what it saw); exits 1 with the reason when a page does not
do what it should.
"""

import json
import sys
import urllib.parse

from playwright.sync_api import sync_playwright

import pages

ARGS = json.loads(sys.argv[1])
BASE = ARGS["url"]
OUT = ARGS["out"]
CHROMIUM = ARGS.get("chromium", "/usr/bin/chromium")

report = {"shots": [], "errors": [], "saw": {}}


def fail(why):
    report["failed"] = why
    print(json.dumps(report))
    sys.exit(1)


def check(cond, why):
    if not cond:
        fail(why)


def watch(page, name):
    pages.watch(page, name, report["errors"])


def graph_url(**params):
    q = {"from": ARGS["from"], "to": ARGS["to"], "interval": "10m"}
    q.update(params)
    return BASE + "/graph?" + urllib.parse.urlencode(q)


def drawn(page):
    """Waits for the chart, returns its canvas' box."""
    page.wait_for_selector("#chart[data-drawn=yes]", timeout=30000)
    page.wait_for_selector("#chart[data-y-min]", timeout=30000)
    y_min = page.get_attribute("#chart", "data-y-min")
    check(y_min == "0", f"the y axis starts at {y_min}, not 0")
    canvas = page.locator("#chart canvas").first
    box = canvas.bounding_box()
    check(box is not None and box["width"] > 0 and box["height"] > 0, f"no chart canvas: {box}")
    return box


def series(page):
    """The labels of the table's series, in order."""
    return [a.inner_text() for a in page.locator("table.series a[data-series]").all()]


def shot(page, name, box=None):
    path = f"{OUT}/{name}.png"
    page.screenshot(path=path)
    vp = page.viewport_size
    report["shots"].append({"file": path, "name": name, "width": vp["width"],
                            "height": vp["height"], "chart": box})


def no_sideways_scroll(page, name):
    w = page.evaluate("document.documentElement.scrollWidth")
    vw = page.viewport_size["width"]
    check(w <= vw + 1, f"{name}: the page is {w} px wide in a {vw} px window")


with sync_playwright() as p:
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)

    # --- desktop ------------------------------------------------------
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    page = ctx.new_page()
    watch(page, "desktop")
    page.goto(graph_url())
    box = drawn(page)
    labels = series(page)
    check(labels == ARGS["top_src"], f"graph by source: {labels}")
    check("source addresses" in page.title(), f"title: {page.title()}")
    report["saw"]["sources"] = labels
    shot(page, "graph-desktop", box)

    # The key changed in the form: the chart and the table follow.
    page.select_option("select[name=key]", "ip-destination-port")
    with page.expect_navigation():
        page.click("form.q button[type=submit]")
    check("key=ip-destination-port" in page.url, f"url: {page.url}")
    drawn(page)
    labels = series(page)
    check(labels == ARGS["top_port"], f"graph by port: {labels}")
    check("destination ports" in page.title(), f"title: {page.title()}")
    report["saw"]["ports"] = labels

    # The lines view draws too, and the arrows step a period back.
    page.goto(graph_url(view="lines"))
    drawn(page)
    check(page.input_value("select[name=view]") == "lines", "view")
    with page.expect_navigation():
        page.click("text=◀ earlier")
    drawn(page)
    check(page.input_value("input[name=to]") == ARGS["from"], f"earlier: {page.url}")
    check(series(page) == [], f"nothing before the store: {series(page)}")

    # A click on a series in the chart opens its details: the bottom of
    # the stack is the first series.
    page.goto(graph_url())
    drawn(page)
    over = page.locator("#chart .u-over").first
    ob = over.bounding_box()
    check(ob is not None, "no chart overlay")
    x, y = ob["x"] + ob["width"] / 2, ob["y"] + ob["height"] - 3
    page.mouse.move(x, y)
    with page.expect_navigation():
        page.mouse.click(x, y)
    check("/details?" in page.url, f"a click on the chart went to {page.url}")
    top = ARGS["top_src"][0]
    check(top in page.title(), f"details of {top}? {page.title()}")
    peers = page.locator("section", has=page.locator("h2", has_text="Peers it sent to"))
    peer_text = peers.inner_text()
    check(ARGS["top_src_peer"] in peer_text, f"peers of {top}: {peer_text}")
    ports = page.locator("section", has=page.locator("h2", has_text="Destination ports")).inner_text()
    check(ARGS["top_src_port"] in ports, f"ports of {top}: {ports}")
    report["saw"]["details"] = page.title()
    shot(page, "details-desktop")

    # Drill down: the series goes into the filter, and the graph shows it.
    with page.expect_navigation():
        page.click("a.button")
    drawn(page)
    f = page.input_value("input[name=filter]")
    check(f == f"src host {top}", f"drill-down filter: {f!r}")
    labels = series(page)
    check(labels == [ARGS["top_src_port"]], f"drilled-down graph: {labels}")
    report["saw"]["drilled"] = {"filter": f, "series": labels}

    # Also from the table: its first link opens the same details.
    page.goto(graph_url())
    drawn(page)
    with page.expect_navigation():
        page.click("table.series a[data-series='0']")
    check(top in page.title(), f"table link: {page.title()}")

    # A host's month, from the hosts of the network.
    page.goto(BASE + "/hosts?" + urllib.parse.urlencode({"net": ARGS["net"], "month": ARGS["month"]}))
    with page.expect_navigation():
        page.click(f"a:text-is('{top}')")
    check(page.title().startswith(f"{top} in {ARGS['month']}"), f"host page: {page.title()}")
    cells = page.locator("table.cal td.c").count()
    hot = page.evaluate("document.querySelectorAll('table.cal td.c:not(.c0)').length")
    check(cells > 0 and hot == ARGS["hot_cells"], f"calendar: {cells} cells, {hot} coloured")
    report["saw"]["host_cells"] = {"cells": cells, "coloured": hot}
    shot(page, "host-desktop")
    ctx.close()

    # --- phone ----------------------------------------------------------
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                              has_touch=True, device_scale_factor=1)
    page = ctx.new_page()
    watch(page, "phone")
    page.goto(graph_url())
    box = drawn(page)
    check(box["width"] <= 390, f"the chart is wider than the phone: {box}")
    no_sideways_scroll(page, "graph on a phone")
    shot(page, "graph-phone", box)
    page.goto(BASE + "/hosts/host?" + urllib.parse.urlencode(
        {"addr": top, "net": ARGS["net"], "month": ARGS["month"]}))
    no_sideways_scroll(page, "host month on a phone")
    shot(page, "host-phone")
    ctx.close()
    browser.close()

print(json.dumps(report))
