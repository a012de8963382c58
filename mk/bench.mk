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
