// fuzz-sources: src/node/raftcodec.c src/util/assert.c
/* fuzz_raftcodec.c — libFuzzer target for the raft message batch decoder of the peer transport.
 *
 * The input is a FRAME_T_RAFT payload as a peer could send it. Every message the decoder accepts
 * must lie inside the input, respect the caps of raft.h, and re-encode to exactly the bytes it
 * was decoded from; whatever the bytes, the decoder must not crash, read out of bounds or
 * allocate in proportion to a declared (rather than received) length. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "node/raftcodec.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rcodec_scratch s = {0};
    size_t off = 0;
    uint32_t left = 0;
    raft_message m;
    for (int i = 0; i < 100000; i++) {
        size_t before = off;
        int rc = rcodec_batch_next(data, size, &off, &left, &m, &s);
        if (rc <= 0) break;
        CHECK(off <= size && off > before);
        CHECK(m.type >= 1 && m.type <= RAFT_MSG_TYPE_MAX);
        CHECK(m.n_entries <= RAFT_MAX_MSG_ENTRIES);
        CHECK(m.snapshot.config.n_voters <= RAFT_MAX_MEMBERS);
        size_t sz = rcodec_msg_size(&m);
        size_t start = before == 0 ? 4 : before;
        CHECK(sz + 4 == off - start);
        uint8_t *buf = malloc(sz);
        CHECK(buf != NULL);
        CHECK(rcodec_msg_encode(&m, buf) == sz);
        CHECK(memcmp(buf, data + start + 4, sz) == 0);
        free(buf);
    }
    rcodec_scratch_deinit(&s);
    return 0;
}
