"""The partition machinery itself (harness.NetLab, Proc in a namespace), shown working with
plain redis-server processes so the cluster's partition tests can rely on it. Runs today; needs
root and iproute2 (skips with the reason otherwise).
"""

import os
import subprocess

import pytest
import redis

from harness import Conn, NetLab, Proc, wait_for

PORT = 6399


def _start_redis(lab, i, tmp_path):
    argv = ["redis-server", "--port", str(PORT), "--bind", lab.addrs[i], "--save", "",
            "--protected-mode", "no", "--dir", str(tmp_path)]  # fmt: skip
    p = Proc(f"r{i}", argv, str(tmp_path / f"r{i}.log"), netns=lab.hosts[i]).start()
    wait_for(lambda: _ping(lab, i), 10, what=f"redis in {lab.hosts[i]}")
    return p


def _ping(lab, i, timeout=1.0):
    c = Conn(lab.addrs[i], PORT, lab.client_ns, timeout)
    try:
        return c.call("PING") == "PONG"
    except (redis.RedisError, OSError):
        return False
    finally:
        c.close()


def test_namespaces_partitions_and_processes(netlab, tmp_path):
    lab = netlab
    procs = [_start_redis(lab, i, tmp_path) for i in range(3)]
    try:
        # the PID is the server's own, and it runs inside its host's namespace
        for i, p in enumerate(procs):
            with open(f"/proc/{p.pid}/comm") as f:
                assert f.read().strip().startswith("redis-server")
            assert os.stat(f"/proc/{p.pid}/ns/net").st_ino == os.stat(
                f"/run/netns/{lab.hosts[i]}"
            ).st_ino
        # nothing of the lab is visible in the test's own namespace
        ours = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
        assert NetLab.SUBNET + "." not in ours

        full = [(i, j) for i in range(3) for j in range(3) if i != j]
        assert all(lab.can_reach(i, j, PORT) for i, j in full)

        # one direction blocked: h1 cannot send to h2, so no TCP connection either way
        # (h2's SYN arrives but h1's SYN-ACK is dropped); h3 is untouched
        lab.block(0, 1)
        assert not lab.can_reach(0, 1, PORT)
        assert not lab.can_reach(1, 0, PORT)
        assert lab.can_reach(0, 2, PORT) and lab.can_reach(2, 1, PORT)
        lab.heal()
        assert all(lab.can_reach(i, j, PORT) for i, j in full)

        # isolate h1; clients (own namespace) still reach every host
        lab.isolate(0)
        assert not lab.can_reach(0, 1, PORT) and not lab.can_reach(2, 0, PORT)
        assert lab.can_reach(1, 2, PORT)
        assert all(_ping(lab, i) for i in range(3))
        lab.heal()

        # partition {h1} | {h2, h3}, then the bridge shape: h1 reaches only h2
        lab.partition([0], [1, 2])
        assert not lab.can_reach(0, 2, PORT) and lab.can_reach(1, 2, PORT)
        lab.heal()
        lab.cut(0, 2)
        assert lab.can_reach(0, 1, PORT) and lab.can_reach(1, 2, PORT)
        assert not lab.can_reach(0, 2, PORT) and not lab.can_reach(2, 0, PORT)
        lab.heal()
        assert not lab.blocked

        # pause / resume / kill / restart by PID inside a namespace
        procs[0].pause()
        assert not _ping(lab, 0, timeout=0.5)
        procs[0].resume()
        assert _ping(lab, 0)
        old = procs[0].pid
        procs[0].kill()
        assert not procs[0].alive() and not _ping(lab, 0)
        procs[0].start()
        assert procs[0].pid != old
        wait_for(lambda: _ping(lab, 0), 10, what="restarted redis")
    finally:
        for p in procs:
            p.stop()


def test_lab_teardown_removes_everything():
    ok, why = NetLab.available()
    if not ok:
        pytest.skip(f"network namespaces unavailable: {why}")
    lab = NetLab(3)
    names = list(lab.made)
    assert len(names) == 5 and all(str(os.getpid()) in n for n in names)
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert all(n in listed for n in names)
    assert lab.destroy() == []
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not any(n in listed for n in names)
