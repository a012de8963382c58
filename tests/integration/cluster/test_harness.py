"""The harness itself: a cluster that fails to start leaves no server behind (the tests'
servers are stopped by PID whatever happens; a TLS test once left two running after its third
node could not bind its port and start() raised before the test's try/finally)."""

import os
import socket

import pytest

from harness import SynodCluster

pytestmark = pytest.mark.usefixtures("cluster_required")


def test_a_cluster_that_fails_to_start_stops_its_other_nodes(tmp_path):
    c = SynodCluster(tmp_path / "c", 3)
    os.makedirs(c.tmp_dir, exist_ok=True)
    busy = socket.socket()
    busy.bind(("127.0.0.1", c.node(2).peer_port))  # node 2 cannot listen: it exits at once
    busy.listen(1)
    try:
        with pytest.raises(RuntimeError, match="node2 exited"):
            c.start()
    finally:
        busy.close()
    alive = [n.name for n in c.nodes if n.alive()]
    assert not alive, f"left running after a failed start: {alive}"
