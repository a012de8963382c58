"""WATCH precision on one node: a write that leaves a watched key unchanged does not abort the
transaction, as in Redis 7.0."""

import pytest
import redis


def test_smove_of_a_member_dst_has_does_not_touch_dst(synod):
    """WATCH dst; another client's SMOVE of a member dst already holds changes src only: the
    EXEC runs (Redis's unit/type/set 'SMOVE only notify dstset when the addition is
    successful'). A real addition does break the WATCH."""
    a = synod.client(decode_responses=True)
    b = synod.client(decode_responses=True)
    for member, runs in (("a", True), ("b", False)):
        a.delete("src", "dst")
        a.sadd("src", "a", "b")
        a.sadd("dst", "a")
        p = a.pipeline()
        p.watch("dst")
        p.multi()
        p.sadd("dst", "c")
        assert b.smove("src", "dst", member) is True
        if runs:
            assert p.execute() == [1]
            assert a.scard("dst") == 2
        else:
            with pytest.raises(redis.WatchError):
                p.execute()


def test_setbit_to_the_same_value_does_not_touch(synod):
    a = synod.client(decode_responses=True)
    b = synod.client(decode_responses=True)
    a.setbit("bits", 3, 1)
    p = a.pipeline()
    p.watch("bits")
    p.multi()
    p.get("bits")
    assert b.setbit("bits", 3, 1) == 1  # unchanged
    assert b.bitfield("bits").set("u4", 0, 1).execute() == [1]  # unchanged too
    assert len(p.execute()) == 1
