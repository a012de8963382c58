"""requirepass on a cluster: clients must AUTH on every node, and a follower's relay to the
leader authenticates itself (same requirepass on every node), so writes through a follower
work and land on every replica."""

import redis

from harness import SynodCluster

PW = "cluster-client-password"


def test_requirepass_through_a_follower(tmp_path):
    c = SynodCluster(tmp_path, 3, extra_args=("--requirepass", PW)).start()
    try:
        leader = c.wait_leader()
        follower = next(n for n in c.nodes if n is not leader)
        anon = redis.Redis(host=follower.host, port=follower.port, socket_timeout=5)
        try:
            anon.set("k", "v0")
            raise AssertionError("an unauthenticated write was accepted")
        except redis.AuthenticationError:
            pass
        except redis.ResponseError as e:
            assert "NOAUTH" in str(e)
        cl = redis.Redis(host=follower.host, port=follower.port, socket_timeout=5)
        cl.execute_command("AUTH", PW)
        assert cl.set("k", "v1")
        assert cl.get("k") == b"v1"
        lc = leader.client()
        assert lc.get("k") == "v1"
        c.wait_leader()
        # converged on every node (stale reads need AUTH too)
        for n in c.nodes:
            nc = n.client()
            nc.execute_command("READONLY")
            for _ in range(100):
                if nc.get("k") == "v1":
                    break
            assert nc.get("k") == "v1"
    finally:
        c.stop()
