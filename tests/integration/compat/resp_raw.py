"""A minimal raw RESP client for differential tests.

It sends commands as RESP arrays of bulk strings (or arbitrary raw bytes) and
returns each reply as the exact bytes the server wrote, so that encoding
differences (+OK vs $2 OK, :1 vs $1 1, _ vs $-1, ...) stay visible.
`parse` turns raw reply bytes into a tagged tree for the comparisons that are
deliberately looser than byte equality (unordered replies, TTL tolerance,
structure-only checks).
"""

import socket
import time


class ProtocolError(Exception):
    pass


class Incomplete(Exception):
    pass


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _line(buf, pos):
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete()
    return buf[pos:end], end + 2


# RESP2 + RESP3 type bytes whose payload is a single line.
_LINE_TYPES = b"+-:_,#("
# Types whose payload is a length-prefixed blob.
_BLOB_TYPES = b"$!="
# Aggregates: count of children (maps and attributes count pairs).
_AGG_TYPES = b"*~>%|"


def parse_at(buf, pos=0):
    """Parse one reply starting at pos; return (tree, end). Raises Incomplete."""
    if pos >= len(buf):
        raise Incomplete()
    t = buf[pos : pos + 1]
    line, nxt = _line(buf, pos + 1)
    if t in (b"+",):
        return ("simple", line), nxt
    if t == b"-":
        return ("error", line), nxt
    if t == b":":
        return ("int", int(line)), nxt
    if t == b"_":
        return ("null",), nxt
    if t == b",":
        return ("double", line), nxt
    if t == b"#":
        return ("bool", line), nxt
    if t == b"(":
        return ("bignum", line), nxt
    if t in (b"$", b"!", b"="):
        n = int(line)
        kind = {b"$": "bulk", b"!": "blob_error", b"=": "verbatim"}[t]
        if n < 0:
            return (kind, None), nxt
        if len(buf) < nxt + n + 2:
            raise Incomplete()
        return (kind, buf[nxt : nxt + n]), nxt + n + 2
    if t in (b"*", b"~", b">", b"%", b"|"):
        n = int(line)
        kind = {b"*": "array", b"~": "set", b">": "push", b"%": "map", b"|": "attr"}[t]
        if n < 0:
            return (kind, None), nxt
        count = n * 2 if t in (b"%", b"|") else n
        items = []
        p = nxt
        for _ in range(count):
            item, p = parse_at(buf, p)
            items.append(item)
        if t in (b"%", b"|"):
            items = [(items[i], items[i + 1]) for i in range(0, len(items), 2)]
        if t == b"|":
            # An attribute is followed by the real reply; keep both.
            real, p = parse_at(buf, p)
            return ("attr", items, real), p
        return (kind, items), p
    raise ProtocolError("unknown RESP type byte %r at %d in %r" % (t, pos, buf[:200]))


def parse_request(buf):
    """One request (an array of bulk strings) at the start of buf: (list of bytes, end).
    Raises Incomplete until the whole request is there; for fake servers in tests."""
    tree, end = parse_at(buf, 0)
    if tree[0] != "array" or tree[1] is None or any(t[0] != "bulk" for t in tree[1]):
        raise ProtocolError("not a request: %r" % buf[:100])
    return [t[1] for t in tree[1]], end


def parse(raw):
    tree, end = parse_at(raw, 0)
    if end != len(raw):
        raise ProtocolError("trailing bytes after reply: %r" % raw[end:][:100])
    return tree


class RawConn:
    """One TCP connection; replies are returned as raw bytes."""

    def __init__(self, host, port, timeout=5.0):
        self.addr = (host, port)
        self.timeout = timeout
        self.sock = socket.create_connection(self.addr, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed_by_peer = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *args):
        self.send_raw(encode_command(*args))

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(1 << 16)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed_by_peer = True
        return chunk

    def read_reply(self, timeout=None):
        """Return the raw bytes of the next complete reply.

        Raises EOFError if the peer closed first, socket.timeout on timeout.
        """
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        while True:
            if self.buf:
                try:
                    _, end = parse_at(self.buf, 0)
                    raw, self.buf = self.buf[:end], self.buf[end:]
                    return raw
                except Incomplete:
                    pass
            if self.closed_by_peer:
                raise EOFError("connection closed; pending bytes %r" % self.buf[:200])
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete reply; pending bytes %r" % self.buf[:200])
            self.buf += self._recv(left)

    def call(self, *args):
        self.send(*args)
        return self.read_reply()

    def drain(self, quiet_s=0.3, max_s=5.0):
        """Read everything until the peer closes or nothing arrives for quiet_s.

        Returns (bytes, closed). Used for protocol-error tests where the exact
        bytes before the close matter.
        """
        deadline = time.monotonic() + max_s
        out = self.buf
        self.buf = b""
        while not self.closed_by_peer:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                chunk = self._recv(min(quiet_s, left))
            except socket.timeout:
                break
            out += chunk
        return out, self.closed_by_peer
