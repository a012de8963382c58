/* test_frame.c — peer frame codec: round trips, every prefix, every corruption, limits, and the
 * handshake with its refusal messages. Random parts print their seed (FRAME_TEST_SEED). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/frame.h"
#include "util/crc32c.h"

static uint64_t rng_g;

static uint32_t rnd(void)
{
    rng_g ^= rng_g << 13;
    rng_g ^= rng_g >> 7;
    rng_g ^= rng_g << 17;
    return (uint32_t)(rng_g >> 11);
}

/* Decodes from an exact-size heap copy, so any read past len trips ASan. */
static int decode_copy(const uint8_t *buf, size_t len, uint32_t max, frame *f, size_t *consumed,
                       size_t *need, uint8_t **keep)
{
    uint8_t *c = malloc(len ? len : 1);
    if (len) memcpy(c, buf, len);
    int r = frame_decode(len ? c : NULL, len, max, f, consumed, need);
    if (keep)
        *keep = c;
    else
        free(c);
    return r;
}

static void known_layout(void **state)
{
    (void)state;
    uint8_t out[64];
    long n = frame_encode(out, sizeof out, FRAME_T_PING, "abc", 3);
    assert_int_equal(n, 19);
    static const uint8_t hdr[12] = {'S', 'Y', 'N', 'D', 1, FRAME_T_PING, 0, 0, 0, 0, 0, 3};
    assert_memory_equal(out, hdr, 12);
    uint32_t c = crc32c(crc32c(0, hdr, 12), "abc", 3);
    uint8_t cb[4] = {(uint8_t)(c >> 24), (uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c};
    assert_memory_equal(out + 12, cb, 4);
    assert_memory_equal(out + 16, "abc", 3);
    assert_int_equal(frame_encode(out, 18, FRAME_T_PING, "abc", 3), FRAME_ERR_NOSPACE);
    assert_int_equal(frame_encode(out, 15, FRAME_T_PING, NULL, 0), FRAME_ERR_NOSPACE);
    assert_int_equal(frame_encode(out, 16, FRAME_T_PING, NULL, 0), 16);
}

static void round_trip_and_every_prefix(void **state)
{
    (void)state;
    static const uint32_t sizes[] = {0, 1, 15, 16, 17, 1000, 70000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        uint32_t len = sizes[s];
        uint8_t *payload = malloc(len + 1);
        for (uint32_t i = 0; i < len; i++)
            payload[i] = (uint8_t)rnd();
        size_t cap = FRAME_HEADER_BYTES + len;
        uint8_t *buf = malloc(cap);
        assert_int_equal(frame_encode(buf, cap, FRAME_T_RAFT, payload, len), (long)cap);
        frame f;
        size_t consumed, need;
        uint8_t *keep;
        assert_int_equal(decode_copy(buf, cap, 0, &f, &consumed, &need, &keep), FRAME_OK);
        assert_int_equal(consumed, cap);
        assert_int_equal(f.type, FRAME_T_RAFT);
        assert_int_equal(f.len, len);
        assert_ptr_equal(f.payload, keep + FRAME_HEADER_BYTES);
        if (len) assert_memory_equal(f.payload, payload, len);
        free(keep);
        /* every prefix is incomplete, with the exact need once the header length is there */
        size_t step = len > 2000 ? 997 : 1;
        for (size_t k = 0; k < cap; k += (k < 32 ? 1 : step)) {
            need = 12345;
            assert_int_equal(decode_copy(buf, k, 0, &f, &consumed, &need, NULL), FRAME_INCOMPLETE);
            assert_int_equal(consumed, 0);
            if (k >= 12)
                assert_int_equal(need, cap - k);
            else
                assert_true(need > 0 && need <= FRAME_HEADER_BYTES);
        }
        /* a frame followed by more bytes: only the frame is consumed */
        uint8_t *two = malloc(cap + 5);
        memcpy(two, buf, cap);
        memcpy(two + cap, "SYN", 3);
        assert_int_equal(frame_decode(two, cap + 3, 0, &f, &consumed, NULL), FRAME_OK);
        assert_int_equal(consumed, cap);
        free(two);
        free(buf);
        free(payload);
    }
}

static void header_errors_as_early_as_possible(void **state)
{
    (void)state;
    uint8_t good[16 + 4];
    frame_encode(good, sizeof good, FRAME_T_HELLO, "wxyz", 4);
    frame f;
    size_t consumed;
    uint8_t b[sizeof good];
    /* bad magic: detected from the first differing byte */
    for (int i = 0; i < 4; i++) {
        memcpy(b, good, sizeof b);
        b[i] ^= 0x20;
        assert_int_equal(decode_copy(b, (size_t)i + 1, 0, &f, &consumed, NULL, NULL),
                         FRAME_ERR_MAGIC);
        if (i > 0)
            assert_int_equal(decode_copy(b, (size_t)i, 0, &f, &consumed, NULL, NULL),
                             FRAME_INCOMPLETE);
    }
    /* an HTTP or RESP client on the peer port is refused at once */
    assert_int_equal(
        frame_decode((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 0, &f, &consumed, NULL),
        FRAME_ERR_MAGIC);
    assert_int_equal(frame_decode((const uint8_t *)"*1\r\n", 1, 0, &f, &consumed, NULL),
                     FRAME_ERR_MAGIC);
    memcpy(b, good, sizeof b);
    b[4] = 2;
    assert_int_equal(decode_copy(b, 5, 0, &f, &consumed, NULL, NULL), FRAME_ERR_VERSION);
    memcpy(b, good, sizeof b);
    b[5] = 0;
    assert_int_equal(decode_copy(b, 6, 0, &f, &consumed, NULL, NULL), FRAME_ERR_TYPE);
    memcpy(b, good, sizeof b);
    b[6] = 1;
    assert_int_equal(decode_copy(b, 7, 0, &f, &consumed, NULL, NULL), FRAME_ERR_RESERVED);
    memcpy(b, good, sizeof b);
    b[7] = 0x80;
    assert_int_equal(decode_copy(b, 8, 0, &f, &consumed, NULL, NULL), FRAME_ERR_RESERVED);
    /* any type 1..255 passes the codec */
    for (int t = 1; t < 256; t++) {
        uint8_t x[16];
        frame_encode(x, sizeof x, (uint8_t)t, NULL, 0);
        assert_int_equal(decode_copy(x, 16, 0, &f, &consumed, NULL, NULL), FRAME_OK);
        assert_int_equal(f.type, t);
    }
}

static void oversized_frames(void **state)
{
    (void)state;
    uint8_t h[16];
    frame f;
    size_t consumed;
    /* the header of a 2 GB frame is refused from its first 12 bytes, payload never needed */
    uint8_t big[12] = {'S', 'Y', 'N', 'D', 1, FRAME_T_RAFT, 0, 0, 0x80, 0, 0, 0};
    assert_int_equal(decode_copy(big, 12, 0, &f, &consumed, NULL, NULL), FRAME_ERR_TOO_BIG);
    assert_int_equal(decode_copy(big, 11, 0, &f, &consumed, NULL, NULL), FRAME_INCOMPLETE);
    /* default limit, custom limit, and the hard limit that caps any configuration */
    frame_write_header(h, FRAME_T_RAFT, NULL, 0);
    uint8_t *hb = h;
    uint32_t lens[] = {FRAME_MAX_PAYLOAD_DEFAULT, FRAME_MAX_PAYLOAD_DEFAULT + 1, 100, 101,
                       FRAME_MAX_PAYLOAD_HARD,    FRAME_MAX_PAYLOAD_HARD + 1};
    uint32_t maxs[] = {0, 0, 100, 100, 0xffffffffu, 0xffffffffu};
    int want[] = {FRAME_INCOMPLETE,  FRAME_ERR_TOO_BIG, FRAME_INCOMPLETE,
                  FRAME_ERR_TOO_BIG, FRAME_INCOMPLETE,  FRAME_ERR_TOO_BIG};
    for (int i = 0; i < 6; i++) {
        hb[8] = (uint8_t)(lens[i] >> 24);
        hb[9] = (uint8_t)(lens[i] >> 16);
        hb[10] = (uint8_t)(lens[i] >> 8);
        hb[11] = (uint8_t)lens[i];
        size_t need = 0;
        assert_int_equal(frame_decode(h, 16, maxs[i], &f, &consumed, &need), want[i]);
        if (want[i] == FRAME_INCOMPLETE) assert_int_equal(need, lens[i]);
    }
}

/* Every single-bit flip of a valid frame is detected: never FRAME_OK with wrong content. */
static void every_bit_flip_is_detected(void **state)
{
    (void)state;
    uint8_t buf[16 + 40];
    uint8_t payload[40];
    for (int i = 0; i < 40; i++)
        payload[i] = (uint8_t)rnd();
    frame_encode(buf, sizeof buf, FRAME_T_FORWARD, payload, 40);
    frame f;
    size_t consumed;
    int checksum_errors = 0;
    for (size_t bit = 0; bit < sizeof buf * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int r = decode_copy(buf, sizeof buf, 0, &f, &consumed, NULL, NULL);
        assert_int_not_equal(r, FRAME_OK);
        if (r == FRAME_ERR_CHECKSUM) checksum_errors++;
        if (bit / 8 >= 16 || (bit / 8 >= 12 && bit / 8 < 16))
            assert_int_equal(r, FRAME_ERR_CHECKSUM);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_true(checksum_errors >= 44 * 8);
    assert_int_equal(frame_decode(buf, sizeof buf, 0, &f, &consumed, NULL), FRAME_OK);
}

/* A stream of frames fed in random fragments gives the same frames as the whole stream. */
static void stream_in_fragments(void **state)
{
    (void)state;
    enum { N = 200 };
    uint8_t *stream = malloc(N * (16 + 300));
    size_t slen = 0;
    uint32_t lens[N];
    uint8_t types[N];
    for (int i = 0; i < N; i++) {
        uint8_t p[300];
        lens[i] = rnd() % 300;
        types[i] = (uint8_t)(1 + rnd() % 255);
        for (uint32_t j = 0; j < lens[i]; j++)
            p[j] = (uint8_t)(i + j);
        slen += (size_t)frame_encode(stream + slen, 16 + 300, types[i], p, lens[i]);
    }
    size_t have = 0, start = 0;
    int got = 0;
    while (have < slen) {
        have += 1 + rnd() % 40;
        if (have > slen) have = slen;
        for (;;) {
            frame f;
            size_t consumed;
            int r = frame_decode(stream + start, have - start, 0, &f, &consumed, NULL);
            if (r == FRAME_INCOMPLETE) break;
            assert_int_equal(r, FRAME_OK);
            assert_int_equal(f.type, types[got]);
            assert_int_equal(f.len, lens[got]);
            for (uint32_t j = 0; j < f.len; j++)
                assert_int_equal(f.payload[j], (uint8_t)(got + j));
            got++;
            start += consumed;
        }
    }
    assert_int_equal(got, N);
    assert_int_equal(start, slen);
    free(stream);
}

static void hello_round_trip(void **state)
{
    (void)state;
    frame_hello h, d;
    frame_hello_init(&h, 3, 1, "prod-a", "10.0.0.3:7379");
    assert_int_equal(h.version, FRAME_PEER_PROTOCOL_VERSION);
    h.flags = FRAME_HELLO_F_SECRET;
    h.incarnation = 0x0102030405060708ull;
    for (int i = 0; i < FRAME_NONCE_BYTES; i++)
        h.nonce[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < FRAME_DATA_ID_BYTES; i++)
        h.data_id[i] = (uint8_t)(0x10 + i);
    uint8_t buf[FRAME_HELLO_MAX_BYTES];
    long n = frame_hello_encode(&h, buf, sizeof buf);
    assert_int_equal(n, 20 + 1 + 6 + 1 + 13 + 1 + 8 + FRAME_NONCE_BYTES + FRAME_DATA_ID_BYTES + 1);
    assert_int_equal(frame_hello_decode(buf, (size_t)n, &d), FRAME_OK);
    assert_int_equal(d.version, h.version);
    assert_int_equal(d.node_id, 3);
    assert_int_equal(d.to_node_id, 1);
    assert_string_equal(d.cluster_id, "prod-a");
    assert_int_equal(d.cluster_id_len, 6);
    assert_string_equal(d.client_addr, "10.0.0.3:7379");
    assert_int_equal(d.flags, FRAME_HELLO_F_SECRET);
    assert_true(d.incarnation == 0x0102030405060708ull);
    assert_memory_equal(d.nonce, h.nonce, FRAME_NONCE_BYTES);
    assert_memory_equal(d.data_id, h.data_id, FRAME_DATA_ID_BYTES);
    assert_int_equal(frame_hello_encode(&h, buf, (size_t)n - 1), FRAME_ERR_NOSPACE);
    assert_int_equal(d.relay_addr_len, 0);
    /* every truncation is malformed but the one without the optional relay address (a hello of
     * an older node); trailing bytes are ignored */
    for (long k = 0; k < n - 1; k++)
        assert_int_equal(frame_hello_decode(buf, (size_t)k, &d), FRAME_ERR_HELLO_MALFORMED);
    assert_int_equal(frame_hello_decode(buf, (size_t)n - 1, &d), FRAME_OK);
    assert_int_equal(d.relay_addr_len, 0);
    /* with a relay address: round trip, and its truncations are malformed */
    memcpy(h.relay_addr, "10.0.0.3:7380", 13);
    h.relay_addr_len = 13;
    long nr = frame_hello_encode(&h, buf, sizeof buf);
    assert_int_equal(nr, n + 13);
    assert_int_equal(frame_hello_decode(buf, (size_t)nr, &d), FRAME_OK);
    assert_string_equal(d.relay_addr, "10.0.0.3:7380");
    for (long k = n; k < nr; k++)
        assert_int_equal(frame_hello_decode(buf, (size_t)k, &d), FRAME_ERR_HELLO_MALFORMED);
    h.relay_addr_len = 0;
    n = frame_hello_encode(&h, buf, sizeof buf);
    uint8_t longer[FRAME_HELLO_MAX_BYTES + 8];
    memcpy(longer, buf, (size_t)n);
    memset(longer + n, 0xee, 8);
    assert_int_equal(frame_hello_decode(longer, (size_t)n + 8, &d), FRAME_OK);
    assert_string_equal(d.client_addr, "10.0.0.3:7379");
    /* a cluster id longer than the maximum is malformed */
    buf[20] = FRAME_CLUSTER_ID_MAX + 1;
    uint8_t big[FRAME_HELLO_MAX_BYTES + 8] = {0};
    memcpy(big, buf, 21);
    assert_int_equal(frame_hello_decode(big, sizeof big, &d), FRAME_ERR_HELLO_MALFORMED);
    /* maxima: 64-byte cluster id, 255-byte address, long strings truncated */
    char cid[100], addr[300];
    memset(cid, 'c', sizeof cid - 1);
    cid[sizeof cid - 1] = '\0';
    memset(addr, 'a', sizeof addr - 1);
    addr[sizeof addr - 1] = '\0';
    frame_hello_init(&h, UINT64_MAX, 0, cid, addr);
    memcpy(h.relay_addr, addr, FRAME_ADDR_MAX);
    h.relay_addr_len = FRAME_ADDR_MAX;
    n = frame_hello_encode(&h, buf, sizeof buf);
    assert_int_equal(n, FRAME_HELLO_MAX_BYTES);
    assert_int_equal(frame_hello_decode(buf, (size_t)n, &d), FRAME_OK);
    assert_int_equal(d.cluster_id_len, FRAME_CLUSTER_ID_MAX);
    assert_int_equal(d.client_addr_len, FRAME_ADDR_MAX);
    assert_true(d.node_id == UINT64_MAX);
    /* inside a frame */
    uint8_t fb[16 + FRAME_HELLO_MAX_BYTES];
    long fl = frame_encode(fb, sizeof fb, FRAME_T_HELLO, buf, (uint32_t)n);
    frame f;
    size_t consumed;
    assert_int_equal(frame_decode(fb, (size_t)fl, 0, &f, &consumed, NULL), FRAME_OK);
    assert_int_equal(f.type, FRAME_T_HELLO);
    assert_int_equal(frame_hello_decode(f.payload, f.len, &d), FRAME_OK);
    assert_int_equal(d.cluster_id_len, FRAME_CLUSTER_ID_MAX);
}

static void hello_check_messages(void **state)
{
    (void)state;
    frame_hello me, them;
    char err[256];
    frame_hello_init(&me, 1, 3, "prod-a", "127.0.0.1:7001");
    frame_hello_init(&them, 3, 1, "prod-a", "127.0.0.1:7003");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_OK);
    assert_string_equal(err, "");

    frame_hello_init(&them, 3, 1, "prod-b", "127.0.0.1:7003");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_CLUSTER);
    assert_string_equal(err, "peer node 3 belongs to cluster 'prod-b', this node (1) to cluster "
                             "'prod-a'");
    frame_hello_init(&them, 3, 1, "prod-a\n'x", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_CLUSTER);
    assert_string_equal(err, "peer node 3 belongs to cluster 'prod-a\\x0a\\x27x', this node (1) "
                             "to cluster 'prod-a'");
    frame_hello_init(&them, 3, 1, "prod", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_CLUSTER);

    frame_hello_init(&them, 3, 1, "prod-a", "");
    them.version = 7;
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_VERSION);
    assert_string_equal(err, "peer node 3 speaks peer protocol version 7, this node (1) "
                             "version 2");

    frame_hello_init(&them, 2, 1, "prod-a", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_NODE);
    assert_string_equal(err, "expected node 3 at this address, but node 2 answered");
    frame_hello_init(&them, 3, 5, "prod-a", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_NODE);
    assert_string_equal(err, "peer node 3 expected node 5 here, but this is node 1");
    frame_hello_init(&them, 1, 0, "prod-a", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_NODE);
    assert_string_equal(err, "peer claims node id 1, which is this node's own id");
    frame_hello_init(&them, 0, 0, "prod-a", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_ERR_HELLO_NODE);
    /* unknown expectations on both sides (an inbound connection) pass */
    me.to_node_id = 0;
    frame_hello_init(&them, 2, 0, "prod-a", "");
    assert_int_equal(frame_hello_check(&me, &them, err, sizeof err), FRAME_OK);
    /* a tiny error buffer still ends in NUL */
    frame_hello_init(&them, 3, 1, "other", "");
    char tiny[8];
    assert_int_equal(frame_hello_check(&me, &them, tiny, sizeof tiny), FRAME_ERR_HELLO_CLUSTER);
    assert_int_equal(strlen(tiny), 7);
}

static void error_texts(void **state)
{
    (void)state;
    const int codes[] = {
        FRAME_ERR_MAGIC,           FRAME_ERR_VERSION,       FRAME_ERR_TYPE,
        FRAME_ERR_RESERVED,        FRAME_ERR_TOO_BIG,       FRAME_ERR_CHECKSUM,
        FRAME_ERR_HELLO_MALFORMED, FRAME_ERR_HELLO_VERSION, FRAME_ERR_HELLO_CLUSTER,
        FRAME_ERR_HELLO_NODE,      FRAME_ERR_NOSPACE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        assert_true(codes[i] < 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(frame_strerror(codes[i]), frame_strerror(codes[j]));
        assert_string_not_equal(frame_strerror(codes[i]), "unknown frame error");
    }
    assert_string_equal(frame_strerror(-999), "unknown frame error");
    assert_string_equal(frame_strerror(FRAME_ERR_CHECKSUM), "checksum mismatch");
}

int main(void)
{
    const char *env = getenv("FRAME_TEST_SEED");
    uint64_t seed = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    rng_g = seed * 2654435761u + 7;
    printf("test_frame: seed %llu (replay with FRAME_TEST_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_layout),
        cmocka_unit_test(round_trip_and_every_prefix),
        cmocka_unit_test(header_errors_as_early_as_possible),
        cmocka_unit_test(oversized_frames),
        cmocka_unit_test(every_bit_flip_is_detected),
        cmocka_unit_test(stream_in_fragments),
        cmocka_unit_test(hello_round_trip),
        cmocka_unit_test(hello_check_messages),
        cmocka_unit_test(error_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
