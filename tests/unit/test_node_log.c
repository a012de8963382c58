/* test_node_log.c — the driver's snapshot encodings (node_log.c): the conf blob (membership +
 * peer addresses) and the InstallSnapshot stream a leader serves through storage.snapshot_chunk
 * (header + conf blob + dataset read from the snapshot file), reassembled as a follower does;
 * and the follower's reassembly (node_snap_install) refusing a chunk out of order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/node_internal.h"

static void set_addr(node *n, int slot, raft_id id, const char *a)
{
    n->addrs[slot].id = id;
    snprintf(n->addrs[slot].addr, sizeof(n->addrs[slot].addr), "%s", a);
}

/* A node that knows 4 addresses, one of them as long as an address may be. */
static void setup(node *n, raft_membership *m, char *long_addr)
{
    memset(n, 0, sizeof(*n));
    n->snap_fd = -1;
    memset(long_addr, 'h', NODE_ADDR_MAX - 1);
    long_addr[NODE_ADDR_MAX - 1] = '\0';
    memcpy(long_addr + NODE_ADDR_MAX - 7, ":65535", 7);
    set_addr(n, 0, 1, "10.0.0.1:7379");
    set_addr(n, 3, 2, "10.0.0.2:7379");
    set_addr(n, 5, 3, "[::1]:7379");
    set_addr(n, 9, 7, long_addr);
    memset(m, 0, sizeof(*m));
    m->n_voters = 3;
    m->voters[0] = 1, m->voters[1] = 2, m->voters[2] = 3;
    m->n_learners = 1;
    m->learners[0] = 7;
}

static const char *addr_of(const nconf_addr *a, size_t n, raft_id id)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].id == id) return a[i].addr;
    return NULL;
}

/* NENTRY_DB: database 0 adds nothing; others round-trip; truncated or doubled prefixes are
 * malformed (every replica skips the entry alike). */
static void test_db_prefix(void **state)
{
    (void)state;
    resp_buf b;
    resp_buf_init(&b);
    data_arg argv[2] = {{"SET", 3}, {"k", 1}};
    nentry_encode_cmd(&b, 123, 2, argv);
    size_t plain = b.len;
    nentry_wrap_db(&b, 0);
    assert_int_equal(b.len, plain);
    const uint8_t *p = (const uint8_t *)b.data;
    size_t len = b.len;
    assert_int_equal(nentry_unwrap_db(&p, &len), 0);
    assert_int_equal(len, plain);
    nentry_wrap_db(&b, 1023);
    assert_int_equal(b.len, plain + 5);
    p = (const uint8_t *)b.data;
    len = b.len;
    assert_int_equal(nentry_unwrap_db(&p, &len), 1023);
    assert_int_equal(len, plain);
    assert_int_equal(p[0], NENTRY_CMD);
    p = (const uint8_t *)b.data;
    len = 5; /* the prefix alone */
    assert_int_equal(nentry_unwrap_db(&p, &len), -1);
    nentry_wrap_db(&b, 7); /* a prefix on a prefix */
    p = (const uint8_t *)b.data;
    len = b.len;
    assert_int_equal(nentry_unwrap_db(&p, &len), -1);
    resp_buf_deinit(&b);
}

static void test_origin_prefix(void **state)
{
    (void)state;
    resp_buf b, w;
    resp_buf_init(&b);
    resp_buf_init(&w);
    data_arg argv[2] = {{"SET", 3}, {"k", 1}};
    nentry_encode_cmd(&b, 123, 2, argv);
    nentry_wrap_db(&b, 3);
    uint64_t o[3];
    const uint8_t *p = (const uint8_t *)b.data;
    size_t len = b.len;
    assert_int_equal(nentry_unwrap_origin(&p, &len, o), 0); /* none: unchanged */
    assert_true(p == (const uint8_t *)b.data && len == b.len && o[0] == 0 && o[1] == 0);
    const uint64_t want[3] = {2, 1ull << 40, 7};
    nentry_wrap_origin(&w, want, b.data, b.len);
    assert_int_equal(w.len, b.len + 25);
    p = (const uint8_t *)w.data;
    len = w.len;
    assert_int_equal(nentry_unwrap_origin(&p, &len, o), 0);
    assert_memory_equal(o, want, sizeof(want));
    assert_int_equal(len, b.len);
    assert_memory_equal(p, b.data, b.len);
    assert_int_equal(nentry_unwrap_db(&p, &len), 3); /* the database prefix inside */
    p = (const uint8_t *)w.data;
    len = 25; /* the prefix alone */
    assert_int_equal(nentry_unwrap_origin(&p, &len, o), -1);
    resp_buf_deinit(&b);
    resp_buf_init(&b);
    nentry_wrap_origin(&b, want, w.data, w.len); /* a prefix on a prefix */
    p = (const uint8_t *)b.data;
    len = b.len;
    assert_int_equal(nentry_unwrap_origin(&p, &len, o), -1);
    resp_buf_deinit(&b);
    resp_buf_deinit(&w);
}

static void test_dbkey_list(void **state)
{
    (void)state;
    resp_buf b;
    resp_buf_init(&b);
    dbkey_put(&b, 0, "a", 1);
    dbkey_put(&b, 15, "", 0);
    dbkey_put(&b, 3, "key\0x", 5);
    size_t off = 0, len;
    int db;
    const char *k;
    assert_true(dbkey_next(&b, &off, &db, &k, &len));
    assert_int_equal(db, 0);
    assert_memory_equal(k, "a", 1);
    assert_true(dbkey_next(&b, &off, &db, &k, &len));
    assert_int_equal(db, 15);
    assert_int_equal(len, 0);
    assert_true(dbkey_next(&b, &off, &db, &k, &len));
    assert_int_equal(db, 3);
    assert_int_equal(len, 5);
    assert_memory_equal(k, "key\0x", 5);
    assert_false(dbkey_next(&b, &off, &db, &k, &len));
    assert_int_equal(off, b.len);
    resp_buf_deinit(&b);
}

static void test_conf_roundtrip(void **state)
{
    (void)state;
    node n;
    raft_membership m, got;
    char long_addr[NODE_ADDR_MAX];
    setup(&n, &m, long_addr);
    uint8_t *blob = malloc(NCONF_MAX_BYTES);
    assert_non_null(blob);
    size_t len = nconf_encode(&n, &m, blob, NCONF_MAX_BYTES);
    assert_true(len > 0);
    nconf_addr addrs[NODE_ADDRS_MAX];
    size_t k = 0;
    assert_int_equal(nconf_decode(blob, len, &got, addrs, &k), 0);
    assert_memory_equal(&got, &m, sizeof(m));
    assert_int_equal(k, 4);
    assert_string_equal(addr_of(addrs, k, 1), "10.0.0.1:7379");
    assert_string_equal(addr_of(addrs, k, 2), "10.0.0.2:7379");
    assert_string_equal(addr_of(addrs, k, 3), "[::1]:7379");
    assert_string_equal(addr_of(addrs, k, 7), long_addr);
    /* every truncation and any trailing byte is malformed */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(nconf_decode(blob, cut, &got, addrs, &k), -1);
    blob[len] = 0;
    assert_int_equal(nconf_decode(blob, len + 1, &got, addrs, &k), -1);
    /* the biggest table fits the bound */
    for (int i = 0; i < NODE_ADDRS_MAX; i++)
        set_addr(&n, i, (raft_id)(100 + i), long_addr);
    len = nconf_encode(&n, &m, blob, NCONF_MAX_BYTES);
    assert_true(len > 0 && len <= NCONF_MAX_BYTES);
    assert_int_equal(nconf_decode(blob, len, &got, addrs, &k), 0);
    assert_int_equal(k, NODE_ADDRS_MAX);
    free(blob);
}

static void test_conf_rejects_bad_counts(void **state)
{
    (void)state;
    node n;
    raft_membership m, got;
    char long_addr[NODE_ADDR_MAX];
    setup(&n, &m, long_addr);
    uint8_t blob[4096];
    memset(n.addrs, 0, sizeof(n.addrs));
    set_addr(&n, 0, 1, "a:1");
    size_t len = nconf_encode(&n, &m, blob, sizeof(blob));
    nconf_addr addrs[NODE_ADDRS_MAX];
    size_t k = 0;
    assert_int_equal(nconf_decode(blob, len, &got, addrs, &k), 0);
    size_t cnt_at = 8 + 8 * 4; /* address count after 3 voters and 1 learner */
    uint8_t bad[4096];
    memcpy(bad, blob, len);
    bad[cnt_at + 3] = NODE_ADDRS_MAX + 1; /* more addresses than a table holds */
    assert_int_equal(nconf_decode(bad, len, &got, addrs, &k), -1);
    memcpy(bad, blob, len);
    memset(bad + cnt_at + 4, 0, 8); /* node id 0 */
    assert_int_equal(nconf_decode(bad, len, &got, addrs, &k), -1);
    memcpy(bad, blob, len);
    bad[3] = RAFT_MAX_MEMBERS + 1; /* too many voters */
    assert_int_equal(nconf_decode(bad, len, &got, addrs, &k), -1);
}

/* The leader's stream read in chunks of several sizes carries the conf blob and the dataset
 * bytes of the file; a follower's reassembly parses back to both. */
static void test_snapshot_stream(void **state)
{
    (void)state;
    node n;
    raft_membership m;
    char long_addr[NODE_ADDR_MAX];
    setup(&n, &m, long_addr);
    uint8_t *blob = malloc(NCONF_MAX_BYTES);
    assert_non_null(blob);
    size_t cl = nconf_encode(&n, &m, blob, NCONF_MAX_BYTES);
    assert_true(cl > 0);
    /* a "snapshot file": 37 bytes of something else, then the dataset */
    char path[] = "/tmp/test_node_log_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 3);
    uint8_t junk[37];
    memset(junk, 0xee, sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
    n.snap_fd = fd;
    n.snap_off = sizeof(junk);
    n.snap_len = sizeof(data);
    n.snap_meta.index = 42;
    n.snap_meta.term = 3;
    n.snap_meta.config = m;
    n.snap_conf = blob;
    n.snap_conf_len = (uint32_t)cl;
    raft_storage st;
    nlog_storage(&n, &st);
    const uint32_t caps[] = {1, 5, NSNAP_HDR_BYTES, 1000, 1u << 20};
    for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
        uint8_t *stream = malloc(NSNAP_HDR_BYTES + cl + sizeof(data));
        uint8_t *buf = malloc(caps[c]);
        assert_non_null(stream);
        assert_non_null(buf);
        uint64_t off = 0;
        bool done = false;
        while (!done) {
            raft_snapshot_meta meta;
            uint32_t len = 0;
            assert_int_equal(st.snapshot_chunk(st.ud, off, buf, caps[c], &meta, &len, &done), 0);
            assert_int_equal(meta.index, 42);
            assert_true(len > 0 && len <= caps[c]);
            assert_true(off + len <= NSNAP_HDR_BYTES + cl + sizeof(data));
            memcpy(stream + off, buf, len);
            off += len;
        }
        assert_int_equal(off, NSNAP_HDR_BYTES + cl + sizeof(data));
        const uint8_t *conf, *d;
        uint32_t conf_len;
        size_t dlen;
        assert_int_equal(nsnap_parse(stream, off, &conf, &conf_len, &d, &dlen), 0);
        assert_int_equal(conf_len, cl);
        assert_memory_equal(conf, blob, cl);
        assert_int_equal(dlen, sizeof(data));
        assert_memory_equal(d, data, sizeof(data));
        raft_membership got;
        nconf_addr addrs[NODE_ADDRS_MAX];
        size_t k = 0;
        assert_int_equal(nconf_decode(conf, conf_len, &got, addrs, &k), 0);
        assert_string_equal(addr_of(addrs, k, 7), long_addr);
        /* framing errors */
        assert_int_equal(nsnap_parse(stream, NSNAP_HDR_BYTES - 1, &conf, &conf_len, &d, &dlen), -1);
        assert_int_equal(nsnap_parse(stream, NSNAP_HDR_BYTES + cl - 1, &conf, &conf_len, &d, &dlen),
                         -1);
        stream[0] ^= 1;
        assert_int_equal(nsnap_parse(stream, off, &conf, &conf_len, &d, &dlen), -1);
        free(stream);
        free(buf);
    }
    /* past the end */
    uint8_t b[8];
    raft_snapshot_meta meta;
    uint32_t len;
    bool done;
    assert_int_equal(
        st.snapshot_chunk(st.ud, NSNAP_HDR_BYTES + cl + sizeof(data) + 1, b, 8, &meta, &len, &done),
        -RAFT_EINVAL);
    nlog_deinit(&n); /* closes fd, frees blob */
}

/* A chunk that does not continue the stream (offset or snapshot) stops the node: the core has
 * already installed the snapshot it belongs to, so skipping it would diverge silently. Before,
 * node_snap_install returned 0 and went on. */
static void test_install_out_of_order_chunk_is_fatal(void **state)
{
    (void)state;
    static const struct {
        uint64_t offset, index;
    } bad[] = {{30, 9}, {5, 9}, {20, 8}}; /* a gap, an overlap, another snapshot */
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        node n;
        memset(&n, 0, sizeof(n));
        n.snap_fd = -1;
        resp_buf_init(&n.in_snap);
        uint8_t bytes[10] = {0};
        raft_snapshot_chunk ch = {true, {9, 2, {0}}, 0, sizeof(bytes), bytes, false};
        assert_int_equal(node_snap_install(&n, &ch), 0); /* offset 0 starts snapshot 9 */
        ch.offset = 10;
        assert_int_equal(node_snap_install(&n, &ch), 0); /* continues it */
        assert_false(n.failed);
        ch.offset = bad[i].offset;
        ch.meta.index = bad[i].index;
        ch.done = true;
        assert_int_equal(node_snap_install(&n, &ch), -1);
        assert_true(n.failed);
        assert_non_null(strstr(n.fail_msg, "out of order"));
        resp_buf_deinit(&n.in_snap);
    }
}

/* A replicated command (nentry_encode_cmd) decodes back to its arguments; cut short anywhere, or
 * with an argument length that runs past the end, it is malformed (every replica skips it
 * alike) and nothing is read beyond its bytes. */
static void test_cmd_entry_cut_anywhere(void **state)
{
    (void)state;
    node n;
    memset(&n, 0, sizeof(n));
    data_arg argv[3] = {{"SET", 3}, {"key", 3}, {"some value", 10}};
    resp_buf b;
    resp_buf_init(&b);
    assert_int_equal(nentry_encode_cmd(&b, 1234, 3, argv), 0);
    int64_t now = 0;
    int argc = 0;
    assert_int_equal(nentry_decode_cmd(&n, (const uint8_t *)b.data, b.len, &now, &argc), 0);
    assert_int_equal(now, 1234);
    assert_int_equal(argc, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(n.argv[i].len, argv[i].len);
        assert_memory_equal(n.argv[i].ptr, argv[i].ptr, argv[i].len);
    }
    for (size_t cut = 0; cut < b.len; cut++) { /* each prefix in a buffer of its own size */
        uint8_t *p = malloc(cut ? cut : 1);
        memcpy(p, b.data, cut);
        assert_int_equal(nentry_decode_cmd(&n, p, cut, &now, &argc), -1);
        free(p);
    }
    uint8_t *p = malloc(b.len);
    memcpy(p, b.data, b.len);
    p[13 + 3] = 200; /* the first argument's length (after the 9-byte header and argc) */
    assert_int_equal(nentry_decode_cmd(&n, p, b.len, &now, &argc), -1);
    free(p);
    free(n.argv);
    resp_buf_deinit(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_db_prefix),
        cmocka_unit_test(test_origin_prefix),
        cmocka_unit_test(test_dbkey_list),
        cmocka_unit_test(test_conf_roundtrip),
        cmocka_unit_test(test_conf_rejects_bad_counts),
        cmocka_unit_test(test_snapshot_stream),
        cmocka_unit_test(test_install_out_of_order_chunk_is_fatal),
        cmocka_unit_test(test_cmd_entry_cut_anywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
