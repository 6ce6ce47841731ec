# SPDX-License-Identifier: GPL-2.0-or-later
"""A small WebSocket client (RFC 6455) written out by hand for the tests of interactive sessions: the
handshake with any headers a test wants (a bad token, a foreign Origin), masked frames from the
client, and the server's frames read back as (opcode, payload)."""

import base64
import hashlib
import json
import os
import select
import socket
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


class HandshakeRefused(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body!r}")
        self.status = status
        self.body = body


class WebSocket:
    def __init__(self, sock, rest):
        self.sock = sock
        self.buf = rest
        self.closed = None  # (code, reason) once the server's close frame came
        self.pending = b""  # terminal output read past what read_until() returned

    @classmethod
    def connect(cls, port, path, headers=None, timeout=30):
        """Opens path on 127.0.0.1:port; HandshakeRefused(status, body) when the server answers
        anything but 101 with the right Sec-WebSocket-Accept."""
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        for k, v in (headers or {}).items():
            head += f"{k}: {v}\r\n"
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        sock.sendall((head + "\r\n").encode())
        data = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in data and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        header, _, rest = data.partition(b"\r\n\r\n")
        lines = header.decode(errors="replace").split("\r\n")
        status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
        hdrs = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}
        if status != 101:
            n = int(hdrs.get("content-length", "0"))
            while len(rest) < n and time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                rest += chunk
            sock.close()
            raise HandshakeRefused(status, rest.decode(errors="replace"))
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if hdrs.get("sec-websocket-accept") != want:
            sock.close()
            raise HandshakeRefused(status, f"bad Sec-WebSocket-Accept {hdrs.get('sec-websocket-accept')}")
        return cls(sock, rest)

    def send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send_keys(self, text):
        self.send(BINARY, text.encode())

    def resize(self, cols, rows):
        self.send(TEXT, json.dumps({"resize": [cols, rows]}).encode())

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return False
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.buf += chunk
        return True

    def recv_frame(self, timeout):
        """(opcode, payload) of the next frame, or None when none came within timeout."""
        deadline = time.monotonic() + timeout
        if not self._fill(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            if not self._fill(4, deadline):
                return None
            n, off = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            if not self._fill(10, deadline):
                return None
            n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
        if b1 & 0x80:
            raise ValueError("the server masked a frame")
        if not self._fill(off + n, deadline):
            return None
        payload = self.buf[off:off + n]
        self.buf = self.buf[off + n:]
        opcode = b0 & 0x0F
        if opcode == CLOSE:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            self.closed = (code, payload[2:].decode(errors="replace"))
        return opcode, payload

    def read_until(self, needle, timeout=60):
        """Terminal output up to and including needle (bytes or str); what came after it stays for the
        next call. Fails on a close."""
        if isinstance(needle, str):
            needle = needle.encode()
        out, self.pending = self.pending, b""
        deadline = time.monotonic() + timeout
        while needle not in out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{needle!r} not seen within {timeout} s; got:\n"
                                   f"{out.decode(errors='replace')}")
            f = self.recv_frame(left)
            if f is None:
                continue
            if f[0] == BINARY:
                out += f[1]
            elif f[0] == CLOSE:
                raise EOFError(f"session closed {self.closed}; output:\n{out.decode(errors='replace')}")
        end = out.index(needle) + len(needle)
        self.pending = out[end:]
        return out[:end]

    def wait_closed(self, timeout):
        """Reads until the server's close frame (or the end of the connection); returns (code, reason)
        and the output read meanwhile."""
        out, self.pending = self.pending, b""
        deadline = time.monotonic() + timeout
        while self.closed is None and time.monotonic() < deadline:
            try:
                f = self.recv_frame(deadline - time.monotonic())
            except EOFError:
                break
            if f and f[0] == BINARY:
                out += f[1]
        return self.closed, out

    def close(self):
        try:
            self.send(CLOSE, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()
