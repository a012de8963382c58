# data: the keyspace's memory/speed check in the optimised build (ASan's allocator hides real
# heap use, so `make unit` only checks the layer's own accounting).
build/rel/tests/test_data_mem: tests/unit/test_data_mem.c build/rel/libsynod.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(REL_CFLAGS) $< build/rel/libsynod.a -lcmocka $(LDLIBS) -o $@

.PHONY: data-mem
data-mem: build/rel/tests/test_data_mem
	build/rel/tests/test_data_mem

TEST_EXTRA += data-mem
BENCH_EXTRA += data-mem
