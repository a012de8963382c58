"""Identities that cannot be confused (issue 9): a data directory remembers its node id, cluster id
and bootstrap membership, and a start with other flags refuses naming both; a member whose data
directory was wiped is refused by its peers (it may have voted or acknowledged entries it no
longer has) until it is removed and added again, which is the documented recovery."""

import os
import shutil
import subprocess
import time

from harness import SYNOD_BIN, SynodCluster, SynodNode, free_ports, wait_for


def run_with(node, **changes):
    """Starts node's binary on its data directory with some flags changed; returns the result of
    a start that must fail quickly."""
    args = {"--id": str(node.id), "--listen": f"127.0.0.1:{free_ports(1)[0]}",
            "--peer-listen": f"127.0.0.1:{node.peer_port}", "--data-dir": node.data_dir,
            "--cluster": node.argv[node.argv.index("--cluster") + 1]}  # fmt: skip
    args.update(changes)
    argv = [SYNOD_BIN] + [x for kv in args.items() for x in kv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20)


def test_flags_must_match_the_data_directory(tmp_path):
    c = SynodCluster(tmp_path, 3).start()
    try:
        leader = c.wait_leader()
        leader.client().set("k", "v1")
        c.wait_converged(["k"])
        n3 = c.node(3)
        n3.stop()
        # another node id on node 3's data
        r = run_with(n3, **{"--id": "2"})
        assert r.returncode != 0
        assert "node id is 3, this start gives --id 2" in r.stderr, r.stderr
        # a --cluster list with only itself: it would elect itself and take writes
        r = run_with(n3, **{"--cluster": f"3=127.0.0.1:{n3.peer_port}"})
        assert r.returncode != 0
        assert "bootstrap membership" in r.stderr and "Refusing to start" in r.stderr, r.stderr
        # another cluster id
        r = run_with(n3, **{"--cluster-id": "other"})
        assert r.returncode != 0 and "cluster id is 'synod'" in r.stderr, r.stderr
        # with the recorded flags it starts and rejoins
        n3.start()
        n3.wait_serving()
        leader.client().set("k", "v2")
        assert c.wait_converged(["k"])["k"] == "v2"
    finally:
        c.stop()


def test_wiped_member_is_refused_until_removed_and_added_again(tmp_path):
    c = SynodCluster(tmp_path, 3).start()
    joiner = None
    try:
        leader = c.wait_leader()
        leader.client().set("k", "v1")
        c.wait_converged(["k"])
        victim = next(n for n in c.nodes if n is not leader)
        other = next(n for n in c.nodes if n is not leader and n is not victim)
        victim.stop()
        shutil.rmtree(victim.data_dir)
        victim.start()  # same flags, empty data directory
        victim.wait_serving()
        wait_for(lambda: "data directory is not the one this cluster knew" in leader.log(), 10,
                 what="the leader refusing the wiped member")  # fmt: skip
        # it takes no part: with the other follower down, nothing can commit
        other.expect_unclean_exit = True
        other.kill()
        cl = leader.client(timeout=3)
        try:
            cl.set("k", "lost?")
            committed = True
        except Exception:
            committed = False
        assert not committed, "a write committed with a wiped member counted in the quorum"
        other.start()
        other.wait_serving()
        leader = c.wait_leader(nodes=[n for n in c.nodes if n is not victim])
        # the documented recovery: remove it, wipe again, start it with --join 1, add it again
        cl = leader.client(timeout=10)
        assert cl.execute_command("SYNOD", "MEMBER", "REMOVE", str(victim.id)) in (b"OK", "OK")
        victim.expect_unclean_exit = True
        victim.stop()
        shutil.rmtree(victim.data_dir)
        cluster_arg = ",".join(f"{n.id}=127.0.0.1:{n.peer_port}" for n in c.nodes)
        joiner = SynodNode(victim.id, "127.0.0.1", victim.port, victim.peer_port,
                           victim.data_dir, str(tmp_path / "joiner.log"), cluster_arg=cluster_arg,
                           extra_args=("--join", "1"))  # fmt: skip
        joiner.start()
        joiner.wait_serving()

        def added():
            try:
                r = leader.client(timeout=5).execute_command(
                    "SYNOD", "MEMBER", "ADD", str(victim.id), f"127.0.0.1:{victim.peer_port}")
                return r in (b"OK", "OK")
            except Exception:
                return False

        wait_for(added, 20, interval=0.5, what="MEMBER ADD of the re-joined node")
        leader.client().set("k", "v3")
        wait_for(lambda: (joiner.info() or {}).get("last_applied") == (leader.info() or {}).get(
            "commit_index"), 20, what="the re-added member catching up")  # fmt: skip
        assert c.stale_get(joiner, ["k"]) == ["v3"]
    finally:
        if joiner:
            joiner.stop()
        c.stop()
