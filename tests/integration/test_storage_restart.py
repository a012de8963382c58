"""Restart contract checks on data directories written by hand (WAL format v2, docs/storage.md).

The WAL keeps the entries and the hard state of one Ready together (batch-end records), so a log
whose last entry is newer than the stored term can only come from a damaged disk: the server must
refuse to start and say which directory and which terms. A snapshot newer than the stored term
with nothing after it is legitimate (a crash right after installing a leader's snapshot) and
starts."""

import os
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import SynodNode, free_ports, wait_for  # noqa: E402


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def record(rtype, payload):
    head = struct.pack("<IB3xI", len(payload), rtype, crc32c(payload))
    return head + struct.pack("<I", crc32c(head)) + payload


def segment(seq, first, hs_term, entries, vote=0):
    """Header, the segment's hard state, the entries [(index, term)] as NOOPs, a batch end."""
    h = bytearray(b"SYNODWAL" + struct.pack("<IIQQII", 2, 0, seq, first, 0, 0))
    struct.pack_into("<I", h, 12, crc32c(bytes(h[:12]) + bytes(h[16:])))
    out = bytes(h) + record(2, struct.pack("<QQQ", hs_term, vote, 0))
    for index, term in entries:
        out += record(1, struct.pack("<QQB", index, term, 1))
    return out + record(3, struct.pack("<QQQ", seq, len(out), 80))


def write_dir(path, hs_term, entries, vote=0):
    path.mkdir()
    (path / "wal-0000000000000001-0000000000000001.log").write_bytes(
        segment(1, 1, hs_term, entries, vote)
    )


def test_log_newer_than_the_stored_term_refuses_to_start(run_synod, tmp_path):
    d = tmp_path / "damaged"
    write_dir(d, hs_term=2, entries=[(1, 2), (2, 5)])
    p = run_synod("--listen", "127.0.0.1:0", "--data-dir", str(d), timeout=20)
    assert p.returncode != 0
    out = p.stdout + p.stderr
    assert "refusing to start" in out, out
    assert str(d) in out and "term 5" in out and "term 2" in out, out


def test_consistent_hand_written_log_starts(synod_server, tmp_path):
    d = tmp_path / "fine"
    write_dir(d, hs_term=5, entries=[(1, 2), (2, 5)])
    p = synod_server("--data-dir", str(d))
    assert p.client().ping()


def test_a_stored_vote_is_kept_at_restart(tmp_path):
    """Node 1 starts having voted for node 2 in term 5 (node 2 is down); node 3, at term 4 with a
    newer log, can only win with node 1's vote, which it cannot have in term 5: it leads in a
    later term. A build that forgot the stored vote (mutant R09, docs/persist-mutants.md)
    elected node 3 in term 5, node 1's second vote in that term (two leaders of one term)."""
    ports = free_ports(6)
    peers = ",".join(f"{i}=127.0.0.1:{ports[2 * i - 1]}" for i in (1, 2, 3))
    write_dir(tmp_path / "n1", hs_term=5, entries=[(1, 1)], vote=2)
    write_dir(tmp_path / "n3", hs_term=4, entries=[(1, 1), (2, 4)])
    nodes = [SynodNode(i, "127.0.0.1", ports[2 * i - 2], ports[2 * i - 1], str(tmp_path / f"n{i}"),
                       str(tmp_path / f"n{i}.log"), cluster_arg=peers)
             for i in (1, 3)]  # fmt: skip
    try:
        for n in nodes:
            n.start()
        wait_for(lambda: (nodes[1].info() or {}).get("role") == "leader", 15,
                 what=lambda: f"node 3 to lead: {[n.info() for n in nodes]}")
        assert int(nodes[1].info()["term"]) >= 6, nodes[1].info()
    finally:
        for n in nodes:
            assert n.stop() == 0


def _zero_filled(r):
    info = r.info("consensus")
    return int(info["wal_segment_zero_filled"]), int(info["wal_zero_filled_segments"])


def test_zero_filled_segment_survives_kill9(synod_server, tmp_path):
    """Past 1 MiB of log the node appends into a zero-filled segment (docs/storage.md); a
    kill -9 there loses no acknowledged write, and the restarted node reads the zeros as
    unwritten space: no cut, appends go on into them."""
    d = tmp_path / "data"
    p = synod_server("--data-dir", str(d))
    r = p.client(decode_responses=True)
    assert _zero_filled(r) == (0, 0)  # a node that wrote little has no spare
    value = "v" * 1000
    n = 0
    deadline = time.monotonic() + 30
    while _zero_filled(r)[0] != 1:
        assert time.monotonic() < deadline, (_zero_filled(r), os.listdir(d))
        pipe = r.pipeline(transaction=False)
        for i in range(n, n + 200):
            pipe.set(f"k{i}", value)
        pipe.execute()
        n += 200
    for i in range(n, n + 300):
        r.set(f"k{i}", str(i))  # acknowledged one by one, into the zeros
    n += 300
    seg = max(f for f in os.listdir(d) if f.startswith("wal-") and f.endswith(".log"))
    size = os.path.getsize(d / seg)
    assert size > 32 << 20, (seg, size)  # the spare: segment size + buffer, of zeros
    os.kill(p.pid, signal.SIGKILL)
    p.proc.wait(timeout=10)
    p.expect_unclean_exit = True

    p2 = synod_server("--data-dir", str(d))
    r2 = p2.client(decode_responses=True)
    assert r2.dbsize() == n
    assert r2.get("k0") == value and r2.get(f"k{n - 1}") == str(n - 1)
    assert "torn" not in p2.log() and "unfinished" not in p2.log(), p2.log()
    assert os.path.getsize(d / seg) == size  # nothing cut
    assert _zero_filled(r2)[0] == 1  # appends go on into the zeros
    r2.set("after", "1")
    assert r2.get("after") == "1"
