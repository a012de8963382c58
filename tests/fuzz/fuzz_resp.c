// fuzz-sources: src/resp/*.c src/util/assert.c
/* fuzz_resp.c — libFuzzer target for the RESP parser and encoder.
 *
 * Input layout: byte 0 = options (bit 0: small limits, bits 1-2: fragment size class),
 * bytes 1-2 = seed of the fragmentation, the rest = bytes a client sent.
 * Checks: consumed in (0, len] on success and 0 otherwise; multibulk args lie inside the bytes
 * the request consumed; inline args total no more than the line; errors are sticky and carry
 * "ERR Protocol error: "; resp_parser_need never promises too much; the result of fragmented
 * feeding equals the unsplit one; every request re-encoded as an array of bulks parses back to the
 * same arguments; status/error lines never contain CR/LF; doubles round-trip through their text. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const resp_limits small_limits = {40, 6};

static void put_u64(resp_buf *t, uint64_t v)
{
    resp_buf_append(t, &v, sizeof v);
}

static void check_encoders(const resp_arg *argv, int argc, const char *src, size_t src_len)
{
    resp_buf b;
    resp_buf_init(&b);
    /* round trip through the multibulk form */
    resp_add_array(&b, (size_t)argc);
    for (int i = 0; i < argc; i++)
        resp_add_bulk(&b, argv[i].ptr, argv[i].len);
    if (argc > 0) {
        resp_parser *q = resp_parser_create(NULL);
        CHECK(q != NULL);
        size_t used;
        resp_arg *av;
        int ac;
        CHECK(resp_parse(q, b.data, b.len, &used, &av, &ac) == RESP_OK);
        CHECK(used == b.len && ac == argc);
        for (int i = 0; i < argc; i++)
            CHECK(av[i].len == argv[i].len && memcmp(av[i].ptr, argv[i].ptr, av[i].len) == 0);
        resp_parser_destroy(q);
    }
    /* lines never break the stream */
    for (int i = 0; i < argc && i < 4; i++) {
        b.len = 0;
        resp_add_error(&b, argv[i].ptr, argv[i].len);
        CHECK(b.len == argv[i].len + 3 && b.data[0] == '-');
        CHECK(memchr(b.data, '\r', b.len - 2) == NULL && memchr(b.data, '\n', b.len - 2) == NULL);
    }
    /* doubles: the text is %.17g, which reads back to the same value */
    if (src_len >= sizeof(double)) {
        double v;
        memcpy(&v, src, sizeof v);
        char txt[RESP_DOUBLE_STR_MAX];
        size_t n = resp_format_double(txt, sizeof txt, v);
        CHECK(n > 0 && n < sizeof txt && txt[n] == '\0');
        double back = strtod(txt, NULL);
        CHECK(isnan(v) ? isnan(back) : memcmp(&back, &v, sizeof v) == 0);
        b.len = 0;
        resp_add_double(&b, v, 3);
        CHECK(b.len == n + 3 && b.data[0] == ',' && memcmp(b.data + 1, txt, n) == 0);
    }
    resp_buf_deinit(&b);
}

/* Feeds in[0..len), cut where `next_cut` says (0 = all at once), into a fresh parser. The
 * transcript (argc, arg bytes, errors, pending bytes) goes to t. The unconsumed bytes move to a
 * fresh heap block before every call, so a parser pointer into an old buffer trips ASan. */
static void feed(const uint8_t *in, size_t len, const resp_limits *lim, uint32_t seed,
                 int size_class, resp_buf *t, int check_enc)
{
    resp_parser *p = resp_parser_create(lim);
    CHECK(p != NULL);
    char *pend = malloc(1);
    CHECK(pend != NULL);
    size_t plen = 0, off = 0;
    size_t wait_until = 0; /* the pending request stays incomplete below this many bytes */
    uint32_t x = seed | 1;
    while (off < len) {
        size_t take = len - off;
        if (size_class != 0) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            size_t max = size_class == 1 ? 1 : size_class == 2 ? 7 : 64;
            size_t n = 1 + x % max;
            if (n < take) take = n;
        }
        char *nb = malloc(plen + take); /* exact size: overreads trip ASan */
        CHECK(nb != NULL);
        memcpy(nb, pend, plen);
        memcpy(nb + plen, in + off, take);
        free(pend);
        pend = nb;
        plen += take;
        off += take;
        size_t start = 0;
        int r;
        for (;;) {
            size_t used = 12345;
            resp_arg *argv = NULL;
            int argc = -1;
            const char *buf = pend + start;
            size_t blen = plen - start;
            r = resp_parse(p, buf, blen, &used, &argv, &argc);
            if (blen < wait_until) CHECK(r == RESP_INCOMPLETE); /* resp_parser_need was right */
            if (r != RESP_OK) {
                CHECK(used == 0);
                if (r == RESP_INCOMPLETE && resp_parser_need(p) > 0)
                    wait_until = blen + resp_parser_need(p);
                break;
            }
            wait_until = 0;
            CHECK(used > 0 && used <= blen && argc >= 0 && (argc == 0 || argv != NULL));
            size_t total = 0;
            for (int i = 0; i < argc; i++) {
                if (buf[0] == '*')
                    CHECK(argv[i].ptr >= buf && argv[i].ptr + argv[i].len <= buf + used);
                total += argv[i].len;
            }
            CHECK(total <= used);
            put_u64(t, (uint64_t)argc);
            put_u64(t, used);
            for (int i = 0; i < argc; i++) {
                put_u64(t, argv[i].len);
                resp_buf_append(t, argv[i].ptr, argv[i].len);
            }
            if (check_enc) check_encoders(argv, argc, buf, used);
            start += used;
        }
        if (r == RESP_ERROR) {
            const char *e = resp_parser_error(p);
            CHECK(e != NULL && strncmp(e, "ERR Protocol error: ", 20) == 0);
            CHECK(strchr(e, '\r') == NULL && strchr(e, '\n') == NULL);
            resp_buf_append(t, "E", 1);
            resp_buf_append(t, e, strlen(e));
            size_t used;
            resp_arg *argv;
            int argc;
            CHECK(resp_parse(p, pend, plen, &used, &argv, &argc) == RESP_ERROR);
            free(pend);
            resp_parser_destroy(p);
            return;
        }
        CHECK(r == RESP_INCOMPLETE && resp_parser_error(p) == NULL);
        nb = malloc(plen - start ? plen - start : 1);
        CHECK(nb != NULL);
        memcpy(nb, pend + start, plen - start);
        free(pend);
        pend = nb;
        plen -= start;
    }
    put_u64(t, plen); /* bytes left pending */
    free(pend);
    resp_parser_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3) return 0;
    const resp_limits *lim = (data[0] & 1) ? &small_limits : NULL;
    int size_class = 1 + (data[0] >> 1) % 3;
    uint32_t seed = (uint32_t)data[1] << 8 | data[2];
    data += 3;
    size -= 3;
    resp_buf whole, split;
    resp_buf_init(&whole);
    resp_buf_init(&split);
    feed(data, size, lim, 0, 0, &whole, 1);
    feed(data, size, lim, seed, size_class, &split, 0);
    CHECK(whole.len == split.len);
    CHECK(whole.len == 0 || memcmp(whole.data, split.data, whole.len) == 0);
    resp_buf_deinit(&whole);
    resp_buf_deinit(&split);
    return 0;
}
