"""InstallSnapshot carries the members' peer addresses (issue 8 bug 7): a node that catches up
from the leader's snapshot, past the log entry that announced a member's address, still knows
that address, and keeps it across a restart from the installed snapshot."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cluster"))
from harness import SynodNode, free_ports, wait_for  # noqa: E402


def members_of(node):
    """INFO consensus members as {id: address} (learner marks dropped)."""
    inf = node.info() or {}
    out = {}
    for part in filter(None, inf.get("members", "").split(",")):
        k, _, v = part.partition("=")
        out[int(k)] = v.replace("(learner)", "")
    return out


def joiner(tmp_path, node_id, cluster_arg):
    cport, pport = free_ports(2)
    d = str(tmp_path / f"n{node_id}")
    return SynodNode(node_id, "127.0.0.1", cport, pport, d, d + ".log", cluster_arg=cluster_arg,
                     extra_args=("--join", "1"))  # fmt: skip


def add_member(ld, node):
    r = ld.client()
    assert r.execute_command("SYNOD", "MEMBER", "ADD", str(node.id),
                             f"127.0.0.1:{node.peer_port}") == "OK"  # fmt: skip

    def voter():
        ms = r.execute_command("SYNOD", "MEMBER", "LIST")
        return any(int(m[0]) == node.id and m[2] in (b"voter", "voter") for m in ms)

    wait_for(voter, 20, what=f"node {node.id} promoted to voter")


def test_snapshot_install_carries_member_addresses(cluster, tmp_path):
    c = cluster()
    ld = c.wait_leader()
    r = ld.client()
    bootstrap = ",".join(f"{n.id}=127.0.0.1:{n.peer_port}" for n in c.nodes)
    n4 = joiner(tmp_path, 4, bootstrap)
    n5 = joiner(tmp_path, 5, bootstrap)  # knows only the bootstrap members' addresses
    n4.start()
    try:
        n4.wait_serving()
        add_member(ld, n4)
        for i in range(100):
            r.set(f"k{i}", i)
        # the leader's log, with the entry that carried node 4's address, is compacted away
        assert r.execute_command("SYNOD", "SNAPSHOT") == "OK"
        snap_index = int(ld.info()["snapshot_index"])
        assert snap_index > 100
        n5.start()
        n5.wait_serving()
        add_member(c.leader() or ld, n5)
        wait_for(lambda: int((n5.info() or {}).get("snapshot_index", 0)) >= snap_index, 15,
                 what="node 5 to install the leader's snapshot")  # fmt: skip
        # counted (INFO consensus snapshots_installed); the leader installed none
        assert int(n5.info()["snapshots_installed"]) >= 1
        assert int(ld.info()["snapshots_installed"]) == 0
        want = f"127.0.0.1:{n4.peer_port}"
        # before the fix: "4=" (the receiver rebuilt the membership with its own address table)
        wait_for(lambda: members_of(n5).get(4) == want, 10,
                 what=f"node 5 to know node 4's address: {members_of(n5)}")  # fmt: skip
        for n in c.nodes:
            assert members_of(n5)[n.id] == f"127.0.0.1:{n.peer_port}"
        # and after a restart from the installed snapshot
        assert n5.stop() == 0
        n5.start()
        n5.wait_serving()
        wait_for(lambda: members_of(n5).get(4) == want, 10,
                 what=f"node 5 to know node 4's address after a restart: {members_of(n5)}")
        inf = n5.info()
        assert int(inf["snapshot_index"]) >= snap_index
        assert int(inf["snapshots_installed"]) == 0  # since this start: it loaded its own
        nr = n5.client()
        assert nr.execute_command("READONLY") in ("OK", True)
        wait_for(lambda: nr.get("k99") == "99", 10, what="node 5 caught up")
    finally:
        for n in (n5, n4):
            if n.alive():
                assert n.stop() == 0
