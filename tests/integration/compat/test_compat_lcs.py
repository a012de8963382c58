"""Differential tests: LCS (plain, LEN, IDX with MINMATCHLEN and WITHMATCHLEN, errors) against a
real redis-server 7.0, byte for byte in RESP2 and RESP3, on fixed cases and on seeded random
strings over small alphabets (ties in the table, runs broken by the walk: where the reply
depends on Redis's exact walk). Replay: LCS_SEED=<n>."""

import os
import random


def test_lcs_fixed(pair):
    for step in [
        ("MSET", "key1", "ohmytext", "key2", "mynewtext"), ("LCS", "key1", "key2"),
        ("LCS", "key1", "key2", "LEN"), ("LCS", "key1", "key2", "IDX"),
        ("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "key1", "key2", "idx", "withmatchlen", "minmatchlen", "-3"),
        ("LCS", "key1", "nokey"), ("LCS", "nokey", "nokey2", "IDX"), ("LCS", "nokey", "key1", "LEN"),
        ("LCS", "key1", "key2", "LEN", "IDX"), ("LCS", "key1", "key2", "FOO"),
        ("LCS", "key1", "key2", "MINMATCHLEN"), ("LCS", "key1", "key2", "MINMATCHLEN", "x"),
        ("LCS", "key1"), ("RPUSH", "l", "a"), ("LCS", "key1", "l"), ("LCS", "l", "nokey", "LEN"),
        ("SET", "n1", "12345"), ("SET", "n2", "2345"), ("LCS", "n1", "n2", "IDX", "WITHMATCHLEN"),
        ("SET", "same", "abcabc"), ("LCS", "same", "same", "IDX"),
        # the table's bound: (601 x 601) x 4 bytes > proto-max-bulk-len 1mb
        ("CONFIG", "SET", "proto-max-bulk-len", "1mb"), ("SET", "big1", "a" * 600),
        ("SET", "big2", "b" * 600), ("LCS", "big1", "big2", "LEN"), ("LCS", "big1", "key2"),
        ("CONFIG", "SET", "proto-max-bulk-len", "512mb"), ("LCS", "big1", "big2", "LEN"),
    ]:  # fmt: skip
        pair.step(step)
    pair.assert_clean()


def test_lcs_random(pair):
    seed = int(os.environ.get("LCS_SEED", random.randrange(1 << 30)))
    print(f"LCS_SEED={seed}")
    rng = random.Random(seed)
    for _ in range(60):
        alphabet = "ab" if rng.random() < 0.5 else "abcd"
        a = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        pair.step(("MSET", "a", a, "b", b))
        pair.step(("LCS", "a", "b"))
        pair.step(("LCS", "a", "b", "IDX", "WITHMATCHLEN"))
        pair.step(("LCS", "b", "a", "IDX", "MINMATCHLEN", str(rng.randrange(0, 4))))
    pair.assert_clean(f"LCS_SEED={seed}")
