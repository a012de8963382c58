/* encode.c — RESP2/RESP3 reply encoder, byte-compatible with Redis 7.0's addReply* family. */
#include "resp/resp.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/strconv.h"

#include "util/assert.h"

#define BUF_MIN_CAP 64

void resp_buf_init(resp_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->soft = 0;
    b->failed = 0;
}

void resp_buf_init_soft(resp_buf *b)
{
    resp_buf_init(b);
    b->soft = 1;
}

void resp_buf_deinit(resp_buf *b)
{
    unsigned char soft = b->soft;
    free(b->data);
    resp_buf_init(b);
    b->soft = soft;
}

int resp_buf_reserve(resp_buf *b, size_t extra)
{
    SYN_ASSERT_CMP(b->len, <=, b->cap);
    if (b->failed) return -1;
    if (b->cap - b->len >= extra) return 0;
    if (extra > SIZE_MAX / 4 - b->len) {
        SYN_ASSERT(b->soft); /* a hard buffer this large is a bug of its user */
        b->failed = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
    while (cap - b->len < extra)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (d == NULL && cap - b->len > 2 * extra) {
        cap = b->len + extra; /* short of memory: try without the doubling's slack */
        d = realloc(b->data, cap);
    }
    if (d == NULL) {
        SYN_ASSERT(b->soft); /* out of memory where no partial result is acceptable */
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void resp_buf_consume(resp_buf *b, size_t n)
{
    SYN_ASSERT_CMP(n, <=, b->len);
    if (n == b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void resp_buf_append(resp_buf *b, const void *p, size_t len)
{
    if (len == 0) return;
    if (resp_buf_reserve(b, len) < 0) return;
    memcpy(b->data + b->len, p, len);
    b->len += len;
}

/* "<prefix><v>\r\n" */
static void add_prefixed_ll(resp_buf *b, char prefix, long long v)
{
    char tmp[32];
    tmp[0] = prefix;
    size_t n = 1 + syn_ll2string(tmp + 1, v);
    tmp[n++] = '\r';
    tmp[n++] = '\n';
    resp_buf_append(b, tmp, n);
}

static long long count_ll(size_t n)
{
    SYN_ASSERT(n <= (size_t)LLONG_MAX);
    return (long long)n;
}

/* A simple string or error line must not contain CR or LF, or the reply stream breaks;
 * Redis maps them to spaces in formatted errors, we do it for every line. */
static void add_line(resp_buf *b, char prefix, const char *s, size_t len)
{
    if (resp_buf_reserve(b, len + 3) < 0) return;
    char *o = b->data + b->len;
    *o++ = prefix;
    for (size_t i = 0; i < len; i++)
        o[i] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    o += len;
    *o++ = '\r';
    *o++ = '\n';
    b->len += len + 3;
}

void resp_add_status(resp_buf *b, const char *s, size_t len)
{
    add_line(b, '+', s, len);
}

void resp_add_error(resp_buf *b, const char *s, size_t len)
{
    add_line(b, '-', s, len);
}

void resp_add_int(resp_buf *b, long long v)
{
    add_prefixed_ll(b, ':', v);
}

void resp_add_bulk(resp_buf *b, const char *p, size_t len)
{
    /* one reservation: a soft buffer that fails drops the whole bulk, not its tail */
    if (resp_buf_reserve(b, len + 32 + 2) < 0) return;
    add_prefixed_ll(b, '$', count_ll(len));
    resp_buf_append(b, p, len);
    resp_buf_append(b, "\r\n", 2);
}

void resp_add_null(resp_buf *b, int proto)
{
    if (proto >= 3)
        resp_buf_append(b, "_\r\n", 3);
    else
        resp_buf_append(b, "$-1\r\n", 5);
}

void resp_add_null_array(resp_buf *b, int proto)
{
    if (proto >= 3)
        resp_buf_append(b, "_\r\n", 3);
    else
        resp_buf_append(b, "*-1\r\n", 5);
}

void resp_add_array(resp_buf *b, size_t n)
{
    add_prefixed_ll(b, '*', count_ll(n));
}

void resp_add_map(resp_buf *b, size_t n_pairs, int proto)
{
    if (proto >= 3)
        add_prefixed_ll(b, '%', count_ll(n_pairs));
    else
        add_prefixed_ll(b, '*', count_ll(n_pairs) * 2);
}

void resp_add_set(resp_buf *b, size_t n, int proto)
{
    add_prefixed_ll(b, proto >= 3 ? '~' : '*', count_ll(n));
}

void resp_add_push(resp_buf *b, size_t n, int proto)
{
    add_prefixed_ll(b, proto >= 3 ? '>' : '*', count_ll(n));
}

size_t resp_format_double(char *out, size_t size, double v)
{
    SYN_ASSERT(size >= RESP_DOUBLE_STR_MAX);
    if (isinf(v)) {
        /* Redis spells infinities itself rather than trusting libc */
        const char *s = v > 0 ? "inf" : "-inf";
        size_t n = strlen(s);
        memcpy(out, s, n + 1);
        return n;
    }
    int n = strfromd(out, size, "%.17g", v); /* printf's %.17g, as Redis 7.0 uses */
    SYN_ASSERT(n > 0 && (size_t)n < size);
    return (size_t)n;
}

void resp_add_double(resp_buf *b, double v, int proto)
{
    char tmp[RESP_DOUBLE_STR_MAX];
    size_t n = resp_format_double(tmp, sizeof tmp, v);
    if (proto >= 3) {
        resp_buf_reserve(b, n + 3);
        resp_buf_append(b, ",", 1);
        resp_buf_append(b, tmp, n);
        resp_buf_append(b, "\r\n", 2);
    } else {
        resp_add_bulk(b, tmp, n);
    }
}

void resp_add_double_text(resp_buf *b, const char *s, size_t len, int proto)
{
    if (proto < 3) {
        resp_add_bulk(b, s, len);
        return;
    }
    resp_buf_reserve(b, len + 3);
    resp_buf_append(b, ",", 1);
    resp_buf_append(b, s, len);
    resp_buf_append(b, "\r\n", 2);
}

void resp_add_bool(resp_buf *b, int v, int proto)
{
    if (proto >= 3)
        resp_buf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        resp_buf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_add_verbatim(resp_buf *b, const char *p, size_t len, int proto)
{
    if (proto < 3) {
        resp_add_bulk(b, p, len);
        return;
    }
    add_prefixed_ll(b, '=', count_ll(len) + 4);
    resp_buf_append(b, "txt:", 4);
    resp_buf_append(b, p, len);
    resp_buf_append(b, "\r\n", 2);
}
