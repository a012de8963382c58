"""Expiry: lazy on access, and the active cycle deleting keys nobody touches."""

import time


def test_active_expiry_without_access(r):
    r.config_set("hz", 50)
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set(f"tmp{i}", "v", px=300)
    for i in range(10):
        p.set(f"keep{i}", "v")
    p.execute()
    assert r.dbsize() == 510
    # DBSIZE counts keys not yet deleted: only the active cycle can bring it down
    deadline = time.monotonic() + 10
    while r.dbsize() > 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert r.dbsize() == 10
    assert r.info("stats")["expired_keys"] == 500
    assert r.info("keyspace")["db0"]["expires"] == 0
    assert all(r.exists(f"keep{i}") for i in range(10))


def test_lazy_expiry_on_access(r):
    r.config_set("hz", 1)  # the active cycle rarely runs
    r.set("k", "v", px=50)
    r.set("k2", "v")
    r.pexpire("k2", 50)
    time.sleep(0.15)
    assert r.get("k") is None
    assert r.exists("k2") == 0
    assert r.ttl("k") == -2


def test_ttl_kept_until_deadline(r):
    r.set("k", "v", ex=100)
    assert 99 <= r.ttl("k") <= 100
    r.expire("k", 1)
    time.sleep(0.3)
    assert r.get("k") == "v"


def test_subms_blocking_timeouts_expire(r):
    """Redis rounds a blocking timeout up to whole milliseconds: 0.001 s waits 1 ms (it once
    truncated to 0 here, i.e. for ever: Redis's unit/type/list '0.001 timeout')."""
    for cmd in (("BLPOP", "nolist", "0.001"), ("BRPOP", "nolist", "0.0001"),
                ("BLMOVE", "nolist", "dst", "LEFT", "RIGHT", "0.0009"),
                ("BZPOPMIN", "nozset", "0.001")):  # fmt: skip
        t0 = time.monotonic()
        assert r.execute_command(*cmd) is None
        assert time.monotonic() - t0 < 2.0, cmd
    assert r.info("clients")["blocked_clients"] == 0


def test_relative_expiry_counts_from_the_write(r):
    """The leader resolves PX against the wall time of the loop pass that took the write, read
    again after every wake-up: a clock cached from an earlier pass would put the deadline in the
    past (mutation L5 in docs/resp-net-mutants.md)."""
    r.set("first", "1")  # an earlier pass reads the clock
    time.sleep(0.3)
    sec, usec = r.time()
    before_ms = sec * 1000 + usec // 1000
    r.set("k", "v", px=100000)
    assert r.pexpiretime("k") >= before_ms + 100000
    assert r.get("k") == "v"
