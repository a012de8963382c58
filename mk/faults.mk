# mk/faults.mk — cluster fault tests, nemesis runs and the cluster benchmark (issue 4).
# docs/testing-faults.md explains the harness, the history format and how to replay a seed.
#
#   make faults-test        only tests/integration/cluster (also part of `make integration`)
#   make faults-long        a 5-minute nemesis run against a 3-node cluster (in `make test-long`)
#   make faults-fake        the same tests against fake_synod.py (checks the tests, not synod)
#   SEED=n make faults-test replay a randomised run
#   make bench-cluster      synod 3-node vs etcd 3-node vs redis (in `make bench`)

FAULTS_ENV = SYNOD_BIN=$(CURDIR)/build/rel/synod LINCHECK_BIN=$(CURDIR)/build/rel/sim/lincheck
FAULTS_PYTEST = cd tests/integration && $(FAULTS_ENV) \
	timeout 3600 $(PY) -m pytest -q -p no:cacheprovider

.PHONY: faults-test faults-long faults-fake
faults-test: build/rel/synod build/rel/sim/lincheck
	$(FAULTS_PYTEST) -x cluster

# every cluster test against tests/integration/cluster/fake_synod.py (a stand-in, not Raft):
# checks the harness and the tests themselves, not synod
faults-fake: build/rel/sim/lincheck
	cd tests/integration && SYNOD_BIN=$(CURDIR)/tests/integration/cluster/fake_synod.py \
	LINCHECK_BIN=$(CURDIR)/build/rel/sim/lincheck timeout 1800 $(PY) -m pytest -q \
	-p no:cacheprovider -x cluster

faults-long: build/rel/synod build/rel/sim/lincheck
	cd tests/integration && NEMESIS_SECONDS=$${NEMESIS_SECONDS:-300} $(FAULTS_ENV) \
	timeout 3600 $(PY) -m pytest -q -p no:cacheprovider -x -s cluster/test_cluster_nemesis.py

test-long: faults-long

# bench-cluster (part of `make bench`): synod 3-node vs etcd 3-node vs redis appendfsync always,
# 50 clients, writes and linearizable reads. bench-cluster-quick: 2 s per test, 1 round.
build/rel/bench/bench_cluster_http: bench/bench_cluster_http.c bench/bench_common.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(REL_CFLAGS) $< $(LDLIBS) -o $@

.PHONY: bench-cluster bench-cluster-quick
bench-cluster: build/rel/synod build/rel/bench/bench_cluster_http
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_cluster.py

bench-cluster-quick: build/rel/synod build/rel/bench/bench_cluster_http
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_cluster.py --quick

BENCH_EXTRA += bench-cluster

# bench-failover (part of `make bench`): kill -9 of the leader under a 50-client write load, time
# to the first acknowledged write through a survivor (median of 5), and term changes during 60 s
# of the same load without faults (issue 13). bench-failover-quick: 3 kills, 10 s.
.PHONY: bench-failover bench-failover-quick
bench-failover: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_failover.py

bench-failover-quick: build/rel/synod
	SYNOD_BIN=$(CURDIR)/build/rel/synod $(PY) bench/bench_failover.py --quick

BENCH_EXTRA += bench-failover

# the stream-queue test of issue 12 for 5 minutes (tests/integration/cluster/test_cluster_queue.py;
# `make test` runs it for 12 s). SEED=n replays a schedule.
.PHONY: queue-long
queue-long: build/rel/synod
	cd tests/integration && QUEUE_SECONDS=$${QUEUE_SECONDS:-300} $(FAULTS_ENV) \
	timeout 3600 $(PY) -m pytest -q -p no:cacheprovider -x -s \
	cluster/test_cluster_queue.py::test_queue_under_faults

test-long: queue-long
