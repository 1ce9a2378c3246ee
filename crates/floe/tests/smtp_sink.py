#!/usr/bin/env python3
"""A real SMTP server on 127.0.0.1 for floe's mail tests (aiosmtpd).

serve DIR [--tls CERT KEY] [--auth USER:PASSWORD]
    Listens on a free loopback port, prints the port on stdout, and stores
    every message it accepts as DIR/N.json: the envelope (sender,
    recipients), whether the session was under TLS, the user that logged in,
    and the message parsed with Python's email package (headers, the MIME
    tree as content types, and each part's content type, content id,
    disposition and decoded text, or its bytes in base64). With --tls,
    STARTTLS is required; with --auth, logging in is.
"""

import argparse
import base64
import email
import email.policy
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def parsed(raw):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        p = {
            "content_type": part.get_content_type(),
            "content_id": part.get("content-id"),
            "disposition": part.get_content_disposition(),
        }
        content = part.get_content()
        if isinstance(content, bytes):
            p["base64"] = base64.b64encode(content).decode()
        else:
            p["text"] = content
        parts.append(p)
    return {
        "headers": {k.lower(): str(v) for k, v in msg.items()},
        "content_type": msg.get_content_type(),
        "structure": structure(msg),
        "parts": parts,
    }


def structure(part):
    """The MIME tree as content types: multipart/alternative(text/plain,
    multipart/related(text/html, image/png))."""
    if part.is_multipart():
        inner = ", ".join(structure(p) for p in part.iter_parts())
        return f"{part.get_content_type()}({inner})"
    return part.get_content_type()


class Store:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": session.auth_data,
            "message": parsed(envelope.original_content or envelope.content),
        }
        path = os.path.join(self.directory, f"{self.count}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["serve"])
    ap.add_argument("dir")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--auth", metavar="USER:PASSWORD")
    a = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kwargs = {}
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        kwargs.update(tls_context=ctx, require_starttls=True)
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, data):
            ok = (
                isinstance(data, LoginPassword)
                and data.login.decode() == user
                and data.password.decode() == password
            )
            # handled=False: aiosmtpd answers 535 itself (True means "already answered").
            return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=bool(a.tls)
        )
    controller = Controller(
        Store(a.dir), hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs
    )
    controller.start()
    print(port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
