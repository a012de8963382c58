# consensus.mk — the Raft library's extra targets (owned by the consensus helper).
#
#   make bench-raft      committed entries/s through a 3-node in-process cluster (batch 1, 64)
#   make raft-bugcheck   proves the Figure 8 unit test catches a leader that commits entries of
#                        earlier terms by counting replicas (built with RAFT_TEST_BUG_COMMIT_OLD_TERM),
#                        and test_raft_safety catches a node campaigning with a configuration two
#                        changes old (RAFT_TEST_BUG_STALE_CONFIG) and vote stickiness lost on a
#                        higher-term message (RAFT_TEST_BUG_STICKINESS)

BENCH_EXTRA += bench-raft
TEST_EXTRA += raft-bugcheck

RAFT_SRCS := $(wildcard src/consensus/*.c) $(wildcard src/util/*.c)

build/rel/bench/bench_raft: bench/bench_raft.c build/rel/libsynod.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(REL_CFLAGS) $< build/rel/libsynod.a $(LDLIBS) -o $@

.PHONY: bench-raft raft-bugcheck
bench-raft: build/rel/bench/bench_raft
	build/rel/bench/bench_raft

build/asan/tests/test_raft_bug: tests/unit/test_raft.c tests/unit/test_raft_fixture.h $(RAFT_SRCS) $(wildcard src/consensus/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(ASAN_CFLAGS) -DRAFT_TEST_BUG_COMMIT_OLD_TERM \
		tests/unit/test_raft.c $(RAFT_SRCS) -lcmocka $(LDLIBS) -o $@

build/asan/tests/test_raft_safety_bug_%: tests/unit/test_raft_safety.c tests/unit/test_raft_fixture.h $(RAFT_SRCS) $(wildcard src/consensus/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(ASAN_CFLAGS) -DRAFT_TEST_BUG_$* \
		tests/unit/test_raft_safety.c $(RAFT_SRCS) -lcmocka $(LDLIBS) -o $@

# Each deliberately broken core must fail its scenario in test_raft_safety (and only it).
SAFETY_BUGS := STALE_CONFIG:test_stale_config_after_lost_commit STICKINESS:test_stickiness_survives_higher_term \
               SELF_UNSYNCED:test_leader_counts_itself_only_when_persisted
raft-bugcheck: build/asan/tests/test_raft_bug $(foreach b,$(SAFETY_BUGS),build/asan/tests/test_raft_safety_bug_$(firstword $(subst :, ,$(b))))
	@set -e; for b in $(SAFETY_BUGS); do \
		bug=$${b%%:*}; want=$${b#*:}; log=build/asan/tests/test_raft_safety_bug_$$bug.log; \
		if build/asan/tests/test_raft_safety_bug_$$bug >$$log 2>&1; then \
			echo "raft-bugcheck: FAILED - test_raft_safety did not catch RAFT_TEST_BUG_$$bug"; cat $$log; exit 1; fi; \
		grep -q "FAILED  \] $$want" $$log || { echo "raft-bugcheck: RAFT_TEST_BUG_$$bug caught, but not by $$want"; cat $$log; exit 1; }; \
		echo "raft-bugcheck: ok (RAFT_TEST_BUG_$$bug caught by $$want)"; \
	done
	@if RAFT_TEST_ONLY=figure8 build/asan/tests/test_raft_bug >build/asan/tests/test_raft_bug.log 2>&1; then \
		echo "raft-bugcheck: FAILED - the Figure 8 test did not catch the old-term commit bug"; \
		cat build/asan/tests/test_raft_bug.log; exit 1; \
	else \
		grep -q "test_figure8_commit_rule" build/asan/tests/test_raft_bug.log && \
		echo "raft-bugcheck: ok (the Figure 8 test catches commits of old-term entries)"; \
	fi
