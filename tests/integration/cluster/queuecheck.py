"""queuecheck.py — history of a stream-queue run (XADD producers, XREADGROUP + XACK consumers in
one group) and the checker of test_cluster_queue.py (issue 12, "Done when" bullet 3).

History records (times from time.monotonic(), invoke before the request is sent, ret after the
reply was read):
    adds        {"val", "invoke", "ret", "id"}: XADD q * v <val>; id None = outcome unknown
                (timeout, connection lost, error reply: the entry may or may not exist)
    deliveries  {"id", "val", "via", "invoke", "ret", "consumer"}: one entry returned to a
                consumer; via ">" (new entries), "pel" (its own pending list, id 0) or "claim"
    acks        {"id", "invoke", "ret"}: XACK q g <id> answered 1 (the entry left the PEL)

check(h, final_entries) returns a list of violations (empty: the run is correct), final_entries
being [(id, val)] of XRANGE q - + read after healing:
  1. every acknowledged XADD is in the stream, with its value, and no value appears twice;
  2. ids strictly increase in real-time order: an XADD acknowledged before another was invoked
     has the smaller id;
  3. every entry of the stream was delivered to the group at least once;
  4. no entry was delivered twice through ">";
  5. an entry whose XACK was acknowledged is never delivered again (by a read invoked after).
"""

import bisect
import threading


def sid(s):
    a, _, b = s.partition("-")
    return (int(a), int(b))


class QueueHistory:
    def __init__(self):
        self.lock = threading.Lock()
        self.adds, self.deliveries, self.acks = [], [], []

    def add(self, rec):
        with self.lock:
            self.adds.append(rec)

    def delivered(self, recs):
        with self.lock:
            self.deliveries.extend(recs)

    def acked(self, rec):
        with self.lock:
            self.acks.append(rec)


def check(h, final_entries):
    bad = []
    stream_ids = {i for i, _ in final_entries}
    by_val = {}
    for i, v in final_entries:
        if v in by_val:
            bad.append(f"value {v} in the stream twice: {by_val[v]} and {i}")
        by_val[v] = i
    added = [a for a in h.adds if a["id"] is not None]
    # 1. acknowledged XADDs are there
    for a in added:
        got = by_val.get(a["val"])
        if got != a["id"]:
            bad.append(f"acknowledged XADD {a['val']} -> {a['id']} lost: "
                       f"{'missing' if got is None else 'at ' + got} in the stream")  # fmt: skip
    for i, v in final_entries:
        if not any(a["val"] == v for a in h.adds):
            bad.append(f"entry {i} value {v} was never added")
    # 2. real-time order: sort by return time; for each add, every add returned before its
    #    invocation must have a smaller id (prefix maximum over return times)
    by_ret = sorted(added, key=lambda a: a["ret"])
    rets = [a["ret"] for a in by_ret]
    prefix, best = [], None
    for a in by_ret:
        if best is None or sid(a["id"]) > sid(best["id"]):
            best = a
        prefix.append(best)
    for b in added:
        k = bisect.bisect_left(rets, b["invoke"])
        if k and sid(prefix[k - 1]["id"]) >= sid(b["id"]):
            p = prefix[k - 1]
            bad.append(f"XADD {b['val']} invoked after XADD {p['val']} returned "
                       f"{p['id']}, got the id {b['id']} (not greater)")  # fmt: skip
    # 3. every entry delivered at least once
    delivered = {d["id"] for d in h.deliveries}
    for i in sorted(stream_ids - delivered, key=sid)[:20]:
        bad.append(f"entry {i} never delivered to the group")
    # 4. no entry twice through ">"
    seen = {}
    for d in sorted(h.deliveries, key=lambda d: d["invoke"]):
        if d["via"] != ">":
            continue
        if d["id"] in seen:
            bad.append(f"entry {d['id']} delivered twice through '>': to "
                       f"{seen[d['id']]['consumer']} and to {d['consumer']}")  # fmt: skip
        else:
            seen[d["id"]] = d
    # 5. nothing delivered again once its XACK was acknowledged
    acked_at = {}
    for a in h.acks:
        acked_at[a["id"]] = min(acked_at.get(a["id"], a["ret"]), a["ret"])
    for d in h.deliveries:
        t = acked_at.get(d["id"])
        if t is not None and d["invoke"] > t:
            bad.append(f"entry {d['id']} delivered ({d['via']}, to {d['consumer']}) after its "
                       "XACK was acknowledged")
    # deliveries must carry the value the stream has
    for d in h.deliveries:
        if d["id"] in stream_ids and by_val.get(d["val"]) != d["id"]:
            bad.append(f"entry {d['id']} delivered with value {d['val']}")
    return bad
