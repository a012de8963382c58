# mk/sim.mk — the deterministic simulator and the linearizability checker (tests/sim).
#
#   make lincheck-test      checker unit tests + CLI tests on sample histories (in `make test`)
#   build/rel/sim/lincheck  the CLI: lincheck [--max-states N] FILE  (exit 0/1/2, 3 = bad input)

SIM_CFLAGS_REL := $(CFLAGS_COMMON) $(REL_CFLAGS)
SIM_CFLAGS_ASAN := $(CFLAGS_COMMON) $(ASAN_CFLAGS)

build/rel/sim/lincheck: tests/sim/lincheck_main.c tests/sim/lincheck.c tests/sim/lincheck.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SIM_CFLAGS_REL) tests/sim/lincheck_main.c tests/sim/lincheck.c $(LDLIBS) -o $@

build/asan/sim/lincheck: tests/sim/lincheck_main.c tests/sim/lincheck.c tests/sim/lincheck.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SIM_CFLAGS_ASAN) tests/sim/lincheck_main.c tests/sim/lincheck.c $(LDLIBS) -o $@

build/asan/sim/test_lincheck: tests/sim/test_lincheck.c tests/sim/lincheck.c tests/sim/lincheck.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(SIM_CFLAGS_ASAN) tests/sim/test_lincheck.c tests/sim/lincheck.c -lcmocka $(LDLIBS) -o $@

.PHONY: lincheck-test
lincheck-test: build/asan/sim/test_lincheck build/asan/sim/lincheck build/rel/sim/lincheck
	build/asan/sim/test_lincheck
	@bash tests/sim/lincheck_cli_test.sh build/asan/sim/lincheck

TEST_EXTRA += lincheck-test
