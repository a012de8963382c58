/* util.c — Redis-exact number parsing/formatting and glob matching. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "data/data_internal.h"

#define LD_MAX_CHARS     (5 * 1024) /* Redis MAX_LONG_DOUBLE_CHARS */
#define GLOB_MAX_NESTING 1000       /* bounds recursion on patterns like "a*a*a*...": no match */

int arg_eq(const data_arg *a, const char *lower)
{
    size_t n = strlen(lower);
    if (a->len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a->ptr[i]) != lower[i]) return 0;
    return 1;
}

/* Redis string2ld: strtold over the whole argument (an embedded NUL ends it: rejected), no
 * leading space, no NaN, no overflow. */
int parse_ld(const char *s, size_t len, long double *out)
{
    char buf[LD_MAX_CHARS];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if (isspace((unsigned char)buf[0]) || end[0] != '\0' || (size_t)(end - buf) != len ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)) ||
        isnan(v))
        return 0;
    *out = v;
    return 1;
}

/* Redis ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros (and a bare '.') trimmed. */
size_t fmt_ld(char *buf, size_t cap, long double v)
{
    if (isinf(v) || isnan(v)) return 0;
    int n = snprintf(buf, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n + 1 > cap) return 0;
    size_t l = (size_t)n;
    if (memchr(buf, '.', l)) {
        while (buf[l - 1] == '0')
            l--;
        if (buf[l - 1] == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') {
        buf[0] = '0';
        l = 1;
    }
    buf[l] = '\0';
    return l;
}

static int lower_if(int ch, int nocase)
{
    return nocase ? tolower((unsigned char)ch) : ch;
}

/* Redis stringmatchlen, with explicit bounds instead of reading past a NUL terminator. */
static int glob_impl(const char *p, size_t pl, const char *s, size_t sl, int nocase, int *skip,
                     int depth)
{
    if (depth > GLOB_MAX_NESTING) return 0;
    while (pl && sl) {
        switch (p[0]) {
        case '*':
            while (pl >= 2 && p[1] == '*') {
                p++;
                pl--;
            }
            if (pl == 1) return 1;
            while (sl) {
                if (glob_impl(p + 1, pl - 1, s, sl, nocase, skip, depth + 1)) return 1;
                if (*skip) return 0;
                s++;
                sl--;
            }
            *skip = 1;
            return 0;
        case '?':
            s++;
            sl--;
            break;
        case '[': {
            p++;
            pl--;
            int neg = pl && p[0] == '^';
            if (neg) {
                p++;
                pl--;
            }
            int match = 0;
            for (;;) {
                if (pl >= 2 && p[0] == '\\') {
                    p++;
                    pl--;
                    if (p[0] == s[0]) match = 1;
                } else if (pl == 0) {
                    p--;
                    pl++;
                    break;
                } else if (p[0] == ']') {
                    break;
                } else if (pl >= 3 && p[1] == '-') {
                    int lo = p[0], hi = p[2], ch = s[0];
                    if (lo > hi) {
                        int t = lo;
                        lo = hi;
                        hi = t;
                    }
                    if (nocase) {
                        lo = tolower((unsigned char)lo);
                        hi = tolower((unsigned char)hi);
                        ch = tolower((unsigned char)ch);
                    }
                    p += 2;
                    pl -= 2;
                    if (ch >= lo && ch <= hi) match = 1;
                } else {
                    if (lower_if(p[0], nocase) == lower_if(s[0], nocase)) match = 1;
                }
                p++;
                pl--;
            }
            if (neg) match = !match;
            if (!match) return 0;
            s++;
            sl--;
            break;
        }
        case '\\':
            if (pl >= 2) {
                p++;
                pl--;
            }
            /* fall through */
        default:
            if (lower_if(p[0], nocase) != lower_if(s[0], nocase)) return 0;
            s++;
            sl--;
            break;
        }
        p++;
        pl--;
        if (sl == 0) {
            while (pl && p[0] == '*') {
                p++;
                pl--;
            }
            break;
        }
    }
    return pl == 0 && sl == 0;
}

int glob_match(const char *pat, size_t plen, const char *s, size_t slen, int nocase)
{
    int skip = 0;
    return glob_impl(pat, plen, s, slen, nocase, &skip, 0);
}

int arg_ll_or_reply(data_call *c, const data_arg *a, long long *out)
{
    if (syn_string2ll(a->ptr, a->len, out)) return 0;
    reply_not_int(c);
    return -1;
}

void codec_put_u32(coord_put_cb put, void *ctx, uint64_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    put(ctx, b, 4);
}

int codec_get_u32(const unsigned char **p, size_t *left, uint32_t *v)
{
    if (*left < 4) return -1;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)(*p)[i] << (8 * i);
    *p += 4;
    *left -= 4;
    return 0;
}

int codec_get_str(const unsigned char **p, size_t *left, const char **s, size_t *n)
{
    uint32_t len;
    if (codec_get_u32(p, left, &len) < 0 || len > *left) return -1;
    *s = (const char *)*p;
    *n = len;
    *p += len;
    *left -= len;
    return 0;
}
