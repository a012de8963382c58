# synod — build, test, run, bench.
#
# Layout of build outputs:
#   build/rel/   optimised build (the synod binary used by `make run`, integration tests, bench)
#   build/asan/  AddressSanitizer + UndefinedBehaviorSanitizer build (unit and simulator tests)
#
# Every src/<module>/*.c is compiled into libsynod.a; src/server/main.c alone makes the binary.
# Each tests/unit/test_<name>.c is one unit-test binary (cmocka) linked against libsynod.a.
# Fragments in mk/*.mk add their own targets and append to TEST_EXTRA / BENCH_EXTRA.

.DEFAULT_GOAL := all
SHELL := /bin/bash

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
PY := /usr/bin/python3
JOBS ?= 2

# Lua 5.1 (Debian's liblua5.1-0-dev, the version Redis embeds) for src/script; cjson and bit from
# Debian's lua-cjson-dev / lua-bitop-dev, linked statically into the scripting engine's sandbox.
# (cmsgpack and struct, which Debian lacks, are ours: src/script/script_msgpack.c, script_struct.c.)
LUA_CFLAGS := -I/usr/include/lua5.1
LUA_LIBS := /usr/lib/x86_64-linux-gnu/liblua5.1-cjson.a /usr/lib/x86_64-linux-gnu/liblua5.1-bitop.a -llua5.1
CPPFLAGS := -Isrc $(LUA_CFLAGS) -D_GNU_SOURCE -MMD -MP
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_COMMON := -std=c11 -g $(WARN)
REL_CFLAGS := -O2
ASAN_CFLAGS := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS := $(LUA_LIBS) -lm -lssl -lcrypto

LIB_SRCS := $(filter-out src/server/main.c,$(wildcard src/*/*.c))
REL_OBJS := $(patsubst %.c,build/rel/%.o,$(LIB_SRCS))
ASAN_OBJS := $(patsubst %.c,build/asan/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRCS))

TEST_EXTRA :=
BENCH_EXTRA :=

.PHONY: all deps test unit integration lint fmt check-fmt run bench clean test-long

all: build/rel/synod

build/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(REL_CFLAGS) -c $< -o $@

build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(ASAN_CFLAGS) -c $< -o $@

build/rel/libsynod.a: $(REL_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

build/asan/libsynod.a: $(ASAN_OBJS)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

build/rel/synod: build/rel/src/server/main.o build/rel/libsynod.a
	$(CC) $(CFLAGS_COMMON) $(REL_CFLAGS) $^ $(LDLIBS) -o $@

build/asan/synod: build/asan/src/server/main.o build/asan/libsynod.a
	$(CC) $(CFLAGS_COMMON) $(ASAN_CFLAGS) $^ $(LDLIBS) -o $@

build/asan/tests/%: tests/unit/%.c build/asan/libsynod.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(ASAN_CFLAGS) $< build/asan/libsynod.a -lcmocka $(LDLIBS) -o $@

# Debian packages the build, tests and benchmarks need (idempotent; installs only what is missing).
deps:
	@bash scripts/deps.sh

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# Each unit binary as its own goal: the gate runs them -j$(JOBS) beside its other extra stages.
UNIT_RUNS := $(addprefix unit-run/,$(notdir $(UNIT_BINS)))
.PHONY: $(UNIT_RUNS)
$(UNIT_RUNS): unit-run/%: build/asan/tests/%
	@echo "== $<"; $<

# $(JOBS) pytest workers (pytest-xdist), each test file on one worker in its order; each worker
# hands out its own slice of ports (cluster/harness.py free_ports).
integration: build/rel/synod
	cd tests/integration && SYNOD_BIN=$(CURDIR)/build/rel/synod timeout 900 $(PY) -m pytest -q -x -p no:cacheprovider --durations=15 -n $(JOBS) --dist loadfile .

# The server built with AddressSanitizer + UndefinedBehaviorSanitizer under a few cluster tests
# (relays, blocking commands, snapshots, restarts, forked debugging sessions; relays while leaders
# are killed and paused): a node that exits with a sanitizer report, a leak at shutdown included,
# fails its test (the harness checks every node's exit status).
ASAN_SMOKE := test_cluster_basic.py cluster/test_cluster_dump.py cluster/test_cluster_blocking.py \
	cluster/test_cluster_ldb.py cluster/test_cluster_relay_faults.py::test_relays_survive_leader_faults
.PHONY: integration-asan
integration-asan: build/asan/synod
	cd tests/integration && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	SYNOD_BIN=$(CURDIR)/build/asan/synod timeout 600 $(PY) -m pytest -q -x -p no:cacheprovider \
	-k "not pipelined_pops_replicate_alike" $(ASAN_SMOKE)
TEST_EXTRA += integration-asan

lint:
	@bash scripts/lint.sh

FMT_FILES = $(shell find src tests bench -name '*.[ch]' 2>/dev/null)
fmt:
	clang-format -i $(FMT_FILES)
check-fmt:
	@clang-format --dry-run --Werror $(FMT_FILES) && echo "format: ok"

# The whole gate CI runs. The extra stages (unit tests, simulator, fuzzers, bug checks) are
# CPU-bound and independent, so they run $(JOBS) at a time; --output-sync keeps each one's output
# in one piece. The integration tests run after them, $(JOBS) files at a time (their fault tests
# wait for what they assert, with bounds meant for a loaded machine; kept under 10 minutes).
test: deps
	$(MAKE) -j$(JOBS) all $(UNIT_BINS) build/asan/synod
	$(MAKE) check-fmt lint
	$(MAKE) -j$(JOBS) --output-sync=target $(UNIT_RUNS) $(TEST_EXTRA)
	$(MAKE) integration

run: deps build/rel/synod
	bash scripts/run-cluster.sh

bench: deps build/rel/synod
	@set -e; for t in $(BENCH_EXTRA); do $(MAKE) $$t; done

clean:
	rm -rf build

-include mk/*.mk
-include $(REL_OBJS:.o=.d) $(ASAN_OBJS:.o=.d) build/rel/src/server/main.d build/asan/src/server/main.d
