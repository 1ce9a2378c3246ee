#!/usr/bin/env python3
"""Looks at an HTML page as its readers would, in headless Chromium.

page_check.py PAGE OUTDIR NAME VIEW...

Each VIEW is WIDTH (a screen that wide: a phone below 600 px, with
mobile emulation) or print:WIDTH (print media, the width of an A4 page's
printable area). For each, the page is loaded at that width through the
DevTools protocol (over --remote-debugging-pipe: Python's standard
library only, no browser download; --window-size cannot go below 500 px
in headless Chromium, device emulation can), measured, and screenshot
whole as OUTDIR/NAME-VIEW.png. Prints one JSON object per view:

  width          the viewport's width
  scroll_width   the document's width (wider than the viewport: it scrolls
                 sideways)
  overflow       up to 5 elements reaching past the viewport's right edge
  min_font       the smallest computed font size of any visible text, px,
                 with the element holding it (min_font_at)
  charts         every .chart (SVG or image): its rendered width, height,
                 and for an image whether it loaded
  bars           bar cells (table.b td.f) drawn, and the widest's width
  height         the document's height
"""

import base64
import json
import os
import shutil
import sys
import tempfile

PROBE = r"""
(() => {
  const vw = window.innerWidth;
  const de = document.documentElement;
  let min = 1e9, at = '';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode;
    if (!t.textContent.trim()) continue;
    const el = t.parentElement;
    if (!el || el.closest('svg, title, style, script')) continue;
    if (!el.getClientRects().length) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility !== 'visible') continue;
    const fs = parseFloat(cs.fontSize);
    if (fs < min) { min = fs; at = el.tagName.toLowerCase() + '.' + el.className + ': ' + t.textContent.trim().slice(0, 40); }
  }
  const overflow = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > vw + 1 && overflow.length < 5) {
      overflow.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right));
    }
  }
  const charts = [...document.querySelectorAll('.chart')].map(c => {
    const r = c.getBoundingClientRect();
    return {tag: c.tagName.toLowerCase(), width: Math.round(r.width), height: Math.round(r.height),
            loaded: c.tagName === 'IMG' ? (c.complete && c.naturalWidth > 0) : true};
  });
  const fills = [...document.querySelectorAll('table.b td.f')];
  return JSON.stringify({
    width: vw, scroll_width: Math.max(de.scrollWidth, document.body.scrollWidth),
    overflow, min_font: min, min_font_at: at, charts,
    bars: {count: fills.length, widest: Math.round(Math.max(0, ...fills.map(f => f.getBoundingClientRect().width)))},
    height: Math.max(de.scrollHeight, document.body.scrollHeight),
  });
})()
"""


class Browser:
    """Chromium driven over the DevTools protocol on fds 3 and 4."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="floe-page-check-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                a, b = os.dup(to_child_r), os.dup(from_child_w)
                os.dup2(a, 3)
                os.dup2(b, 4)
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 1)
                os.dup2(null, 2)
                os.execvp("chromium", [
                    "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                    "--hide-scrollbars", "--no-first-run", "--remote-debugging-pipe",
                    "--user-data-dir=" + self.profile,
                    "about:blank"])
            finally:
                os._exit(127)
        self.pid = pid
        os.close(to_child_r)
        os.close(from_child_w)
        self.w = to_child_w
        self.r = from_child_r
        self.n = 0
        self.buf = b""
        self.events = []

    def recv(self):
        while b"\0" not in self.buf:
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium went away (is it installed? scripts/test installs it)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self.recv()
            if m.get("id") == self.n:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait(self, name, session):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == name and m.get("sessionId") == session:
                    del self.events[i]
                    return m
            self.events.append(self.recv())

    def close(self):
        try:
            self.call("Browser.close")
        except RuntimeError:
            pass
        os.waitpid(self.pid, 0)
        shutil.rmtree(self.profile, ignore_errors=True)


def look(b, page, view):
    printing = view.startswith("print:")
    width = int(view.split(":")[-1])
    target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    b.call("Page.enable", session=s)
    b.call("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": 900, "deviceScaleFactor": 1,
        "mobile": width < 600 and not printing}, session=s)
    if printing:
        b.call("Emulation.setEmulatedMedia", {"media": "print"}, session=s)
    b.call("Page.navigate", {"url": "file://" + os.path.abspath(page)}, session=s)
    b.wait("Page.loadEventFired", s)
    r = b.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=s)
    out = json.loads(r["result"]["value"])
    shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                              "clip": {"x": 0, "y": 0, "width": width,
                                                       "height": min(out["height"], 16000),
                                                       "scale": 1}}, session=s)
    out["view"] = view
    out["screenshot"] = shot_path = os.path.join(OUT, f"{NAME}-{view.replace(':', '-')}.png")
    with open(shot_path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    b.call("Target.closeTarget", {"targetId": target})
    return out


if __name__ == "__main__":
    page, OUT, NAME = sys.argv[1:4]
    os.makedirs(OUT, exist_ok=True)
    browser = Browser()
    try:
        for v in sys.argv[4:]:
            print(json.dumps(look(browser, page, v)), flush=True)
    finally:
        browser.close()
