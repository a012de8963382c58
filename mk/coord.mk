# mk/coord.mk — the coordination and scripting benchmark (issue 11), bench/bench_coord.py:
#   EVALSHA of a small INCR + PEXPIRE rate limiter, synod single node vs redis-server (and
#   3-node fsync always vs redis appendfsync always, for information); lock acquire/release
#   cycles on synod 3-node vs a 3-member etcd's v3 lock API (JSON gateway), both driven by
#   build/rel/bench/bench_coord_lock, 50 clients, uncontended and contended.
#   make bench-coord        3 alternating rounds of 5 s per test (part of `make bench`)
#   make bench-coord-quick  1 round of 2 s
build/rel/bench/bench_coord_lock: bench/bench_coord_lock.c bench/bench_common.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(REL_CFLAGS) $< -o $@

.PHONY: bench-coord bench-coord-quick
bench-coord: build/rel/synod build/rel/bench/bench_coord_lock
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_coord.py

bench-coord-quick: build/rel/synod build/rel/bench/bench_coord_lock
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_coord.py --quick

BENCH_EXTRA += bench-coord

# tests/integration/test_bench_lock.py runs the lock-cycle client against synod and etcd
integration: build/rel/bench/bench_coord_lock
