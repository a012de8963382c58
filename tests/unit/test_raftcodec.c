/* test_raftcodec.c — the raft message codec of the peer transport: round trips of every message
 * type, batches, and malformed input (truncation at every byte, bad type/flags, oversized counts,
 * trailing garbage) that must be refused without reading outside the input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "node/raftcodec.h"

static raft_entry ents[3];
static const uint8_t payload[] = "hello world";

static raft_message sample(raft_msg_type t)
{
    raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = t;
    m.from = 1;
    m.to = 2;
    m.term = 7;
    m.log_term = 6;
    m.index = 41;
    m.commit = 40;
    m.reject = t == RAFT_MSG_APPEND_RESP;
    m.reject_hint = 33;
    m.reject_term = 5;
    m.transfer = t == RAFT_MSG_VOTE;
    m.ctx = 0xdeadbeefcafeull;
    if (t == RAFT_MSG_APPEND) {
        for (int i = 0; i < 3; i++) {
            ents[i].term = 7;
            ents[i].index = 42 + (uint64_t)i;
            ents[i].type = (raft_entry_type)(i % 3);
            ents[i].len = i == 1 ? 0 : (uint32_t)sizeof(payload);
            ents[i].data = i == 1 ? NULL : payload;
        }
        m.n_entries = 3;
        m.entries = ents;
    }
    if (t == RAFT_MSG_SNAPSHOT) {
        m.snapshot.index = 100;
        m.snapshot.term = 4;
        m.snapshot.config.n_voters = 3;
        m.snapshot.config.voters[0] = 1;
        m.snapshot.config.voters[1] = 2;
        m.snapshot.config.voters[2] = 3;
        m.snapshot.config.n_learners = 1;
        m.snapshot.config.learners[0] = 9;
        m.snap_offset = 65536;
        m.snap_len = sizeof(payload);
        m.snap_data = payload;
        m.snap_done = true;
    }
    return m;
}

static void assert_same(const raft_message *a, const raft_message *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->from, b->from);
    assert_int_equal(a->to, b->to);
    assert_int_equal(a->term, b->term);
    assert_int_equal(a->log_term, b->log_term);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->commit, b->commit);
    assert_int_equal(a->reject, b->reject);
    assert_int_equal(a->reject_hint, b->reject_hint);
    assert_int_equal(a->reject_term, b->reject_term);
    assert_int_equal(a->transfer, b->transfer);
    assert_int_equal(a->ctx, b->ctx);
    assert_int_equal(a->snap_offset, b->snap_offset);
    assert_int_equal(a->snap_done, b->snap_done);
    assert_int_equal(a->snap_len, b->snap_len);
    if (a->snap_len) assert_memory_equal(a->snap_data, b->snap_data, a->snap_len);
    assert_memory_equal(&a->snapshot, &b->snapshot, sizeof(a->snapshot));
    assert_int_equal(a->n_entries, b->n_entries);
    for (uint32_t i = 0; i < a->n_entries; i++) {
        assert_int_equal(a->entries[i].term, b->entries[i].term);
        assert_int_equal(a->entries[i].index, b->entries[i].index);
        assert_int_equal(a->entries[i].type, b->entries[i].type);
        assert_int_equal(a->entries[i].len, b->entries[i].len);
        if (a->entries[i].len)
            assert_memory_equal(a->entries[i].data, b->entries[i].data, a->entries[i].len);
        else
            assert_null(b->entries[i].data);
    }
}

static void test_roundtrip_every_type(void **state)
{
    (void)state;
    rcodec_scratch s = {0};
    for (int t = 1; t <= RAFT_MSG_TYPE_MAX; t++) {
        raft_message m = sample((raft_msg_type)t), d;
        size_t sz = rcodec_msg_size(&m);
        uint8_t *buf = malloc(sz);
        assert_int_equal(rcodec_msg_encode(&m, buf), sz);
        assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), 0);
        assert_same(&m, &d);
        free(buf);
    }
    rcodec_scratch_deinit(&s);
}

/* a batch payload of the given messages, as peer.c builds it */
static uint8_t *batch(const raft_message *ms, int n, size_t *len)
{
    size_t total = 4;
    for (int i = 0; i < n; i++)
        total += 4 + rcodec_msg_size(&ms[i]);
    uint8_t *b = malloc(total), *p = b;
    p[0] = 0, p[1] = 0, p[2] = 0, p[3] = (uint8_t)n, p += 4;
    for (int i = 0; i < n; i++) {
        uint32_t sz = (uint32_t)rcodec_msg_size(&ms[i]);
        p[0] = (uint8_t)(sz >> 24), p[1] = (uint8_t)(sz >> 16), p[2] = (uint8_t)(sz >> 8),
        p[3] = (uint8_t)sz;
        p += 4;
        p += rcodec_msg_encode(&ms[i], p);
    }
    *len = total;
    return b;
}

static int decode_all(const uint8_t *b, size_t len, int *count)
{
    rcodec_scratch s = {0};
    size_t off = 0;
    uint32_t left = 0;
    raft_message m;
    int rc;
    *count = 0;
    while ((rc = rcodec_batch_next(b, len, &off, &left, &m, &s)) == 1)
        (*count)++;
    rcodec_scratch_deinit(&s);
    return rc;
}

static void test_batch(void **state)
{
    (void)state;
    raft_message ms[3] = {sample(RAFT_MSG_APPEND), sample(RAFT_MSG_HEARTBEAT),
                          sample(RAFT_MSG_SNAPSHOT)};
    size_t len;
    uint8_t *b = batch(ms, 3, &len);
    int n;
    assert_int_equal(decode_all(b, len, &n), 0);
    assert_int_equal(n, 3);
    /* every truncation is refused (never a crash, never a silent partial batch) */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, b, cut);
        assert_true(decode_all(t, cut, &n) < 0);
        free(t);
    }
    /* trailing garbage after the declared messages */
    uint8_t *g = malloc(len + 1);
    memcpy(g, b, len);
    g[len] = 0;
    assert_true(decode_all(g, len + 1, &n) < 0);
    /* declared count larger than what is present */
    g[3] = 4;
    assert_true(decode_all(g, len, &n) < 0);
    free(g);
    free(b);
}

static void test_malformed_fields(void **state)
{
    (void)state;
    rcodec_scratch s = {0};
    raft_message m = sample(RAFT_MSG_APPEND), d;
    size_t sz = rcodec_msg_size(&m);
    uint8_t *buf = malloc(sz);
    rcodec_msg_encode(&m, buf);
    buf[0] = 0; /* type 0 */
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[0] = RAFT_MSG_TYPE_MAX + 1;
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[0] = RAFT_MSG_APPEND;
    buf[1] = 0x80; /* unknown flag */
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[1] = 0;
    /* voters count over RAFT_MAX_MEMBERS: at offset 2 + 10*8 + 16 */
    size_t nv_off = 2 + 80 + 16;
    buf[nv_off + 3] = RAFT_MAX_MEMBERS + 1;
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[nv_off + 3] = 0;
    /* entry count: huge declared count with few bytes must not allocate or read past */
    size_t ne_off = nv_off + 8 + 4; /* no members, snap_len 0 */
    buf[ne_off] = 0x7f;
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[ne_off] = 0;
    buf[ne_off + 3] = 2; /* fewer than encoded: trailing bytes */
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[ne_off + 3] = 3;
    /* an entry of unknown type (first entry's type byte) */
    buf[ne_off + 4 + 16] = 9;
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[ne_off + 4 + 16] = 0;
    /* an entry length beyond the input */
    buf[ne_off + 4 + 17] = 0x10;
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), RCODEC_EMALFORMED);
    buf[ne_off + 4 + 17] = 0;
    assert_int_equal(rcodec_msg_decode(buf, sz, &d, &s), 0);
    free(buf);
    rcodec_scratch_deinit(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_malformed_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
