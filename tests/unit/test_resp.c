/* test_resp.c — RESP parser and encoder: Redis 7.0's acceptance rules and error texts (checked
 * against a real redis-server 7.0), every split point, limits, memory bounds, encoder bytes.
 *
 * Random fragmentation prints its seed; replay with RESP_TEST_SEED=<seed>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resp/resp.h"

#define S(lit) lit, sizeof(lit) - 1

static uint64_t seed_g;
static uint64_t rng_g;

static uint64_t rnd(void)
{
    rng_g ^= rng_g << 13;
    rng_g ^= rng_g >> 7;
    rng_g ^= rng_g << 17;
    return rng_g;
}

static void put_escaped(resp_buf *t, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '|') {
            resp_buf_append(t, &c, 1);
        } else {
            char h[5];
            snprintf(h, sizeof h, "\\x%02x", c);
            resp_buf_append(t, h, 4);
        }
    }
}

static void put_request(resp_buf *t, const resp_arg *argv, int argc)
{
    resp_buf_append(t, "[", 1);
    for (int i = 0; i < argc; i++) {
        if (i) resp_buf_append(t, "|", 1);
        put_escaped(t, argv[i].ptr, argv[i].len);
    }
    resp_buf_append(t, "]", 1);
}

/* Feeds in[0..len) in the fragments ending at cuts[0..ncuts) (then the rest), as a server
 * would. Before every call the unconsumed bytes move to a fresh heap block, so any pointer the
 * parser kept into an old buffer is caught by ASan. Returns the transcript: "[a|b]" per
 * request, "E(text)" for an error (which ends the stream), "+N" for N bytes left pending. */
static char *run(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                 const resp_limits *lim)
{
    resp_parser *p = resp_parser_create(lim);
    assert_non_null(p);
    resp_buf t;
    resp_buf_init(&t);
    char *pend = malloc(1);
    size_t plen = 0, off = 0;
    int failed = 0;
    for (size_t c = 0; c <= ncuts && !failed; c++) {
        size_t end = c < ncuts ? cuts[c] : len;
        assert_true(end >= off && end <= len);
        char *nb = malloc(plen + (end - off) ? plen + (end - off) : 1); /* exact size */
        memcpy(nb, pend, plen);
        memcpy(nb + plen, in + off, end - off);
        free(pend);
        pend = nb;
        plen += end - off;
        off = end;
        size_t start = 0;
        for (;;) {
            size_t used = 99;
            resp_arg *argv;
            int argc = -1;
            int r = resp_parse(p, pend + start, plen - start, &used, &argv, &argc);
            if (r == RESP_OK) {
                assert_true(used > 0 && used <= plen - start);
                assert_true(argc >= 0);
                put_request(&t, argv, argc);
                start += used;
                continue;
            }
            assert_int_equal(used, 0);
            if (r == RESP_ERROR) {
                const char *e = resp_parser_error(p);
                assert_non_null(e);
                resp_buf_append(&t, "E(", 2);
                put_escaped(&t, e, strlen(e));
                resp_buf_append(&t, ")", 1);
                /* sticky */
                assert_int_equal(resp_parse(p, pend, plen, &used, &argv, &argc), RESP_ERROR);
                failed = 1;
                plen = start = 0;
                break;
            }
            assert_int_equal(r, RESP_INCOMPLETE);
            assert_null(resp_parser_error(p));
            break;
        }
        nb = malloc(plen - start ? plen - start : 1);
        memcpy(nb, pend + start, plen - start);
        free(pend);
        pend = nb;
        plen -= start;
    }
    if (plen) {
        char tail[32];
        snprintf(tail, sizeof tail, "+%zu", plen);
        resp_buf_append(&t, tail, strlen(tail));
    }
    resp_buf_append(&t, "", 1);
    free(pend);
    resp_parser_destroy(p);
    return t.data ? t.data : strdup("");
}

/* Byte-by-byte feeding without moving the buffer (linear, for large inputs). */
static char *run_bytewise(const char *in, size_t len, const resp_limits *lim)
{
    resp_parser *p = resp_parser_create(lim);
    resp_buf t;
    resp_buf_init(&t);
    size_t start = 0;
    for (size_t end = 1; end <= len; end++) {
        size_t used;
        resp_arg *argv;
        int argc;
        int r;
        while ((r = resp_parse(p, in + start, end - start, &used, &argv, &argc)) == RESP_OK) {
            put_request(&t, argv, argc);
            start += used;
        }
        if (r == RESP_ERROR) {
            resp_buf_append(&t, "E(", 2);
            put_escaped(&t, resp_parser_error(p), strlen(resp_parser_error(p)));
            resp_buf_append(&t, ")", 1);
            start = end = len;
            break;
        }
    }
    if (start < len) {
        char tail[32];
        snprintf(tail, sizeof tail, "+%zu", len - start);
        resp_buf_append(&t, tail, strlen(tail));
    }
    resp_buf_append(&t, "", 1);
    resp_parser_destroy(p);
    return t.data;
}

static char *run_whole(const char *in, size_t len, const resp_limits *lim)
{
    return run(in, len, NULL, 0, lim);
}

/* Checks the whole parse against `want`, then that every single split point, byte-by-byte
 * feeding and random fragmentations all give the same transcript. */
static void check_splits(const char *in, size_t len, const char *want, const resp_limits *lim)
{
    char *whole = run_whole(in, len, lim);
    if (want != NULL && strcmp(whole, want) != 0) fail_msg("input gave %s, want %s", whole, want);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i <= len; i++) {
        cuts[0] = i;
        char *got = run(in, len, cuts, 1, lim);
        if (strcmp(got, whole) != 0) fail_msg("split at %zu: %s != %s", i, got, whole);
        free(got);
    }
    for (size_t i = 0; i < len; i++)
        cuts[i] = i;
    char *got = run(in, len, cuts, len, lim);
    if (strcmp(got, whole) != 0) fail_msg("byte by byte: %s != %s", got, whole);
    free(got);
    for (int round = 0; round < 20; round++) {
        size_t n = 0, at = 0;
        while (at < len && n < len) {
            at += 1 + rnd() % (round % 2 ? 3 : 16);
            if (at > len) at = len;
            cuts[n++] = at;
        }
        got = run(in, len, cuts, n, lim);
        if (strcmp(got, whole) != 0)
            fail_msg("random split (seed %llu): %s != %s", (unsigned long long)seed_g, got, whole);
        free(got);
    }
    free(cuts);
    free(whole);
}

typedef struct {
    const char *in;
    size_t len;
    const char *want;
} case_t;

#define PE(msg) "E(ERR Protocol error: " msg ")"

static const case_t cases[] = {
    /* multibulk */
    {S("*2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n"), "[ECHO|abc]"},
    {S("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), "[SET|k|]"},
    {S("*1\r\n$4\r\na\0\r\n\r\n"), "[a\\x00\\x0d\\x0a]"},
    {S("*2\r\n$4\r\nECHO\r\n$3\r\nabcXY"), "[ECHO|abc]"}, /* trailing 2 bytes unchecked */
    {S("*1\rX$4\r\nPING\r\n"), "[PING]"},                 /* byte after \r unchecked */
    {S("*1\r\n$1\r\nabc"), "[a]"},
    {S("*-5\r\nPING\r\n"), "[][PING]"},
    {S("*0\r\nPING\r\n"), "[][PING]"},
    {S("*-9223372036854775808\r\n"), "[]"},
    {S("*1\r\n$1\r\nab"), "+10"},
    {S("*1\r"), "+3"},
    {S("*1\r\n$1\r"), "+7"},
    {S("*2147483647\r\n"), "+13"},
    {S("*1\r\n$536870912\r\n"), "+16"},
    {S("*1\0\r\n"), "+5"},      /* Redis's strchr stops at the NUL */
    {S("*1\r\n$\0\r\n"), "+8"}, /* idem for a bulk count */
    {S("*1\r\nxyz"), "+7"},     /* no '\r' yet: no error yet */
    {S("*2\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n"), PE("expected '$', got '*'")},
    {S("*1\r\n\r\n"), PE("expected '$', got ' '")},
    {S("*1\r\n\n\r\n"), PE("expected '$', got ' '")},
    {S("*1\r\nxyz\r\n"), PE("expected '$', got 'x'")},
    {S("*1\r\n\xff\r\n"), PE("expected '$', got '\\xff'")},
    {S("*\r\n"), PE("invalid multibulk length")},
    {S("*-0\r\n"), PE("invalid multibulk length")},
    {S("*01\r\n"), PE("invalid multibulk length")},
    {S("*+1\r\n"), PE("invalid multibulk length")},
    {S("* 1\r\n"), PE("invalid multibulk length")},
    {S("*1 \r\n"), PE("invalid multibulk length")},
    {S("*1x\r\n"), PE("invalid multibulk length")},
    {S("*-\r\n"), PE("invalid multibulk length")},
    {S("*2147483648\r\n"), PE("invalid multibulk length")},
    {S("*9223372036854775807\r\n"), PE("invalid multibulk length")},
    {S("*9223372036854775808\r\n"), PE("invalid multibulk length")},
    {S("*-9223372036854775809\r\n"), PE("invalid multibulk length")},
    {S("*100000000000000000000\r\n"), PE("invalid multibulk length")},
    {S("*1\r\n$-1\r\n"), PE("invalid bulk length")},
    {S("*1\r\n$\r\n"), PE("invalid bulk length")},
    {S("*1\r\n$01\r\n"), PE("invalid bulk length")},
    {S("*1\r\n$4abc\r\n"), PE("invalid bulk length")},
    {S("*1\r\n$536870913\r\n"), PE("invalid bulk length")},
    {S("*1\r\n$99999999999999999999\r\n"), PE("invalid bulk length")},
    {S("PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$-2\r\n"), "[PING][PING]" PE("invalid bulk length")},
    /* inline */
    {S("PING\r\n"), "[PING]"},
    {S("PING\n"), "[PING]"},
    {S("PING\r\r\n"), "[PING]"},
    {S("a\rb\n"), "[a|b]"},
    {S("\r\nPING\r\n"), "[][PING]"},
    {S("\n"), "[]"},
    {S("   \t \n"), "[]"},
    {S("  SET  k   v  \r\n"), "[SET|k|v]"},
    {S("ECHO a\vb\r\n"), "[ECHO|a\\x0bb]"},
    {S("ECHO \"a\\x41\\n\"\r\n"), "[ECHO|aA\\x0a]"},
    {S("ECHO \"\\r\\t\\b\\a\\\\\\\"\"\n"), "[ECHO|\\x0d\\x09\\x08\\x07\\x5c\"]"},
    {S("ECHO \"\\x4\"\n"), "[ECHO|x4]"},
    {S("ECHO \"\\xZZ\"\n"), "[ECHO|xZZ]"},
    {S("ECHO \"\\xfF\"\n"), "[ECHO|\\xff]"},
    {S("ECHO \"\\q\"\r\n"), "[ECHO|q]"},
    {S("ECHO 'a\\'b'\r\n"), "[ECHO|a'b]"},
    {S("ECHO 'a\\nb\"'\r\n"), "[ECHO|a\\x5cnb\"]"},
    {S("ECHO a\"b c\"\r\n"), "[ECHO|ab c]"},
    {S("ECHO a'b c'\r\n"), "[ECHO|ab c]"},
    {S("ECHO \"\" ''\r\n"), "[ECHO||]"},
    {S("ECHO \"a\"\t\"b\"\v'c'\r\n"), "[ECHO|a|b|c]"},
    {S("ECHO \"a\"\r\r\n"), "[ECHO|a]"},
    {S("ECHO \xc3\xa9\n"), "[ECHO|\\xc3\\xa9]"},
    {S("GET k\r\nPING\r\n*1\r\n$4\r\nPING\r\nECHO x\n"), "[GET|k][PING][PING][ECHO|x]"},
    {S("PING\0\r\n"), "+7"}, /* Redis waits forever (until 64 KB) on a NUL */
    /* ... wherever the NUL is (mutant P25: one past the first 32 bytes did not hide the '\n') */
    {S("ECHO 0123456789012345678901234567890123456789\0x\r\nPING\r\n"), "+55"},
    {S("PING"), "+4"},
    {S("ECHO \"abc\"d\r\n"), PE("unbalanced quotes in request")},
    {S("ECHO 'abc'd\r\n"), PE("unbalanced quotes in request")},
    {S("ECHO \"abc\r\n"), PE("unbalanced quotes in request")},
    {S("ECHO 'abc\r\n"), PE("unbalanced quotes in request")},
    {S("ECHO \"abc\\\"\r\n"), PE("unbalanced quotes in request")},
    {S("ECHO \"abc\\\r\n"), PE("unbalanced quotes in request")},
    {S("ECHO 'abc\\'\r\n"), PE("unbalanced quotes in request")},
    {S("\"\n"), PE("unbalanced quotes in request")},
    {S("PING\r\nECHO \"x\n"), "[PING]" PE("unbalanced quotes in request")},
};

static void parse_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = run_whole(cases[i].in, cases[i].len, NULL);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, got, cases[i].want);
        free(got);
    }
}

static void every_split_point(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_splits(cases[i].in, cases[i].len, cases[i].want, NULL);
    /* one long pipeline of every case that ends cleanly */
    resp_buf all;
    resp_buf_init(&all);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *w = cases[i].want;
        if (w[strlen(w) - 1] == ']' && strstr(w, "E(") == NULL)
            resp_buf_append(&all, cases[i].in, cases[i].len);
    }
    check_splits(all.data, all.len, NULL, NULL);
    resp_buf_deinit(&all);
}

static char *line_of(size_t n, char fill, const char *prefix, const char *suffix, size_t *len)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    char *s = malloc(pl + n + sl + 1);
    memcpy(s, prefix, pl);
    memset(s + pl, fill, n);
    memcpy(s + pl + n, suffix, sl + 1);
    *len = pl + n + sl;
    return s;
}

/* Whole and byte-by-byte feeding must both give `want`. */
static void expect(const char *in, size_t len, const char *want, const resp_limits *lim)
{
    char *got = run_whole(in, len, lim);
    if (strcmp(got, want) != 0) fail_msg("got %.200s, want %.200s", got, want);
    free(got);
    got = run_bytewise(in, len, lim);
    if (strcmp(got, want) != 0) fail_msg("byte by byte: got %.200s, want %s", got, want);
    free(got);
}

static void sixty_four_kb_limits(void **state)
{
    (void)state;
    size_t len;
    char *s;
    char want[64];
    /* inline: the '\n' may sit at most 64 KB past the line start */
    s = line_of(65536, 'A', "", "", &len);
    snprintf(want, sizeof want, "+%zu", len);
    expect(s, len, want, NULL);
    free(s);
    s = line_of(65537, 'A', "", "", &len);
    expect(s, len, PE("too big inline request"), NULL);
    free(s);
    s = line_of(65536, 'A', "", "\n", &len);
    size_t wlen;
    char *w = line_of(65536, 'A', "[", "]", &wlen);
    expect(s, len, w, NULL);
    free(w);
    free(s);
    s = line_of(65537, 'A', "", "\n", &len); /* also when it arrives in one piece */
    expect(s, len, PE("too big inline request"), NULL);
    free(s);
    /* a NUL hides the newline; only the size limit ends the wait */
    s = line_of(65531, 'B', "PING", "\r\n", &len);
    s[4] = '\0';
    expect(s, len, PE("too big inline request"), NULL);
    free(s);
    /* multibulk count */
    s = line_of(65536, '1', "*", "", &len);
    expect(s, len, PE("too big mbulk count string"), NULL);
    free(s);
    s = line_of(65535, '1', "*", "", &len);
    snprintf(want, sizeof want, "+%zu", len);
    expect(s, len, want, NULL);
    free(s);
    s = line_of(65535, '1', "*", "\r\n", &len);
    expect(s, len, PE("invalid multibulk length"), NULL);
    free(s);
    s = line_of(65536, '1', "*", "\r\n", &len);
    expect(s, len, PE("too big mbulk count string"), NULL);
    free(s);
    /* bulk count */
    s = line_of(65536, '1', "*1\r\n$", "", &len);
    expect(s, len, PE("too big bulk count string"), NULL);
    free(s);
    s = line_of(65536, '1', "*1\r\n$", "\r\n", &len);
    expect(s, len, PE("too big bulk count string"), NULL);
    free(s);
    s = line_of(65535, '1', "*1\r\n$", "\r\n", &len);
    expect(s, len, PE("invalid bulk length"), NULL);
    free(s);
    s = line_of(70, '1', "*1\r\n$", "\r\n", &len);
    expect(s, len, PE("invalid bulk length"), NULL);
    free(s);
    /* a 64 KB-long line of a bulk count that is blocked by a NUL */
    s = line_of(65536, '\0', "*1\r\n$", "", &len);
    expect(s, len, PE("too big bulk count string"), NULL);
    free(s);
}

static void configured_limits(void **state)
{
    (void)state;
    resp_limits lim = {10, 3};
    expect(S("*3\r\n$10\r\n0123456789\r\n$0\r\n\r\n$1\r\nx\r\n"), "[0123456789||x]", &lim);
    expect(S("*4\r\n"), PE("invalid multibulk length"), &lim);
    expect(S("*1\r\n$11\r\n"), PE("invalid bulk length"), &lim);
    check_splits(S("*3\r\n$10\r\n0123456789\r\n$11\r\n"), PE("invalid bulk length"), &lim);
    /* a negative limit is clamped to 0: empty bulks only (mutant P15) */
    resp_limits neg = {-5, 3};
    expect(S("*1\r\n$0\r\n\r\n"), "[]", &neg);
    expect(S("*1\r\n$1\r\n"), PE("invalid bulk length"), &neg);
    /* set_limits: the default again, then a change between requests */
    resp_parser *p = resp_parser_create(&lim);
    size_t used;
    resp_arg *argv;
    int argc;
    assert_int_equal(resp_parse(p, S("*1\r\n$11\r\nhello world\r\n"), &used, &argv, &argc),
                     RESP_ERROR);
    resp_parser_destroy(p);
    p = resp_parser_create(&lim);
    resp_parser_set_limits(p, NULL);
    assert_int_equal(resp_parse(p, S("*1\r\n$11\r\nhello world\r\n"), &used, &argv, &argc),
                     RESP_OK);
    assert_int_equal(argc, 1);
    assert_memory_equal(argv[0].ptr, "hello world", 11);
    resp_limits zero = {0, 0};
    resp_parser_set_limits(p, &zero);
    assert_int_equal(resp_parse(p, S("*0\r\n"), &used, &argv, &argc), RESP_OK);
    assert_int_equal(argc, 0);
    assert_int_equal(resp_parse(p, S("*1\r\n"), &used, &argv, &argc), RESP_ERROR);
    assert_string_equal(resp_parser_error(p), "ERR Protocol error: invalid multibulk length");
    resp_parser_destroy(p);
}

/* A huge declared count or length must not be allocated before the data arrives. */
static void huge_declarations_allocate_nothing(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_create(NULL);
    resp_buf in;
    resp_buf_init(&in);
    resp_buf_append(&in, S("*2147483647\r\n"));
    for (int i = 0; i < 5000; i++)
        resp_buf_append(&in, S("$1\r\na\r\n"));
    size_t used;
    resp_arg *argv;
    int argc;
    assert_int_equal(resp_parse(p, in.data, in.len, &used, &argv, &argc), RESP_INCOMPLETE);
    /* a pending multibulk costs the parser nothing per argument: the bytes received (the
     * caller's buffer) are all it holds (issue 9: 24 bytes per 6-byte empty bulk before) */
    assert_true(resp_parser_mem_bytes(p) < 1024);
    /* and once complete its arguments are all found, by the second pass */
    for (int i = 5000; i < 20000; i++)
        resp_buf_append(&in, S("$1\r\na\r\n"));
    resp_parser_destroy(p);
    p = resp_parser_create(NULL);
    resp_buf hdr;
    resp_buf_init(&hdr);
    resp_buf_append(&hdr, S("*20000\r\n"));
    resp_buf_append(&hdr, in.data + 13, in.len - 13);
    assert_int_equal(resp_parse(p, hdr.data, hdr.len, &used, &argv, &argc), RESP_OK);
    assert_int_equal(argc, 20000);
    assert_int_equal(used, hdr.len);
    for (int i = 0; i < argc; i++) {
        assert_int_equal(argv[i].len, 1);
        assert_memory_equal(argv[i].ptr, "a", 1);
    }
    resp_buf_deinit(&hdr);
    resp_parser_destroy(p);
    resp_buf_deinit(&in);

    p = resp_parser_create(NULL);
    assert_int_equal(resp_parse(p, S("*1\r\n$536870912\r\nabc"), &used, &argv, &argc),
                     RESP_INCOMPLETE);
    assert_true(resp_parser_mem_bytes(p) < 64 * 1024);
    assert_int_equal(resp_parser_need(p), 536870912u + 2 - 3);
    resp_parser_destroy(p);
}

static void need_hint(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_create(NULL);
    size_t used;
    resp_arg *argv;
    int argc;
    assert_int_equal(resp_parse(p, S("*2\r\n$5\r\nhe"), &used, &argv, &argc), RESP_INCOMPLETE);
    assert_int_equal(resp_parser_need(p), 5);
    assert_int_equal(resp_parse(p, S("*2\r\n$5\r\nhello\r"), &used, &argv, &argc), RESP_INCOMPLETE);
    assert_int_equal(resp_parser_need(p), 1);
    assert_int_equal(resp_parse(p, S("*2\r\n$5\r\nhello\r\n$"), &used, &argv, &argc),
                     RESP_INCOMPLETE);
    assert_int_equal(resp_parser_need(p), 0);
    assert_int_equal(resp_parse(p, S("*2\r\n$5\r\nhello\r\n$1\r\nx\r\n"), &used, &argv, &argc),
                     RESP_OK);
    assert_int_equal(used, 22);
    assert_int_equal(resp_parser_need(p), 0);
    assert_int_equal(resp_parse(p, S(""), &used, &argv, &argc), RESP_INCOMPLETE);
    resp_parser_destroy(p);
}

/* O(n) over fragmented input: 100,000 small arguments of one request fed one byte per call.
 * Re-scanning from the request's start would take ~10^11 steps; linear takes well under 1 s. */
static void fragmented_input_is_linear(void **state)
{
    (void)state;
    enum { N = 100000 };
    resp_buf in;
    resp_buf_init(&in);
    char hdr[32];
    snprintf(hdr, sizeof hdr, "*%d\r\n", N);
    resp_buf_append(&in, hdr, strlen(hdr));
    for (int i = 0; i < N; i++)
        resp_buf_append(&in, S("$1\r\nz\r\n"));
    char *line = malloc(60000 + 2); /* and a 60 KB inline line */
    memset(line, 'q', 60000);
    memcpy(line + 60000, "\r\n", 2);
    resp_buf_append(&in, line, 60002);
    free(line);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    resp_parser *p = resp_parser_create(NULL);
    size_t start = 0, used;
    resp_arg *argv;
    int argc, done = 0;
    for (size_t end = 1; end <= in.len; end++) {
        int r = resp_parse(p, in.data + start, end - start, &used, &argv, &argc);
        assert_int_not_equal(r, RESP_ERROR);
        if (r == RESP_OK) {
            if (done == 0) {
                assert_int_equal(argc, N);
                assert_memory_equal(argv[N - 1].ptr, "z", 1);
            } else {
                assert_int_equal(argc, 1);
                assert_int_equal(argv[0].len, 60000);
            }
            done++;
            start += used;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("fragmented_input_is_linear: %zu bytes one at a time in %.3f s\n", in.len, s);
    assert_int_equal(done, 2);
    assert_true(s < 10.0);
    resp_parser_destroy(p);
    resp_buf_deinit(&in);
}

/* ---- encoder ---- */

static resp_buf eb;

static void expect_buf(const char *want, size_t n)
{
    if (eb.len != n || memcmp(eb.data, want, n) != 0) {
        resp_buf t;
        resp_buf_init(&t);
        put_escaped(&t, eb.data, eb.len);
        resp_buf_append(&t, "", 1);
        fail_msg("encoded %s", t.data);
    }
    eb.len = 0;
}
#define EXPECT(lit) expect_buf(lit, sizeof(lit) - 1)

static void encoder_types(void **state)
{
    (void)state;
    resp_buf_init(&eb);
    resp_add_status(&eb, S("OK"));
    EXPECT("+OK\r\n");
    resp_add_status(&eb, S("a\r\nb"));
    EXPECT("+a  b\r\n");
    resp_add_error(&eb, S("ERR unknown command 'x'"));
    EXPECT("-ERR unknown command 'x'\r\n");
    resp_add_error(&eb, S("WRONGTYPE\nx"));
    EXPECT("-WRONGTYPE x\r\n");
    resp_add_int(&eb, 0);
    EXPECT(":0\r\n");
    resp_add_int(&eb, -42);
    EXPECT(":-42\r\n");
    resp_add_int(&eb, LLONG_MAX);
    EXPECT(":9223372036854775807\r\n");
    resp_add_int(&eb, LLONG_MIN);
    EXPECT(":-9223372036854775808\r\n");
    resp_add_bulk(&eb, S(""));
    EXPECT("$0\r\n\r\n");
    resp_add_bulk(&eb, S("a\0\r\nb"));
    EXPECT("$5\r\na\0\r\nb\r\n");
    resp_add_array(&eb, 0);
    EXPECT("*0\r\n");
    resp_add_array(&eb, 1234567);
    EXPECT("*1234567\r\n");
    resp_add_null(&eb, 2);
    EXPECT("$-1\r\n");
    resp_add_null(&eb, 3);
    EXPECT("_\r\n");
    resp_add_null_array(&eb, 2);
    EXPECT("*-1\r\n");
    resp_add_null_array(&eb, 3);
    EXPECT("_\r\n");
    resp_add_map(&eb, 3, 2);
    EXPECT("*6\r\n");
    resp_add_map(&eb, 3, 3);
    EXPECT("%3\r\n");
    resp_add_map(&eb, 0, 3);
    EXPECT("%0\r\n");
    resp_add_set(&eb, 2, 2);
    EXPECT("*2\r\n");
    resp_add_set(&eb, 2, 3);
    EXPECT("~2\r\n");
    resp_add_push(&eb, 3, 2);
    EXPECT("*3\r\n");
    resp_add_push(&eb, 3, 3);
    EXPECT(">3\r\n");
    resp_add_bool(&eb, 1, 2);
    EXPECT(":1\r\n");
    resp_add_bool(&eb, 0, 2);
    EXPECT(":0\r\n");
    resp_add_bool(&eb, 7, 3);
    EXPECT("#t\r\n");
    resp_add_bool(&eb, 0, 3);
    EXPECT("#f\r\n");
    resp_add_verbatim(&eb, S("abc"), 2);
    EXPECT("$3\r\nabc\r\n");
    resp_add_verbatim(&eb, S("abc"), 3);
    EXPECT("=7\r\ntxt:abc\r\n");
    resp_add_verbatim(&eb, S(""), 3);
    EXPECT("=4\r\ntxt:\r\n");
    resp_buf_append(&eb, S("+raw\r\n"));
    EXPECT("+raw\r\n");
    resp_buf_deinit(&eb);
    /* lines of every length into fresh buffers: a growth that fits exactly is caught by ASan
     * (mutant E20 in docs/resp-net-mutants.md reserved one byte too few) */
    char line[200];
    memset(line, 'x', sizeof line);
    for (size_t n = 0; n < sizeof line; n++) {
        resp_buf b;
        resp_buf_init(&b);
        resp_add_error(&b, line, n);
        resp_add_status(&b, line, n);
        assert_int_equal(b.len, 2 * (n + 3));
        assert_memory_equal(b.data + n + 1, "\r\n+", 3);
        resp_buf_deinit(&b);
    }
}

/* Byte-for-byte what redis-server 7.0 sends for ZSCORE in RESP2 and RESP3. */
static void encoder_doubles(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *text;
    } d[] = {
        {1.1, "1.1000000000000001"},
        {0.0, "0"},
        {-0.0, "-0"},
        {3.0, "3"},
        {1.5, "1.5"},
        {0.1, "0.10000000000000001"},
        {1e300, "1.0000000000000001e+300"},
        {1e-300, "1e-300"},
        {123456789.123, "123456789.123"},
        {5e-324, "4.9406564584124654e-324"},
        {-2.5, "-2.5"},
        {1e17, "1e+17"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {NAN, "nan"},
    };
    resp_buf_init(&eb);
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char want[128];
        size_t n = strlen(d[i].text);
        int k = snprintf(want, sizeof want, "$%zu\r\n%s\r\n", n, d[i].text);
        resp_add_double(&eb, d[i].v, 2);
        expect_buf(want, (size_t)k);
        k = snprintf(want, sizeof want, ",%s\r\n", d[i].text);
        resp_add_double(&eb, d[i].v, 3);
        expect_buf(want, (size_t)k);
        char tmp[RESP_DOUBLE_STR_MAX];
        assert_int_equal(resp_format_double(tmp, sizeof tmp, d[i].v), n);
        assert_string_equal(tmp, d[i].text);
    }
    /* the widest values fit */
    char tmp[RESP_DOUBLE_STR_MAX];
    assert_true(resp_format_double(tmp, sizeof tmp, -2.2250738585072014e-308) < sizeof tmp);
    assert_true(resp_format_double(tmp, sizeof tmp, -1.7976931348623157e308) < sizeof tmp);
    resp_buf_deinit(&eb);
}

static void buf_consume_and_growth(void **state)
{
    (void)state;
    resp_buf b;
    resp_buf_init(&b);
    assert_null(b.data);
    for (int i = 0; i < 10000; i++)
        resp_add_int(&b, i);
    assert_true(b.len <= b.cap);
    resp_buf_consume(&b, 4); /* ":0\r\n" */
    assert_memory_equal(b.data, ":1\r\n", 4);
    size_t left = b.len;
    resp_buf_consume(&b, 0);
    assert_int_equal(b.len, left);
    resp_buf_consume(&b, left);
    assert_int_equal(b.len, 0);
    resp_buf_reserve(&b, 1 << 20);
    assert_true(b.cap >= 1 << 20);
    resp_buf_deinit(&b);
    assert_null(b.data);
    assert_int_equal(b.cap, 0);
}

/* Encoder output of an array of bulks is a request; parsing it gives back the arguments. */
static void encode_parse_round_trip(void **state)
{
    (void)state;
    resp_parser *p = resp_parser_create(NULL);
    resp_buf b;
    resp_buf_init(&b);
    for (int round = 0; round < 500; round++) {
        int n = 1 + (int)(rnd() % 8);
        char args[8][64];
        size_t lens[8];
        resp_add_array(&b, (size_t)n);
        for (int i = 0; i < n; i++) {
            lens[i] = rnd() % 64;
            for (size_t j = 0; j < lens[i]; j++)
                args[i][j] = (char)rnd();
            resp_add_bulk(&b, args[i], lens[i]);
        }
        size_t used;
        resp_arg *argv;
        int argc;
        assert_int_equal(resp_parse(p, b.data, b.len, &used, &argv, &argc), RESP_OK);
        assert_int_equal(used, b.len);
        assert_int_equal(argc, n);
        for (int i = 0; i < n; i++) {
            assert_int_equal(argv[i].len, lens[i]);
            assert_memory_equal(argv[i].ptr, args[i], lens[i]);
        }
        b.len = 0;
    }
    resp_buf_deinit(&b);
    resp_parser_destroy(p);
}

int main(void)
{
    const char *env = getenv("RESP_TEST_SEED");
    seed_g = env ? strtoull(env, NULL, 10) : (uint64_t)time(NULL);
    rng_g = seed_g * 2654435761u + 1;
    printf("test_resp: seed %llu (replay with RESP_TEST_SEED=%llu)\n", (unsigned long long)seed_g,
           (unsigned long long)seed_g);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_cases),
        cmocka_unit_test(every_split_point),
        cmocka_unit_test(sixty_four_kb_limits),
        cmocka_unit_test(configured_limits),
        cmocka_unit_test(huge_declarations_allocate_nothing),
        cmocka_unit_test(need_hint),
        cmocka_unit_test(fragmented_input_is_linear),
        cmocka_unit_test(encoder_types),
        cmocka_unit_test(encoder_doubles),
        cmocka_unit_test(buf_consume_and_growth),
        cmocka_unit_test(encode_parse_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
