# fuzz.mk — libFuzzer targets for every parser of untrusted bytes (owner: resp helper).
#
# Every tests/fuzz/fuzz_<name>.c is one libFuzzer target (it defines LLVMFuzzerTestOneInput and
# no main), built by clang with -fsanitize=fuzzer,address,undefined from its own source plus the
# project sources it names — compiled by clang right here, not taken from the gcc libsynod.a.
#
# How a target declares its sources (both forms may be used; globs are allowed):
#   - a comment line near the top of the target file:
#         // fuzz-sources: src/resp/*.c src/util/*.c
#   - or, overriding that line, a make variable in your own mk/<name>.mk:
#         FUZZ_SRCS_fuzz_wal := src/storage/wal.c src/util/crc32c.c src/util/assert.c
# Seeds: committed files in tests/fuzz/corpus/<target>/ (small: a few KB each). Runs never write
# there; new inputs go to build/fuzz/work/<target>/, crashes to build/fuzz/artifacts/.
#
#   make fuzz-build                 builds every target into build/fuzz/
#   make fuzz-short                 each target for FUZZ_SHORT_SECONDS (10) — part of `make test`
#   make fuzz                       each target for FUZZ_SECONDS (600) — the long run
#   make fuzz FUZZ_TARGETS=fuzz_resp FUZZ_SECONDS=60 FUZZ_ARGS=-seed=1234
#                                   one target, replaying libFuzzer's printed "Seed:"
#   build/fuzz/fuzz_resp build/fuzz/artifacts/fuzz_resp-crash-...   reproduces a crash
# A run fails (non-zero exit) on any crash, sanitizer report, leak or timeout.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 10
FUZZ_ARGS ?=
FUZZ_CFLAGS := -std=c11 -g -O1 -Isrc -D_GNU_SOURCE $(filter-out -Werror,$(WARN)) \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_RUN_FLAGS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

FUZZ_TARGETS ?= $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS = $(addprefix build/fuzz/,$(FUZZ_TARGETS))

# $(call fuzz_srcs,NAME): the variable if set, else the file's `// fuzz-sources:` line.
fuzz_srcs = $(sort $(wildcard $(if $(FUZZ_SRCS_$(1)),$(FUZZ_SRCS_$(1)),\
    $(shell sed -n 's|^// *fuzz-sources:||p' tests/fuzz/$(1).c))))

# Prerequisites are every project source (conservative: fragments included after this one may
# set FUZZ_SRCS_*, so the exact list is only known when the recipe runs).
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard src/*/*.[ch] tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $< $(call fuzz_srcs,$(notdir $@)) $(LDLIBS) -o $@

# One target's run: $(1) = target name, $(2) = seconds.
define fuzz_run_one
	@mkdir -p build/fuzz/work/$(1) build/fuzz/artifacts
	@seeds=; [ -d tests/fuzz/corpus/$(1) ] && seeds=tests/fuzz/corpus/$(1); \
	  echo "== fuzz $(1) for $(2) s"; \
	  build/fuzz/$(1) $(FUZZ_RUN_FLAGS) -max_total_time=$(2) \
	    -artifact_prefix=build/fuzz/artifacts/$(1)- $(FUZZ_ARGS) \
	    build/fuzz/work/$(1) $$seeds 2>build/fuzz/$(1).log \
	    || { tail -n 60 build/fuzz/$(1).log; echo "fuzz: $(1) FAILED (log: build/fuzz/$(1).log)"; exit 1; }; \
	  grep -aE '^(INFO: Seed|Done|stat::number_of_executed_units|stat::average_exec_per_sec)|^#[0-9]+.*DONE' \
	    build/fuzz/$(1).log | sed "s|^|  $(1): |"
endef

# Each target is its own make goal, so `make -jN fuzz-short` runs N fuzzers at once (the gate
# runs its extra stages with -j$(JOBS) --output-sync, so their outputs stay readable).
.PHONY: fuzz fuzz-short fuzz-build
fuzz-build: $(FUZZ_BINS)
fuzz-short: $(addprefix fuzz-short-,$(FUZZ_TARGETS))
fuzz: $(addprefix fuzz-long-,$(FUZZ_TARGETS))
fuzz-short-%: build/fuzz/%
	$(call fuzz_run_one,$*,$(FUZZ_SHORT_SECONDS))
fuzz-long-%: build/fuzz/%
	$(call fuzz_run_one,$*,$(FUZZ_SECONDS))

TEST_EXTRA += fuzz-short
