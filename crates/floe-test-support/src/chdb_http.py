"""ClickHouse 26 in process (chdb-core), behind the part of ClickHouse's
HTTP interface that floe uses, for the tests: floe's own client, shipper
and `floe report --clickhouse` talk to it as to a server.

    python3 chdb_http.py DATA_DIR PORT_FILE

POST / with the statement as the body runs it (TabSeparated unless the
statement says otherwise); POST /?query=INSERT ... FORMAT RowBinary with
the rows as the body (gzip when Content-Encoding says so, ClickHouse's
LZ4 blocks when the URL says decompress=1) loads them
(chdb reads them FROM INFILE). Errors are HTTP 500 with ClickHouse's
message, as a server gives them. Listens on 127.0.0.1, one request at a
time (a chdb session is not used by two threads at once); writes its port to
PORT_FILE once it listens.
"""

import gzip
import os
import sys
import tempfile
import urllib.parse
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from chdb import session

DATA, PORT_FILE = sys.argv[1], sys.argv[2]
SESSION = session.Session(DATA)
# Connections are served on threads of their own (clients keep them
# open), queries one at a time.
LOCK = threading.Lock()


def lz4_length(n, src, i):
    """A token's length `n`, continued by bytes from src[i] while it is
    15 and they are 255: the length and where the reading stopped."""
    if n == 15:
        while True:
            b = src[i]
            i += 1
            n += b
            if b != 255:
                break
    return n, i


def lz4_block(src, size):
    """One LZ4 block (no frame) of `size` bytes once decoded."""
    out = bytearray()
    i, n = 0, len(src)
    while i < n:
        token = src[i]
        lit, i = lz4_length(token >> 4, src, i + 1)
        out += src[i:i + lit]
        i += lit
        if i >= n:
            break
        off = src[i] | src[i + 1] << 8
        i += 2
        ml, i = lz4_length(token & 15, src, i)
        ml += 4
        start = len(out) - off
        if off <= 0 or start < 0:
            raise ValueError("LZ4 match before the start of the block")
        if off >= ml:
            out += out[start:start + ml]
        else:
            pattern = bytes(out[start:])
            out += (pattern * (ml // off + 1))[:ml]
    if len(out) != size:
        raise ValueError("LZ4 block of %d bytes, not %d" % (len(out), size))
    return bytes(out)


def clickhouse_blocks(body):
    """ClickHouse's compressed blocks (16-byte checksum, method 0x82,
    sizes, LZ4), as a server reads them with decompress=1 (the checksum is
    the real server's to check: the shipping tests run against one)."""
    out, i = [], 0
    while i < len(body):
        method = body[i + 16]
        size = int.from_bytes(body[i + 17:i + 21], "little")
        raw = int.from_bytes(body[i + 21:i + 25], "little")
        if method != 0x82:
            raise ValueError("compression method %#x, not LZ4" % method)
        out.append(lz4_block(body[i + 25:i + 16 + size], raw))
        i += 16 + size
    return b"".join(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/tab-separated-values; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/ping"):
            self.reply(200, b"Ok.\n")
        else:
            self.reply(404, b"floe's chdb shim serves POST / and /ping\n")

    def do_POST(self):
        params = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if params.get("decompress", ["0"])[0] == "1":
            try:
                body = clickhouse_blocks(body)
            except (ValueError, IndexError) as e:
                self.reply(500, ("Code: 271. DB::Exception: cannot decompress: %s\n" % e).encode())
                return
        query = params.get("query", [None])[0]
        with LOCK:
            self.run(query, body)

    def run(self, query, body):
        try:
            if query is not None:
                fd, path = tempfile.mkstemp(suffix=".rowbinary", dir=DATA)
                with os.fdopen(fd, "wb") as f:
                    f.write(body)
                try:
                    stmt = query.replace(
                        "FORMAT RowBinary", "FROM INFILE '%s' FORMAT RowBinary" % path
                    )
                    SESSION.query(stmt)
                finally:
                    os.unlink(path)
                out = b""
            else:
                res = SESSION.query(body.decode("utf-8"), "TabSeparated")
                out = res.bytes() if res is not None else b""
            self.reply(200, out)
        except Exception as e:  # ClickHouse's message, as a server sends it
            self.reply(500, str(e).encode("utf-8", "replace"))


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.daemon_threads = True
server.serve_forever()
