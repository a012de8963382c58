"""min-replicas-to-write on a 3-node cluster (docs/cluster.md "min-replicas-to-write"): the
leader counts the other voters it heard from within min-replicas-max-lag seconds; with fewer
than min-replicas-to-write it refuses writes (-NOREPLICAS, relayed to a follower's clients too)
and serves reads; once the member is back, writes go through again. A build that does not
count lagging voters out (heard_from never aging) fails the refusal check."""

import time

import pytest
import redis
from harness import wait_for

pytestmark = pytest.mark.usefixtures("cluster_required")


def rc(node):
    return redis.Redis(host=node.host, port=node.port, socket_timeout=10.0, decode_responses=True)


def write(node, key):
    try:
        return rc(node).set(key, "v")
    except redis.ResponseError as e:
        return str(e)


def test_noreplicas_when_a_voter_is_gone(make_cluster):
    c = make_cluster(3)
    leader = c.wait_leader()
    f1, f2 = [n for n in c.nodes if n is not leader]
    for n in c.nodes:
        rc(n).config_set("min-replicas-to-write", 2)
        rc(n).config_set("min-replicas-max-lag", 1)
    assert write(leader, "a") is True and write(f1, "b") is True  # both followers answer
    f2.kill()
    refused = "NOREPLICAS Not enough good replicas to write."
    wait_for(lambda: write(leader, "c") == refused, 5, what="the leader to refuse writes")
    assert write(f1, "d") == refused  # relayed: the leader's answer
    assert rc(leader).get("a") == "v"  # reads are served
    rc(leader).config_set("min-replicas-to-write", 1)  # one good replica is enough
    assert write(leader, "e") is True
    rc(leader).config_set("min-replicas-to-write", 2)
    f2.start()
    f2.wait_serving()
    wait_for(lambda: write(leader, "f") is True, 10, what="writes to be accepted again")
    time.sleep(0.2)
    assert write(f1, "g") is True
