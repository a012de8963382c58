# resp.mk — differential test of the RESP parser against a real redis-server 7.0 (owner: resp).
#
#   make resp-diff                      in `make test`: RESP_DIFF_CASES (4000) random requests
#   make resp-diff RESP_DIFF_SEED=N     replays a printed seed; RESP_DIFF_CASES=20000 for longer
# Each case is sent raw to redis-server and parsed by synod's parser; Redis's replies (unknown-
# command errors that quote every argument, protocol errors, nothing for pending bytes) must
# equal the replies predicted from synod's parse, byte for byte.

RESP_DIFF_CASES ?= 4000

build/asan/tests/resp_dump: tests/fuzz/resp_dump.c build/asan/libsynod.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS_COMMON) $(ASAN_CFLAGS) $< build/asan/libsynod.a $(LDLIBS) -o $@

.PHONY: resp-diff
resp-diff: build/asan/tests/resp_dump
	RESP_DIFF_CASES=$(RESP_DIFF_CASES) RESP_DIFF_SEED=$(RESP_DIFF_SEED) timeout 300 $(PY) tests/fuzz/resp_vs_redis.py build/asan/tests/resp_dump

TEST_EXTRA += resp-diff
