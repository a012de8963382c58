/* parse.c — incremental RESP request parser with Redis 7.0's exact acceptance rules.
 *
 * Mirrors networking.c (processInlineBuffer / processMultibulkBuffer) and sds.c
 * (sdssplitargs) of Redis 7.0, including its quirks, because clients and tests observe them:
 *  - the two bytes after a bulk payload are skipped without being checked;
 *  - the byte after the '\r' that ends a count line is skipped without being checked;
 *  - delimiters are searched with strchr in Redis, so a NUL byte before the delimiter hides it
 *    and the request can only end with "too big ..." once more than 64 KB are pending;
 *  - a count of 0 or less (`*0`, `*-1`) is an empty request, like an empty inline line.
 *
 * One deliberate difference: Redis applies the 64 KB line limit to whatever its 16 KB reads
 * happened to buffer, so a line between 64 and 80 KB may pass or fail depending on timing.
 * Here a line fails iff its delimiter lies more than 64 KB past its start, which is exactly
 * what Redis does when bytes arrive in small pieces, and keeps the result independent of how
 * the input was split. */
#include "resp/resp.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/assert.h"
#include "util/strconv.h"

#define LINE_MAX_BYTES RESP_MAX_INLINE_LEN /* PROTO_INLINE_MAX_SIZE */
#define ARGV_KEEP_MAX  4096                /* larger argv arrays are freed between requests */
#define STORE_KEEP_MAX (16 * 1024)
#define PROTO_ERR(msg) "ERR Protocol error: " msg

enum {
    ST_START,      /* between requests */
    ST_INLINE,     /* looking for the '\n' that ends an inline request */
    ST_MB_COUNT,   /* looking for the '\r' that ends "*<count>" */
    ST_BULK_COUNT, /* looking for the '\r' that ends "$<len>" */
    ST_BULK_DATA,  /* waiting for <len> payload bytes plus 2 */
    ST_ERROR,      /* sticky: a protocol error (or out of memory) was reported */
};

struct resp_parser {
    resp_limits limits; /* 0 <= max_bulk_len; 0 <= max_multibulk_len <= INT_MAX */
    int state;
    /* All offsets are relative to the start of the pending request (the caller's buf). */
    size_t pos;        /* first byte not yet parsed; pos <= len of the last call */
    size_t line_start; /* start of the line being searched (ST_INLINE/MB_COUNT/BULK_COUNT) */
    size_t scan;       /* bytes in [line_start, scan) hold no delimiter and no NUL */
    int nul_blocked;   /* a NUL precedes any delimiter: this line can never end (Redis strchr) */
    long long mb_left; /* elements still to read, > 0 while in a multibulk */
    long long bulk_len;
    size_t last_len;   /* len of the last call, for resp_parser_need */
    size_t args_start; /* multibulk: offset of the first "$<len>" line */

    /* A multibulk's arguments are only counted while it arrives (argc) and located by a
     * second pass over the validated bytes once it is complete, so a pending request costs
     * the parser nothing per argument: the caller's buffer (the bytes received) is all. */
    resp_arg *argv; /* argv[0..argc) valid once a request is complete; capacity argv_cap */
    int argc;       /* arguments parsed so far; <= argv_cap only after completion */
    int argv_cap;
    char *store; /* decoded inline arguments */
    size_t store_cap;
    char err[96];
};

static const resp_limits default_limits = {RESP_DEFAULT_MAX_BULK_LEN,
                                           RESP_DEFAULT_MAX_MULTIBULK_LEN};

void resp_parser_set_limits(resp_parser *p, const resp_limits *limits)
{
    SYN_ASSERT(p != NULL);
    p->limits = limits ? *limits : default_limits;
    if (p->limits.max_bulk_len < 0) p->limits.max_bulk_len = 0;
    if (p->limits.max_bulk_len > LLONG_MAX / 2) p->limits.max_bulk_len = LLONG_MAX / 2;
    if (p->limits.max_multibulk_len < 0) p->limits.max_multibulk_len = 0;
    if (p->limits.max_multibulk_len > INT_MAX) p->limits.max_multibulk_len = INT_MAX;
}

resp_parser *resp_parser_create(const resp_limits *limits)
{
    resp_parser *p = calloc(1, sizeof *p);
    if (p == NULL) return NULL;
    resp_parser_set_limits(p, limits);
    p->state = ST_START;
    return p;
}

void resp_parser_destroy(resp_parser *p)
{
    if (p == NULL) return;
    free(p->argv);
    free(p->store);
    free(p);
}

const char *resp_parser_error(const resp_parser *p)
{
    return p->state == ST_ERROR ? p->err : NULL;
}

size_t resp_parser_need(const resp_parser *p)
{
    if (p->state != ST_BULK_DATA) return 0;
    size_t have = p->last_len - p->pos;
    size_t want = (size_t)p->bulk_len + 2;
    return want > have ? want - have : 0;
}

size_t resp_parser_mem_bytes(const resp_parser *p)
{
    return sizeof *p + (size_t)p->argv_cap * sizeof *p->argv + p->store_cap;
}

static int fail_rc(resp_parser *p, const char *msg, int rc)
{
    size_t n = strlen(msg);
    SYN_ASSERT(n < sizeof p->err);
    memcpy(p->err, msg, n + 1);
    p->state = ST_ERROR;
    return rc;
}

static int fail(resp_parser *p, const char *msg)
{
    return fail_rc(p, msg, RESP_ERROR);
}

static int fail_nomem(resp_parser *p)
{
    return fail_rc(p, "OOM out of memory parsing the request", RESP_NOMEM);
}

/* Fast path for the usual "*3\r\n" / "$16\r\n": plain digits up to '\r' plus one more byte
 * present. Redis would find that '\r' and accept those digits, so the result is the same as
 * the general path's. Returns 1 with *ll and *cr set, 0 to take the general path. */
static int quick_count(const char *buf, size_t len, size_t start, long long *ll, size_t *cr)
{
    size_t i = start + 1, end = start + 1 + 18; /* 18 digits never overflow */
    if (end > len) end = len;
    long long v = 0;
    while (i < end && buf[i] >= '0' && buf[i] <= '9')
        v = v * 10 + (buf[i++] - '0');
    size_t digits = i - start - 1;
    if (digits == 0 || i + 1 >= len || buf[i] != '\r') return 0;
    if (digits > 1 && buf[start + 1] == '0') return 0; /* leading zero: invalid, say so below */
    *ll = v;
    *cr = i;
    return 1;
}

static void begin_line(resp_parser *p, int state, size_t at)
{
    p->state = state;
    p->line_start = at;
    p->scan = at;
    p->nul_blocked = 0;
}

/* Looks for `delim` in the current line, resuming where the last call stopped, as Redis's
 * strchr would find it. Returns 1 with *at set, 0 if more bytes are needed, or RESP_ERROR
 * (with `too_big` as the message) once more than 64 KB are pending without a delimiter. */
static int find_delim(resp_parser *p, const char *buf, size_t len, char delim, size_t *at,
                      const char *too_big)
{
    if (!p->nul_blocked) {
        size_t end = p->line_start + LINE_MAX_BYTES + 1; /* a delimiter here is still allowed */
        if (end > len) end = len;
        /* count lines are short: a plain loop beats two memchr calls there */
        size_t quick_end = p->scan + 32 < end ? p->scan + 32 : end;
        for (size_t i = p->scan; i < quick_end; i++) {
            if (buf[i] == delim) {
                p->scan = *at = i;
                return 1;
            }
            if (buf[i] == '\0') {
                p->nul_blocked = 1;
                p->scan = i;
                break;
            }
        }
        if (!p->nul_blocked) p->scan = quick_end;
        if (!p->nul_blocked && p->scan < end) {
            const char *from = buf + p->scan;
            const char *d = memchr(from, delim, end - p->scan);
            const char *stop = d ? d : buf + end;
            const char *z = memchr(from, '\0', (size_t)(stop - from));
            if (z != NULL) {
                p->nul_blocked = 1;
                p->scan = (size_t)(z - buf);
            } else if (d != NULL) {
                p->scan = (size_t)(d - buf); /* found again in O(1) if the call must repeat */
                *at = p->scan;
                return 1;
            } else {
                p->scan = end;
            }
        }
    }
    if (len - p->line_start > LINE_MAX_BYTES) return fail(p, too_big);
    return 0;
}

/* Grows argv to hold at least `need` entries. Returns 0, or -1 if out of memory (argv is
 * then unchanged). */
static int argv_reserve(resp_parser *p, int need)
{
    if (need <= p->argv_cap) return 0;
    int cap = p->argv_cap ? p->argv_cap : 8;
    while (cap < need)
        cap = cap > INT_MAX / 2 ? INT_MAX : cap * 2;
    resp_arg *a = realloc(p->argv, (size_t)cap * sizeof *p->argv);
    if (a == NULL) return -1;
    p->argv = a;
    p->argv_cap = cap;
    return 0;
}

/* Called at the start of each request: releases what the previous one made unusually large. */
static void reset_request(resp_parser *p)
{
    p->argc = 0;
    p->pos = 0;
    p->mb_left = 0;
    p->bulk_len = 0;
    if (p->argv_cap > ARGV_KEEP_MAX) {
        free(p->argv);
        p->argv = NULL;
        p->argv_cap = 0;
    }
    if (p->store_cap > STORE_KEEP_MAX) {
        free(p->store);
        p->store = NULL;
        p->store_cap = 0;
    }
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* sdssplitargs over line[0..n) (which holds no NUL), decoding into p->store.
 * Returns 0, -1 for unbalanced quotes, or -2 if out of memory. */
static int split_inline(resp_parser *p, const char *line, size_t n)
{
    if (p->store_cap < n) {
        char *st = realloc(p->store, n);
        if (st == NULL) return -2;
        p->store = st;
        p->store_cap = n;
    }
    char *out = p->store; /* decoded bytes never outnumber source bytes */
    size_t i = 0;
    for (;;) {
        while (i < n && is_space(line[i]))
            i++;
        if (i == n) return 0;
        char *tok = out;
        int inq = 0, insq = 0, done = 0;
        while (!done) {
            /* c is line[i], or 0 at the end, as the NUL terminator is in Redis */
            char c = i < n ? line[i] : '\0';
            char c1 = i + 1 < n ? line[i + 1] : '\0';
            if (inq) {
                if (c == '\\' && c1 == 'x' && i + 3 < n && hex_val(line[i + 2]) >= 0 &&
                    hex_val(line[i + 3]) >= 0) {
                    *out++ = (char)(hex_val(line[i + 2]) * 16 + hex_val(line[i + 3]));
                    i += 3;
                } else if (c == '\\' && c1 != '\0') {
                    i++;
                    switch (c1) {
                    case 'n': *out++ = '\n'; break;
                    case 'r': *out++ = '\r'; break;
                    case 't': *out++ = '\t'; break;
                    case 'b': *out++ = '\b'; break;
                    case 'a': *out++ = '\a'; break;
                    default: *out++ = c1; break;
                    }
                } else if (c == '"') {
                    if (c1 != '\0' && !is_space(c1)) return -1; /* closing quote + non-space */
                    done = 1;
                } else if (c == '\0') {
                    return -1; /* unterminated */
                } else {
                    *out++ = c;
                }
            } else if (insq) {
                if (c == '\\' && c1 == '\'') {
                    i++;
                    *out++ = '\'';
                } else if (c == '\'') {
                    if (c1 != '\0' && !is_space(c1)) return -1;
                    done = 1;
                } else if (c == '\0') {
                    return -1;
                } else {
                    *out++ = c;
                }
            } else {
                switch (c) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                case '\0': done = 1; break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: *out++ = c; break;
                }
            }
            if (i < n) i++;
        }
        if (argv_reserve(p, p->argc + 1) < 0) return -2;
        p->argv[p->argc].ptr = tok;
        p->argv[p->argc].len = (size_t)(out - tok);
        p->argc++;
    }
}

static int parse_inline(resp_parser *p, const char *buf, size_t len, size_t *consumed)
{
    size_t nl;
    int r = find_delim(p, buf, len, '\n', &nl, PROTO_ERR("too big inline request"));
    if (r != 1) return r == 0 ? RESP_INCOMPLETE : r;
    size_t end = nl;
    if (end > p->line_start && buf[end - 1] == '\r') end--;
    int sr = split_inline(p, buf + p->line_start, end - p->line_start);
    if (sr == -2) return fail_nomem(p);
    if (sr != 0) return fail(p, PROTO_ERR("unbalanced quotes in request"));
    *consumed = nl + 1;
    p->state = ST_START;
    return RESP_OK;
}

/* The request in buf[0..p->pos) is complete and was validated line by line: locates its
 * p->argc arguments with a second pass over the "$<len>" lines (each ends at its first '\r',
 * as the first pass found it, and its digits parse as they did then). Costs O(argc), not
 * O(bytes): payloads are skipped. */
static int finish_multibulk(resp_parser *p, const char *buf, size_t *consumed)
{
    if (argv_reserve(p, p->argc) < 0) return fail_nomem(p);
    size_t at = p->args_start;
    for (int i = 0; i < p->argc; i++) {
        SYN_ASSERT(at < p->pos && buf[at] == '$');
        const char *cr = memchr(buf + at, '\r', p->pos - at);
        SYN_ASSERT(cr != NULL);
        long long len;
        int ok = syn_string2ll(buf + at + 1, (size_t)(cr - buf) - at - 1, &len);
        SYN_ASSERT(ok && len >= 0);
        p->argv[i].ptr = cr + 2;
        p->argv[i].len = (size_t)len;
        at = (size_t)(cr - buf) + 2 + (size_t)len + 2;
    }
    SYN_ASSERT_CMP(at, ==, p->pos);
    *consumed = p->pos;
    p->state = ST_START;
    return RESP_OK;
}

static int parse_multibulk(resp_parser *p, const char *buf, size_t len, size_t *consumed)
{
    size_t cr;
    long long ll;
    if (p->state == ST_MB_COUNT) {
        if (!quick_count(buf, len, p->line_start, &ll, &cr)) {
            int r = find_delim(p, buf, len, '\r', &cr, PROTO_ERR("too big mbulk count string"));
            if (r != 1) return r == 0 ? RESP_INCOMPLETE : r;
            if (len - cr < 2) return RESP_INCOMPLETE; /* the byte after '\r' (never checked) */
            if (!syn_string2ll(buf + p->line_start + 1, cr - p->line_start - 1, &ll))
                return fail(p, PROTO_ERR("invalid multibulk length"));
        }
        if (ll > p->limits.max_multibulk_len) return fail(p, PROTO_ERR("invalid multibulk length"));
        p->pos = cr + 2;
        p->args_start = p->pos;
        if (ll <= 0) return finish_multibulk(p, buf, consumed); /* empty request */
        p->mb_left = ll;
        begin_line(p, ST_BULK_COUNT, p->pos);
    }
    while (p->mb_left > 0) {
        if (p->state == ST_BULK_COUNT) {
            if (p->line_start >= len) return RESP_INCOMPLETE;
            if (buf[p->line_start] != '$' || !quick_count(buf, len, p->line_start, &ll, &cr)) {
                int r = find_delim(p, buf, len, '\r', &cr, PROTO_ERR("too big bulk count string"));
                if (r != 1) return r == 0 ? RESP_INCOMPLETE : r;
                if (len - cr < 2) return RESP_INCOMPLETE;
                char c = buf[p->line_start];
                if (c != '$') {
                    char msg[64] = PROTO_ERR("expected '$', got 'x'");
                    /* Redis maps CR and LF in error replies to spaces */
                    msg[strlen(msg) - 2] = (c == '\r' || c == '\n') ? ' ' : c;
                    return fail(p, msg);
                }
                if (!syn_string2ll(buf + p->line_start + 1, cr - p->line_start - 1, &ll))
                    return fail(p, PROTO_ERR("invalid bulk length"));
            }
            if (ll < 0 || ll > p->limits.max_bulk_len)
                return fail(p, PROTO_ERR("invalid bulk length"));
            p->bulk_len = ll;
            p->pos = cr + 2;
            p->state = ST_BULK_DATA;
        }
        SYN_ASSERT(p->state == ST_BULK_DATA);
        if (len - p->pos < (size_t)p->bulk_len + 2) return RESP_INCOMPLETE;
        p->argc++;                         /* located by finish_multibulk */
        p->pos += (size_t)p->bulk_len + 2; /* the 2 bytes after the payload are not checked */
        p->mb_left--;
        begin_line(p, ST_BULK_COUNT, p->pos);
    }
    return finish_multibulk(p, buf, consumed);
}

int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed, resp_arg **argv,
               int *argc)
{
    SYN_ASSERT(p != NULL && consumed != NULL && argv != NULL && argc != NULL);
    *consumed = 0;
    *argv = NULL;
    *argc = 0;
    if (p->state == ST_ERROR) return RESP_ERROR;
    if (p->state == ST_START) {
        reset_request(p);
        p->last_len = 0;
        if (len == 0) return RESP_INCOMPLETE;
        begin_line(p, buf[0] == '*' ? ST_MB_COUNT : ST_INLINE, 0);
    }
    SYN_ASSERT_CMP(len, >=, p->last_len); /* the caller must not drop pending bytes */
    p->last_len = len;
    int r = p->state == ST_INLINE ? parse_inline(p, buf, len, consumed)
                                  : parse_multibulk(p, buf, len, consumed);
    if (r == RESP_OK) {
        SYN_ASSERT(*consumed > 0 && *consumed <= len);
        *argv = p->argv;
        *argc = p->argc;
    }
    return r;
}
