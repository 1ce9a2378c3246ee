"""What the browser scripts share: watching a page for errors, and waiting
for a condition without the evaluated strings the pages' content security
policy forbids (Playwright's wait_for_function)."""

import time


def watch(page, name, errors):
    """Appends to `errors` a page's console errors, uncaught exceptions,
    failed requests and responses of 400 or more."""

    def console(msg):
        if msg.type == "error":
            errors.append(f"{name}: console: {msg.text}")

    def response(res):
        if res.status >= 400:
            errors.append(f"{name}: {res.status} {res.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(f"{name}: page error: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"{name}: failed: {r.url}"))
    page.on("response", response)


def until(cond, seconds):
    """Whether cond() holds within that many seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.2)
    return False
