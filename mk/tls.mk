# mk/tls.mk — the cost of client TLS (issue 9): synod and redis-server, plain and over
# tls-port, SET/GET with redis-benchmark --tls, in one run.
#
#   make bench-tls        full run (3 rounds of 200k requests per case)
#   make bench-tls-quick  a short smoke run of the same script

.PHONY: bench-tls bench-tls-quick
bench-tls: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/tls_compare.py

bench-tls-quick: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/tls_compare.py --quick

BENCH_EXTRA += bench-tls
