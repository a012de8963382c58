"""history.py — workload, history recorder, nemesis and the lincheck run (docs/testing-faults.md).

    History         thread-safe recorder of operations in the lincheck CLI's JSON-lines format
                    (docs/simulator.md): invoke/return in time.monotonic_ns(), results as read;
                    timeouts, connection errors and error replies of writes are indeterminate
                    (return null), never failures; a refused connection records nothing.
    Workload        `clients` threads doing GET / SET / INCR on a few keys against random
                    targets (one Conn per target per client), until stopped.
    Nemesis         a seeded schedule of faults (kill -9 + restart, SIGSTOP + SIGCONT, of the
                    leader or of a random node; partitions when a NetLab is given), run in a
                    thread; heal() undoes everything still in effect.
    run_lincheck    runs build/rel/sim/lincheck on a history file; returns (exit code, output).

A target is anything with .name and .conn(timeout) -> harness.Conn (SynodNode, or RedisTarget
for the plain redis-server tests).
"""

import json
import os
import random
import subprocess
import threading
import time

import redis

from harness import ROOT, Conn, wait_for

LINCHECK_BIN = os.environ.get("LINCHECK_BIN", os.path.join(ROOT, "build", "rel", "sim", "lincheck"))


def seed_from_env(default_random=True):
    """SEED=n replays a run; otherwise a fresh seed. Always printed."""
    s = os.environ.get("SEED")
    seed = int(s) if s else (random.SystemRandom().randrange(1 << 31) if default_random else 1)
    print(f"\n=== seed {seed} (replay with SEED={seed})")
    return seed


def lincheck_bin():
    """Path of the lincheck CLI, building it (make build/rel/sim/lincheck) if missing."""
    if not os.path.exists(LINCHECK_BIN):
        subprocess.run(
            ["make", "-s", "-C", ROOT, "build/rel/sim/lincheck"],
            check=True,
            timeout=300,
            capture_output=True,
        )
    return LINCHECK_BIN


def run_lincheck(path, timeout=600, max_states=None):
    args = [lincheck_bin()]
    if max_states:
        args += ["--max-states", str(max_states)]
    r = subprocess.run(args + [path], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


class History:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.last_read = {}  # (client, key) -> the value its latest completed GET returned
        self.counts = {"ok": 0, "indeterminate": 0, "read_failed": 0}

    @staticmethod
    def now():
        return time.monotonic_ns()

    def invoke(self, client, op, key, value=None, node=None):
        e = {"client": client, "op": op, "key": key, "invoke": self.now(), "return": None}
        if value is not None:
            e["value"] = value
        if node is not None:
            e["node"] = node
        return e

    def ok(self, e, out=None):
        e["return"] = self.now()
        if e["op"] in ("read", "incr"):
            e["out"] = out
        elif e["op"] == "cas":
            e["out"] = bool(out)
        with self.lock:
            self.ops.append(e)
            self.counts["ok"] += 1

    def unknown(self, e, why):
        """Timeout / connection lost / error reply: the op may or may not have taken effect.
        Indeterminate reads constrain nothing and are dropped."""
        e["return"] = None
        e["error"] = str(why)[:120]
        with self.lock:
            if e["op"] == "read":
                self.counts["read_failed"] += 1
                return
            self.ops.append(e)
            self.counts["indeterminate"] += 1

    def completed(self, op=None):
        with self.lock:
            return [
                e
                for e in self.ops
                if e["return"] is not None and (op is None or e["op"] == op)
            ]

    def write(self, path):
        with self.lock:
            ops = sorted(self.ops, key=lambda e: e["invoke"])
        with open(path, "w") as f:
            for e in ops:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        return len(ops)


# CAS by script: ARGV[1] the expected value ("" = no key: values are integers, never ""),
# ARGV[2] the new one; 1 if it swapped
CAS_SCRIPT = ("local v = redis.call('get', KEYS[1]) "
              "if (ARGV[1] == '' and not v) or v == ARGV[1] then "
              "redis.call('set', KEYS[1], ARGV[2]) return 1 end return 0")  # fmt: skip


def _cas_watch(history, client_id, target, conn, key, value):
    """CAS by WATCH: WATCH k, GET k (a recorded read), MULTI, SET k value, EXEC. An EXEC that
    ran is a CAS from the value read that succeeded (nothing modified k since the WATCH, which
    came before the read); nil means nothing ran: no effect, nothing to record. Returns like
    do_op."""
    try:
        conn.connect()
        conn.call("WATCH", key)
    except (redis.RedisError, OSError):
        return False  # WATCH changes no data
    if not do_op(history, client_id, target, conn, "get", key):
        return False
    seen = history.last_read.get((client_id, key))
    e = history.invoke(client_id, "cas", key, value, target.name)
    e["expect"] = seen
    try:
        if conn.call("MULTI") not in ("OK", b"OK", True):
            raise redis.ResponseError("unexpected MULTI reply")
        conn.call("SET", key, str(value))  # +QUEUED
    except (redis.RedisError, OSError):
        return False  # no EXEC was sent: nothing ran
    try:
        out = conn.call("EXEC")
    except (redis.RedisError, OSError) as err:
        history.unknown(e, err)
        return False
    if out is None:
        return True  # the watched key changed: nothing ran
    if not isinstance(out, list) or len(out) != 1 or out[0] not in ("OK", b"OK", True):
        history.unknown(e, f"unexpected EXEC reply {out!r}")
        return False
    history.ok(e, True)
    return True


def do_op(history, client_id, target, conn, kind, key, value=None, expect=None):
    """Runs one recorded operation on a Conn. Returns True if it completed (False: error, the
    caller should drop the connection and back off). Kinds: get, set, incr, cas_eval (expect ->
    value by EVAL), cas_watch (from the value it reads, by WATCH / MULTI / EXEC)."""
    if kind == "cas_watch":
        return _cas_watch(history, client_id, target, conn, key, value)
    op = {"get": "read", "set": "write", "incr": "incr", "cas_eval": "cas"}[kind]
    try:
        conn.connect()
    except (redis.RedisError, OSError):
        return False  # nothing was sent: no effect, nothing to record
    e = history.invoke(client_id, op, key, value, target.name)
    if kind == "cas_eval":
        e["expect"] = expect
    try:
        if kind == "get":
            out = conn.call("GET", key)
            history.last_read[(client_id, key)] = out
        elif kind == "cas_eval":
            out = conn.call("EVAL", CAS_SCRIPT, "1", key, "" if expect is None else str(expect),
                            str(value))  # fmt: skip
            if out not in (0, 1):
                raise redis.ResponseError(f"unexpected EVAL reply {out!r}")
        elif kind == "set":
            out = conn.call("SET", key, str(value))
            if out not in ("OK", b"OK", True):
                raise redis.ResponseError(f"unexpected SET reply {out!r}")
            out = None
        else:
            out = int(conn.call("INCR", key))
    except (redis.RedisError, OSError) as err:  # error reply, timeout, connection lost
        history.unknown(e, err)
        return False
    history.ok(e, out)
    return True


class Workload:
    """Concurrent clients on `keys`: 40% GET, 30% SET of a unique integer, 15% INCR, 8% CAS by
    EVAL (from the value this client last read of the key to a unique integer), 7% CAS by
    WATCH / MULTI / EXEC, each on a random key against a random target. After an error a
    client backs off 50-250 ms, which bounds the number of indeterminate ops (each one widens
    the checker's search)."""

    def __init__(self, history, targets, keys, clients, seed, op_timeout=1.5, think_s=0.002):
        self.history, self.targets, self.keys = history, list(targets), list(keys)
        self.n_clients, self.seed = clients, seed
        self.op_timeout, self.think_s = op_timeout, think_s
        self.stop_event = threading.Event()
        self.threads = []
        self.errors = []

    def _run(self, cid):
        rng = random.Random(self.seed * 1000 + cid)
        conns = {}
        seq = 0
        try:
            while not self.stop_event.is_set():
                t = rng.choice(self.targets)
                if t.name not in conns:
                    conns[t.name] = t.conn(self.op_timeout)
                key = rng.choice(self.keys)
                x = rng.random()
                seq += 1
                expect = None
                if x < 0.40:
                    kind, val = "get", None
                elif x < 0.70:
                    kind, val = "set", cid * 10_000_000 + seq  # unique per run
                elif x < 0.85:
                    kind, val = "incr", None
                elif x < 0.93:
                    kind, val = "cas_eval", cid * 10_000_000 + seq
                    expect = self.history.last_read.get((cid, key))
                else:
                    kind, val = "cas_watch", cid * 10_000_000 + seq
                if not do_op(self.history, cid, t, conns[t.name], kind, key, val, expect):
                    conns.pop(t.name).close()
                    self.stop_event.wait(rng.uniform(0.05, 0.25))
                elif self.think_s:
                    self.stop_event.wait(self.think_s)
        except Exception as e:  # noqa: BLE001 — surfaced by stop()
            self.errors.append(repr(e))
        finally:
            for c in conns.values():
                c.close()

    def start(self):
        for cid in range(1, self.n_clients + 1):
            th = threading.Thread(target=self._run, args=(cid,), daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def stop(self):
        self.stop_event.set()
        for th in self.threads:
            th.join(timeout=self.op_timeout + 10)
        assert not any(th.is_alive() for th in self.threads), "workload client stuck"
        assert not self.errors, f"workload client crashed: {self.errors}"

    def final_reads(self, targets=None):
        """One read of every key from every target (after healing): ties the history's end to
        the state every node serves."""
        for t in targets or self.targets:
            c = t.conn(max(self.op_timeout, 5.0))
            for k in self.keys:
                do_op(self.history, 0, t, c, "get", k)
            c.close()


class RedisTarget:
    """A plain redis-server process (harness.Proc) as a workload target."""

    def __init__(self, proc, port, host="127.0.0.1"):
        self.proc, self.port, self.host = proc, port, host
        self.name = proc.name

    def conn(self, timeout=2.0):
        return Conn(self.host, self.port, None, timeout)


class Nemesis:
    """Runs faults from a seeded schedule until stopped. Each step: wait a quiet gap, pick an
    action (from the seeded RNG), apply it for a while, undo it. `actions` is a subset of
    ("kill", "kill_leader", "pause", "pause_leader", "partition", "isolate_leader",
    "asymmetric", "bridge"); which node is "the leader" is asked at run time, so a replay
    repeats the same schedule of actions and durations, not necessarily the same victims.

    procs: harness.Proc objects; restart(proc) brings a killed one back (default: start() and
    wait until serving); leader_fn() -> proc or None; lab: NetLab for partition actions;
    cycle=True takes the actions in turn instead of at random."""

    def __init__(self, seed, procs, actions, leader_fn=None, lab=None, restart=None,
                 gap_s=(0.5, 2.0), fault_s=(0.5, 3.0), cycle=False):  # fmt: skip
        self.rng = random.Random(seed)
        self.cycle, self.n_steps = cycle, 0
        self.procs, self.actions = list(procs), list(actions)
        self.leader_fn = leader_fn or (lambda: None)
        self.lab = lab
        self.restart = restart or (lambda p: p.start())
        self.gap_s, self.fault_s = gap_s, fault_s
        self.stop_event = threading.Event()
        self.log = []
        self.thread = None
        self.error = None
        self.t0 = time.monotonic()

    def _note(self, what):
        line = f"[nemesis +{time.monotonic() - self.t0:6.2f}s] {what}"
        self.log.append(line)
        print(line, flush=True)

    def _victim(self, leader_wanted):
        if leader_wanted:
            ld = self.leader_fn()
            if ld is not None:
                return ld
        return self.rng.choice(self.procs)

    def _step(self):
        if self.cycle:  # every action in turn (durations and victims still seeded)
            action = self.actions[self.n_steps % len(self.actions)]
        else:
            action = self.rng.choice(self.actions)
        self.n_steps += 1
        dur = self.rng.uniform(*self.fault_s)
        idx = list(range(len(self.procs)))
        if action in ("kill", "kill_leader"):
            p = self._victim(action == "kill_leader")
            self._note(f"{action}: kill -9 {p.name} (pid {p.pid}) for {dur:.1f}s")
            p.kill()
            self.stop_event.wait(dur)
            self._note(f"restart {p.name}")
            self.restart(p)
        elif action in ("pause", "pause_leader"):
            p = self._victim(action == "pause_leader")
            self._note(f"{action}: SIGSTOP {p.name} (pid {p.pid}) for {dur:.1f}s")
            p.pause()
            self.stop_event.wait(dur)
            self._note(f"SIGCONT {p.name}")
            p.resume()
        elif action == "partition":
            self.rng.shuffle(idx)
            cut = self.rng.randrange(1, len(idx))
            a, b = idx[:cut], idx[cut:]
            self._note(f"partition {[self.procs[i].name for i in a]} | "
                       f"{[self.procs[i].name for i in b]} for {dur:.1f}s")  # fmt: skip
            self.lab.partition(a, b)
            self.stop_event.wait(dur)
            self._note("heal")
            self.lab.heal()
        elif action == "isolate_leader":
            p = self._victim(True)
            i = self.procs.index(p)
            self._note(f"isolate {p.name} for {dur:.1f}s")
            self.lab.isolate(i)
            self.stop_event.wait(dur)
            self._note("heal")
            self.lab.heal()
        elif action == "asymmetric":
            i, j = self.rng.sample(idx, 2)
            self._note(f"asymmetric: {self.procs[i].name} cannot send to "
                       f"{self.procs[j].name} for {dur:.1f}s")  # fmt: skip
            self.lab.block(i, j)
            self.stop_event.wait(dur)
            self._note("heal")
            self.lab.heal()
        elif action == "bridge":
            # i reaches only j: cut i from every other node
            i, j = self.rng.sample(idx, 2)
            self._note(f"bridge: {self.procs[i].name} reaches only {self.procs[j].name} "
                       f"for {dur:.1f}s")  # fmt: skip
            for k in idx:
                if k not in (i, j):
                    self.lab.cut(i, k)
            self.stop_event.wait(dur)
            self._note("heal")
            self.lab.heal()
        else:
            raise ValueError(action)

    def _run(self):
        try:
            while not self.stop_event.is_set():
                if self.stop_event.wait(self.rng.uniform(*self.gap_s)):
                    break
                self._step()
        except Exception as e:  # noqa: BLE001 — re-raised by stop()
            self.error = e
            self._note(f"nemesis error: {e!r}")

    def start(self):
        self.t0 = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.stop_event.set()
        if self.thread:
            self.thread.join(timeout=60)
            assert not self.thread.is_alive(), "nemesis stuck"
        self.heal()
        if self.error:
            raise self.error

    def heal(self):
        """Undoes every fault still in effect: heals partitions, resumes paused processes,
        restarts killed ones."""
        if self.lab:
            self.lab.heal()
        for p in self.procs:
            if p.paused:
                p.resume()
        for p in self.procs:
            if not p.alive():
                self._note(f"heal: restart {p.name}")
                self.restart(p)


def check_history(history, path, min_ok=1):
    """Writes the history, runs lincheck and asserts: linearizable, and at least `min_ok`
    completed operations (a run where nothing succeeded proves nothing)."""
    n = history.write(path)
    done = history.completed()
    writes = [e for e in done if e["op"] != "read"]
    reads = [e for e in done if e["op"] == "read"]
    print(
        f"history: {n} ops recorded in {path}: {len(writes)} writes/incrs and {len(reads)} reads "
        f"completed, {history.counts['indeterminate']} indeterminate, "
        f"{history.counts['read_failed']} failed reads"
    )
    assert len(done) >= min_ok, f"only {len(done)} operations succeeded: {history.counts}"
    assert writes and reads, f"no completed writes or no completed reads: {history.counts}"
    rc, out = run_lincheck(path)
    print(out[-4000:])
    assert rc != 1, f"history is NOT linearizable ({path}):\n{out[-6000:]}"
    assert rc == 0, f"lincheck could not decide (exit {rc}) on {path}:\n{out[-3000:]}"


def wait_redis(port, proc, timeout=10.0):
    def up():
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited\n{proc.log()[-2000:]}")
        try:
            c = Conn("127.0.0.1", port, None, 1.0)
            ok = c.call("PING") in ("PONG", b"PONG")
            c.close()
            return ok
        except (redis.RedisError, OSError):
            return False

    wait_for(up, timeout, what=f"{proc.name} to answer PING")


class Writers:
    """Write load for the fault tests: `n` threads, each doing, against a random target (or
    its pinned one), SET w:<client>:<seq> <client>:<seq> (unique) or, when incr_key is given,
    every other op INCR incr_key. Keeps what was acknowledged, what is indeterminate and when
    each acknowledged write was invoked and answered (time.monotonic())."""

    def __init__(self, targets, n=4, op_timeout=2.0, incr_key=None, pin=None, prefix="w"):
        self.targets, self.n, self.op_timeout = list(targets), n, op_timeout
        self.incr_key, self.pin, self.prefix = incr_key, pin or {}, prefix
        self.lock = threading.Lock()
        self.acked = {}  # key -> value
        self.unknown = set()  # keys whose SET has an unknown outcome
        self.incr_outs = []  # values returned by acknowledged INCRs
        self.incr_unknown = 0
        self.ok_times = []
        self.stop_event = threading.Event()
        self.threads = []
        self.errors = []

    def _run(self, cid):
        rng = random.Random(cid)
        conns = {}
        seq = 0
        try:
            while not self.stop_event.is_set():
                t = self.pin.get(cid) or rng.choice(self.targets)
                c = conns.get(t.name) or conns.setdefault(t.name, t.conn(self.op_timeout))
                seq += 1
                incr = self.incr_key is not None and seq % 2 == 0
                key, val = f"{self.prefix}:{cid}:{seq}", f"{cid}:{seq}"
                try:
                    c.connect()
                except (redis.RedisError, OSError):
                    conns.pop(t.name).close()
                    self.stop_event.wait(0.05)
                    continue
                t_invoke = time.monotonic()
                try:
                    out = c.call("INCR", self.incr_key) if incr else c.call("SET", key, val)
                except (redis.RedisError, OSError):
                    with self.lock:
                        if incr:
                            self.incr_unknown += 1
                        else:
                            self.unknown.add(key)
                    conns.pop(t.name).close()
                    self.stop_event.wait(0.05)
                    continue
                with self.lock:
                    if incr:
                        self.incr_outs.append(int(out))
                    else:
                        assert out == "OK", out
                        self.acked[key] = val
                    self.ok_times.append((t_invoke, time.monotonic()))
        except Exception as e:  # noqa: BLE001 — surfaced by stop()
            self.errors.append(repr(e))
        finally:
            for c in conns.values():
                c.close()

    def start(self):
        for cid in range(1, self.n + 1):
            th = threading.Thread(target=self._run, args=(cid,), daemon=True)
            th.start()
            self.threads.append(th)
        return self

    def stop(self):
        self.stop_event.set()
        for th in self.threads:
            th.join(timeout=self.op_timeout + 10)
        assert not any(th.is_alive() for th in self.threads), "writer stuck"
        assert not self.errors, self.errors

    def n_ok(self):
        with self.lock:
            return len(self.ok_times)

    def first_ok_after(self, t):
        """Acknowledgement time of the first write invoked after t, or None."""
        with self.lock:
            return next((a for i, a in self.ok_times if i > t), None)

    def wait_ok(self, n, timeout):
        wait_for(lambda: self.n_ok() >= n, timeout, what=f"{n} acknowledged writes")

    def check_incr(self, final):
        """INCR: no acknowledged value returned twice (no duplicate application) and the final
        count explained by acknowledged plus possibly-applied increments."""
        outs = sorted(self.incr_outs)
        dups = [v for i, v in enumerate(outs) if i and outs[i - 1] == v]
        assert not dups, f"INCR returned the same value twice: {dups[:10]}"
        lo, hi = len(outs), len(outs) + self.incr_unknown
        assert lo <= final <= hi, f"counter {final}, expected {lo}..{hi} (acked..acked+unknown)"
        assert not outs or outs[-1] <= final, f"acked INCR returned {outs[-1]} > final {final}"


def read_all(target, keys, timeout=5.0, chunk=500):
    """Values of keys read through `target` with its default (linearizable) consistency."""
    c = target.client(timeout)
    try:
        out = []
        for i in range(0, len(keys), chunk):
            out += c.mget(keys[i : i + chunk])
        return dict(zip(keys, out))
    finally:
        c.close()


def cluster_nemesis_run(c, lab, seed, seconds, actions=None, clients=5, keys=("a", "b", "c", "d"),
                        cycle=False):  # fmt: skip
    """The nemesis test on a started SynodCluster `c` (lab: its NetLab or None): workload +
    nemesis for `seconds`, then heal, wait for a leader, 2 s more of workload, stop it, wait
    until all nodes converge, one read of every key on every node. Returns (History, time the
    cluster had a leader again after healing, the nemesis's log lines)."""

    def restart(node):
        node.start()
        node.wait_serving()

    def leader():
        return c.leader(infos=c.infos(timeout=0.5))

    if actions is None:
        actions = ["kill", "kill_leader", "pause", "pause_leader"]
        if lab:
            actions += ["partition", "isolate_leader", "asymmetric", "bridge"]
    h = History()
    w = Workload(h, c.nodes, keys, clients=clients, seed=seed, op_timeout=1.5, think_s=0.005)
    nem = Nemesis(seed, c.nodes, actions, leader_fn=leader, lab=lab, restart=restart, cycle=cycle)
    w.start()
    nem.start()
    try:
        w.stop_event.wait(seconds)
        nem.stop()  # heals whatever is still in effect
        c.wait_leader()
        t_healed = h.now()
        w.stop_event.wait(2.0)  # post-heal operations are checked too
    finally:
        nem.stop_event.set()
        w.stop()
    c.wait_converged(list(keys))  # without load, or the indexes never agree
    w.final_reads()
    return h, t_healed, nem.log
