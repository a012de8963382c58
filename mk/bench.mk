# mk/bench.mk — synod (single node) against a real redis-server in one run (issue 2).
#
#   make bench-redis        full run: SET GET INCR HSET at pipeline 1 and 16, 1M-key memory
#   make bench-redis-quick  a short smoke run of the same script

.PHONY: bench-redis bench-redis-quick
bench-redis: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/redis_compare.py

bench-redis-quick: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/redis_compare.py --quick

BENCH_EXTRA += bench-redis

# The durable queue (issue 12): XADD and XREADGROUP+XACK on synod 3-node (fsync always) against
# redis-server (appendfsync always) and NATS JetStream (3 nats-server, R3 file stream), and
# pub/sub fan-out to 100 subscribers against redis, in one run (bench/bench_queue.py).
#   make bench-queue        3 rounds of 10 s per test
#   make bench-queue-quick  1 round of 3 s
.PHONY: deps-bench bench-queue bench-queue-quick
deps-bench:
	@bash scripts/deps_bench.sh

bench-queue: deps-bench build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_queue.py

bench-queue-quick: deps-bench build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_queue.py --quick

BENCH_EXTRA += bench-queue

# What SLOWLOG and latency tracking cost (bench/diag_overhead.py): pipelined GET/SET with
# latency-tracking yes/no against redis-server yes/no in one run; BASE_BIN=path adds an older
# synod binary; CALLGRIND=1 counts instructions per request instead (valgrind).
.PHONY: bench-diag
bench-diag: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/diag_overhead.py \
		$(if $(BASE_BIN),--base-bin $(BASE_BIN)) $(if $(CALLGRIND),--callgrind)
