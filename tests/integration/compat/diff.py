"""Differential comparison of raw RESP replies: reference redis-server vs target.

A test step is sent to both servers over raw connections; the two replies are
compared byte for byte unless the step says otherwise:

  ("GET", "k")             exact bytes
  U("KEYS", "*")           top-level aggregate compared as a multiset (order undefined in Redis)
  PAIRS("HGETALL", "h")    field/value pairs compared as a multiset (RESP2 flat array or RESP3 map)
  TTL(tol, "TTL", "k")     integers equal within tol (clock-dependent); exact otherwise
  SHAPE("CLIENT", "ID")    only the structure (type tags, aggregate sizes) is compared
  PEL("XPENDING", ...)     XPENDING's extended form: exact but for each entry's idle time
  SCAN("MATCH", "k*")      full SCAN iteration on each side; the sets of keys are compared
  HSCAN("h", "COUNT", 2)   full HSCAN iteration; the sets of field/value pairs are compared
  SSCAN("s", "MATCH", "a*") full SSCAN iteration; the sets of members are compared
  ZSCAN("z", "COUNT", 2)   full ZSCAN iteration; the sets of members and scores are compared
  SETTLED("DBSIZE")        exact, but asked again after SETTLE_S if the first replies differ
  RAW(b"PING\\r\\n")        raw bytes sent, the next reply compared exactly

Mismatches are collected (not raised at once) so that one test reports every
difference in its scenario.
"""

import os
import socket
import time

import pytest

from .resp_raw import ProtocolError, Incomplete, encode_command, parse


SETTLE_S = 0.5  # a few of both servers' active expiry cycles (hz 10)


class Step:
    mode = "exact"

    def __init__(self, *args, tol=0):
        self.args = args
        self.tol = tol

    def __repr__(self):
        return "%s%r" % (type(self).__name__, self.args)


class U(Step):
    mode = "unordered"


class PAIRS(Step):
    mode = "pairs"


class SHAPE(Step):
    mode = "shape"


class PEL(Step):
    mode = "pel"


class TTL(Step):
    mode = "ttl"

    def __init__(self, tol, *args):
        super().__init__(*args, tol=tol)


class SETTLED(Step):
    """A reply that counts logically expired keys not yet reclaimed (DBSIZE): when the two
    differ, both are asked again once their expiry cycles have run (SETTLE_S), then compared
    exactly. When each server reclaims a key whose time passed is its own timing."""

    mode = "settled"


class SCAN(Step):
    mode = "scan"


class HSCAN(Step):
    mode = "hscan"


class SSCAN(Step):
    mode = "sscan"


class ZSCAN(Step):
    mode = "zscan"


class RAW(Step):
    mode = "raw"


def show(raw):
    if isinstance(raw, (bytes, bytearray)):
        s = repr(bytes(raw))
        return s if len(s) < 400 else s[:400] + "...(%d bytes)" % len(raw)
    return repr(raw)


def _tree(raw):
    try:
        return parse(raw)
    except (ProtocolError, Incomplete, ValueError) as e:
        return ("unparseable", raw, str(e))


def _key(tree):
    return repr(tree)


def shape_of(tree):
    """Structure only: type tags and aggregate sizes, recursively; no scalar values."""
    tag = tree[0]
    if tag in ("array", "set", "push"):
        if tree[1] is None:
            return (tag, None)
        return (tag, tuple(shape_of(t) for t in tree[1]))
    if tag == "map":
        return (tag, tuple((shape_of(k), shape_of(v)) for k, v in tree[1]))
    if tag in ("bulk", "verbatim", "blob_error"):
        return (tag, tree[1] is None)
    return (tag,)


def _pel_masked(tree):
    """An XPENDING extended reply with each entry's idle time (clock-dependent) set to 0:
    [[id, consumer, idle, deliveries], ...]; anything else unchanged."""
    if tree[0] != "array" or tree[1] is None:
        return tree
    out = []
    for e in tree[1]:
        if e[0] == "array" and e[1] is not None and len(e[1]) == 4 and e[1][2][0] == "int":
            e = ("array", [e[1][0], e[1][1], ("int", 0), e[1][3]])
        out.append(e)
    return ("array", out)


def _pairs(tree):
    tag = tree[0]
    if tag == "map":
        return sorted(_key(k) + "=" + _key(v) for k, v in tree[1])
    if tag == "array" and tree[1] is not None and len(tree[1]) % 2 == 0:
        it = tree[1]
        return sorted(_key(it[i]) + "=" + _key(it[i + 1]) for i in range(0, len(it), 2))
    return None


def equivalent(mode, ref, tgt, tol=0):
    """True when the two raw replies are equivalent under the step's mode."""
    if ref == tgt:
        return True
    if mode in ("exact", "raw"):
        return False
    a, b = _tree(ref), _tree(tgt)
    if a[0] != b[0]:
        return False
    if mode == "unordered":
        if a[0] in ("array", "set") and a[1] is not None and b[1] is not None:
            return sorted(map(_key, a[1])) == sorted(map(_key, b[1]))
        return False
    if mode == "pairs":
        pa, pb = _pairs(a), _pairs(b)
        return pa is not None and pa == pb
    if mode == "ttl":
        if a[0] == "int" and b[0] == "int":
            # -1 (no expiry) and -2 (no key) are exact; positive values within tol.
            if a[1] < 0 or b[1] < 0:
                return a[1] == b[1]
            return abs(a[1] - b[1]) <= tol
        return False
    if mode == "shape":
        return shape_of(a) == shape_of(b)
    if mode == "pel":
        return _pel_masked(a) == _pel_masked(b)
    raise ValueError("unknown mode " + mode)


class Mismatch:
    def __init__(self, step, ref, tgt, note=""):
        self.step, self.ref, self.tgt, self.note = step, ref, tgt, note

    def __str__(self):
        s = "  %s\n    redis: %s\n    synod: %s" % (self.step, show(self.ref), show(self.tgt))
        if self.note:
            s += "\n    (%s)" % self.note
        return s


def _report(mismatches, where):
    """Append mismatches to $COMPAT_LOG if set (used to write COMPAT-BUGS.md)."""
    path = os.environ.get("COMPAT_LOG")
    if not path or not mismatches:
        return
    with open(path, "a") as f:
        f.write("### %s\n" % where)
        for m in mismatches:
            f.write(str(m) + "\n")


class Pair:
    """Two raw connections, one to the reference Redis and one to the target."""

    def __init__(self, ref_conn, tgt_conn, target_name="synod", name="", target_check=None):
        self.name = name  # the test's id, for the mismatch log
        # target_check() -> "" or a description of why the target process is gone
        self.target_check = target_check or (lambda: "")
        self.ref = ref_conn
        self.tgt = tgt_conn
        self.target_name = target_name
        self.mismatches = []

    # -- single replies -------------------------------------------------
    def both(self, *args):
        """Send one command to both; return (ref_raw, tgt_raw). Errors become markers."""
        return self._exchange(encode_command(*args))

    def _exchange(self, data):
        out = []
        for conn in (self.ref, self.tgt):
            try:
                conn.send_raw(data)
                out.append(conn.read_reply())
            except EOFError:
                out.append("<connection closed>")
            except socket.timeout:
                out.append("<timeout: no reply>")
            except OSError as e:
                out.append("<socket error: %s>" % e)
            except (ProtocolError, ValueError) as e:
                out.append("<malformed reply: %s; buffered %r>" % (e, conn.buf[:200]))
        return out[0], out[1]

    def step(self, step):
        """Run one step (a tuple or Step); record a mismatch; return the reference reply."""
        if not isinstance(step, Step):
            step = Step(*step)
        if step.mode == "scan":
            ref, tgt = self._full_scan([b"SCAN"], step.args)
            ok = ref == tgt
        elif step.mode == "hscan":
            ref, tgt = self._full_scan([b"HSCAN", step.args[0]], step.args[1:])
            ok = ref == tgt
        elif step.mode == "sscan":
            ref, tgt = self._full_scan([b"SSCAN", step.args[0]], step.args[1:])
            ok = ref == tgt
        elif step.mode == "zscan":
            ref, tgt = self._full_scan([b"ZSCAN", step.args[0]], step.args[1:])
            ok = ref == tgt
        elif step.mode == "raw":
            ref, tgt = self._exchange(step.args[0])
            ok = ref == tgt
        elif step.mode == "settled":
            ref, tgt = self.both(*step.args)
            if ref != tgt:
                time.sleep(SETTLE_S)
                ref, tgt = self.both(*step.args)
            ok = ref == tgt
        else:
            ref, tgt = self.both(*step.args)
            ok = (
                isinstance(ref, bytes)
                and isinstance(tgt, bytes)
                and equivalent(step.mode, ref, tgt, step.tol)
            )
        if not ok:
            self.mismatches.append(Mismatch(step, ref, tgt, "" if step.mode == "exact" else step.mode))
            if isinstance(tgt, str) and not isinstance(ref, str):
                # The target closed, timed out or broke the framing: later replies on this
                # connection would be misaligned, so stop the scenario here.
                dead = self.target_check()
                if dead:
                    self.mismatches[-1].note = dead
                self.assert_clean(self.name + " (aborted)")
        return ref

    def run(self, steps):
        for s in steps:
            self.step(s)

    def assert_clean(self, where=""):
        if self.mismatches:
            _report(self.mismatches, where or self.name)
            msg = "%d mismatch(es) redis vs %s:\n%s" % (
                len(self.mismatches),
                self.target_name,
                "\n".join(map(str, self.mismatches)),
            )
            self.mismatches = []
            raise AssertionError(msg)

    # -- SCAN / HSCAN -----------------------------------------------------
    def _full_scan(self, head, opts, max_rounds=10000):
        """Iterate a cursor command to the end on each side.

        Returns per side either ("ok", frozenset of elements) or the first
        non-conforming reply (an error, a malformed reply), so that error
        replies to bad options are still compared exactly. Cursor values are
        implementation details and are not compared.
        """
        results = []
        for conn in (self.ref, self.tgt):
            cursor = b"0"
            seen = set()
            res = None
            for _ in range(max_rounds):
                try:
                    raw = conn.call(*(head + [cursor] + list(opts)))
                except (EOFError, OSError, ProtocolError, ValueError) as e:
                    res = "<%s>" % e
                    break
                t = _tree(raw)
                if (
                    t[0] != "array"
                    or t[1] is None
                    or len(t[1]) != 2
                    or t[1][0][0] != "bulk"
                    or t[1][1][0] not in ("array", "map")
                ):
                    res = raw
                    break
                cursor = t[1][0][1]
                body = t[1][1]
                if head[0] == b"HSCAN":
                    elems = _pairs(body)
                    if elems is None:
                        res = raw
                        break
                    seen.update(elems)
                else:
                    seen.update(_key(x) for x in body[1])
                if cursor == b"0":
                    res = ("ok", frozenset(seen))
                    break
            else:
                res = "<cursor never returned to 0>"
            results.append(res)
        return results[0], results[1]


TARGET = os.environ.get("COMPAT_TARGET", "synod")

# Open synod bugs (see COMPAT-BUGS.md: B3-B10 at the last landing) are marked xfail with this
# strictness: strict means a fixed bug turns the mark into a failure (XPASS), so whoever fixes a
# bug removes its entry from the test file's XFAIL dict in the same commit as the fix.
XFAIL_STRICT = True


def xfail_marks(reason):
    """Marks for a test/case that fails because of an open synod bug (none vs a redis target)."""
    if TARGET == "redis":
        return []
    return [pytest.mark.xfail(strict=XFAIL_STRICT, reason="synod bug: " + reason)]


def cases(table, xfail=None, protocols=("2", "3")):
    """pytest.param list from [(id, steps)], once per protocol version (ids resp2-ID, resp3-ID;
    the resp3 variant starts with HELLO 3), with strict xfail marks for open synod bugs: an
    xfail key is either the case id (both protocols) or resp2-ID / resp3-ID."""
    xfail = xfail or {}
    out = []
    for proto in protocols:
        for cid, steps in table:
            pid = "resp%s-%s" % (proto, cid)
            reason = xfail.get(pid) or xfail.get(cid)
            marks = xfail_marks(reason) if reason else []
            if proto != "2":
                steps = [SHAPE("HELLO", proto)] + list(steps)
            out.append(pytest.param(steps, id=pid, marks=marks))
    return out
