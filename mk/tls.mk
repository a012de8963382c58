# mk/tls.mk — the cost of TLS (issue 9), in one run: synod and redis-server, plain and over
# tls-port, SET/GET with redis-benchmark --tls; then two 3-node synod clusters side by side,
# plain and tls-cluster yes (TLS peers, relays and clients), SET through the leader and through
# a follower, against redis-server over TLS.
#
#   make bench-tls        full run (3 rounds: 200k requests per single-node case, 100k per
#                         cluster case)
#   make bench-tls-quick  a short smoke run of the same script (about 10 s)
#   BENCH_TLS_ARGS="--port-base 23000" pins the servers' ports (default: free ports)

.PHONY: bench-tls bench-tls-quick
bench-tls: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/tls_compare.py $(BENCH_TLS_ARGS)

bench-tls-quick: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/tls_compare.py --quick $(BENCH_TLS_ARGS)

BENCH_EXTRA += bench-tls
