# storage.mk — the WAL benchmark (owner: storage helper). The fuzz target tests/fuzz/fuzz_wal.c
# names its sources in its `// fuzz-sources:` line (see mk/fuzz.mk).

build/rel/bench/bench_wal: bench/bench_wal.c build/rel/libsynod.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(REL_CFLAGS) $< build/rel/libsynod.a $(LDLIBS) -o $@

# BENCH_WAL_ARGS: "DIR SECONDS" (default: a temp dir under /tmp, 2 s per batch size).
.PHONY: bench-wal
bench-wal: build/rel/bench/bench_wal
	build/rel/bench/bench_wal $(BENCH_WAL_ARGS)

BENCH_EXTRA += bench-wal
