#!/usr/bin/python3
"""Differential test: synod's RESP parser against a real redis-server 7.0.

Random requests (multibulk and inline with quoting, mutated with CR, LF, NUL, quotes,
backslashes, digits...) are parsed by synod's parser (via resp_dump) and sent raw to a
redis-server. Commands are named zz* so Redis answers each request with
"-ERR unknown command 'zz..', with args beginning with: 'a' 'b' ", which quotes every argument:
from synod's parse we predict Redis's exact reply bytes, protocol errors included.

Usage: resp_vs_redis.py RESP_DUMP_BINARY   (env: RESP_DIFF_CASES, RESP_DIFF_SEED)
"""
import os
import random
import socket
import subprocess
import sys
import time

CASES = int(os.environ.get("RESP_DIFF_CASES", "4000"))
SEED = int(os.environ.get("RESP_DIFF_SEED") or random.SystemRandom().randrange(1 << 32))
INTERESTING = [b"\r", b"\n", b"\r\n", b"\0", b'"', b"'", b"\\", b"$", b"*", b" ", b"\t",
               b"\x0b", b"-", b"0", b"1", b"9", b"x", b"\\x4", b"\\x41", b"\xff"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def word(rng, lo=0, hi=8):
    alphabet = b"abcdefghijklmnopqrstuvwxyzABC0123456789_-:."
    return bytes(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def cmd_name(rng):
    return b"zz" + word(rng, 0, 5)


def gen_multibulk(rng):
    args = [cmd_name(rng)]
    for _ in range(rng.randint(0, 4)):
        if rng.random() < 0.3:
            args.append(bytes(rng.randrange(256) for _ in range(rng.randint(0, 6))))
        else:
            args.append(word(rng))
    count = len(args)
    r = rng.random()
    if r < 0.05:
        count = rng.choice([0, -1, len(args) + 1, len(args) - 1])
    out = b"*%d\r\n" % count
    for a in args:
        n = len(a)
        if rng.random() < 0.04:
            n = rng.choice([n + 1, max(n - 1, 0), -1])
        out += b"$%d\r\n" % n + a + (b"\r\n" if rng.random() < 0.95 else b"XY")
    return out


def gen_token(rng):
    r = rng.random()
    if r < 0.5:
        return word(rng, 1, 8)
    if r < 0.8:
        body = b""
        for _ in range(rng.randint(0, 4)):
            body += rng.choice([word(rng, 1, 3), b"\\n", b"\\r", b"\\t", b"\\b", b"\\a",
                                b"\\\\", b'\\"', b"\\x41", b"\\xfF", b"\\x4", b"\\q", b" ",
                                b"'"])
        return b'"' + body + b'"'
    if r < 0.95:
        body = b""
        for _ in range(rng.randint(0, 4)):
            body += rng.choice([word(rng, 1, 3), b"\\'", b"\\n", b'"', b" "])
        return b"'" + body + b"'"
    return word(rng, 1, 3) + b'"' + word(rng, 0, 3) + b' x"'


def gen_inline(rng):
    toks = [cmd_name(rng)] + [gen_token(rng) for _ in range(rng.randint(0, 4))]
    line = b""
    for t in toks:
        line += rng.choice([b" ", b" ", b"  ", b"\t", b"\x0b"]) if line else b""
        line += t
    if rng.random() < 0.1:
        line = b"  " + line + b"  "
    return line + (b"\r\n" if rng.random() < 0.7 else b"\n")


def gen_case(rng):
    parts = []
    for _ in range(rng.randint(1, 4)):
        r = rng.random()
        if r < 0.45:
            parts.append(gen_multibulk(rng))
        elif r < 0.93:
            parts.append(gen_inline(rng))
        elif r < 0.97:
            parts.append(rng.choice([b"\r\n", b"\n", b"*0\r\n", b"*-1\r\n", b"   \n"]))
        else:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randint(1, 12))))
    data = bytearray(b"".join(parts))
    for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
        pos = rng.randrange(len(data) + 1)
        op = rng.random()
        if op < 0.4:
            data[pos:pos] = rng.choice(INTERESTING)
        elif op < 0.7 and pos < len(data):
            del data[pos:pos + rng.randint(1, 3)]
        elif pos < len(data):
            data[pos:pos + 1] = rng.choice(INTERESTING)
    return bytes(data)


def cstr(b):
    """What printf's %s sees: the bytes up to the first NUL."""
    return b.split(b"\0", 1)[0]


def expected_reply(lines):
    """Redis's reply bytes for synod's parse of one case."""
    out = b""
    for line in lines:
        if line.startswith("R"):
            _, argc, hexargs = line.split(" ", 2)
            argv = [bytes.fromhex(h) for h in hexargs.split(",")] if int(argc) else []
            if not argv:
                continue
            args = b""
            i = 1
            while i < len(argv) and len(args) < 128:
                args += b"'" + cstr(argv[i])[:128 - len(args)] + b"' "
                i += 1
            msg = (b"ERR unknown command '" + cstr(argv[0])[:128] +
                   b"', with args beginning with: " + args)
            out += b"-" + msg.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n"
        elif line.startswith("E"):
            out += b"-" + bytes.fromhex(line[2:]) + b"\r\n"
    return out


def argv0s(lines):
    for line in lines:
        _, argc, hexargs = (line.split(" ", 2) + ["", ""])[:3]
        if line.startswith("R ") and int(argc):
            yield cstr(bytes.fromhex(hexargs.split(",")[0]))


def ask_redis(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def main():
    dump = sys.argv[1]
    print(f"resp_vs_redis: seed {SEED}, {CASES} cases (replay: RESP_DIFF_SEED={SEED})")
    rng = random.Random(SEED)
    cases = [gen_case(rng) for _ in range(CASES)]
    feed = b"".join(b"%d\n" % len(c) + c for c in cases)
    res = subprocess.run([dump], input=feed, stdout=subprocess.PIPE, check=True, timeout=120)
    parsed, cur = [], []
    for line in res.stdout.decode().splitlines():
        if line == "END":
            parsed.append(cur)
            cur = []
        else:
            cur.append(line)
    assert len(parsed) == len(cases), (len(parsed), len(cases))

    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        names = ask_redis(port, b"COMMAND LIST\r\n")
        known = {n.lower() for n in names.split(b"\r\n") if n and n[:1] not in b"*$"}
        known.add(b"quit")
        assert len(known) > 200, "COMMAND LIST failed"
        failures = skipped = 0
        kinds = {"ok": 0, "error": 0, "pending": 0}
        for i, (data, lines) in enumerate(zip(cases, parsed)):
            if any(a.lower() in known for a in argv0s(lines)):
                skipped += 1  # a mutation made a real command; its reply is not predictable
                continue
            want = expected_reply(lines)
            got = ask_redis(port, data)
            kinds["error" if any(x.startswith("E") for x in lines) else
                  "pending" if any(x.startswith("P") for x in lines) else "ok"] += 1
            if got != want:
                failures += 1
                if failures <= 10:
                    print(f"MISMATCH case {i}: input {data!r}\n  synod parse {lines}\n"
                          f"  redis said  {got!r}\n  predicted   {want!r}")
        print(f"resp_vs_redis: {CASES - skipped} cases compared ({kinds}), {skipped} skipped, "
              f"{failures} mismatches")
        if failures:
            print(f"resp_vs_redis: FAILED (replay: RESP_DIFF_SEED={SEED})")
            return 1
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
