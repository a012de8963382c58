/* test_data_recorder.h — runs data commands from a text line and renders the reply as text, so
 * tests read like assert_reply(ds, "SET k v EX 10", "+OK").
 *
 * Rendering (flat, space separated): +status  -error  :int  "bulk" (with \xNN, \" and \\
 * escapes)  (nil)  (nil-array)  *n (array header)  %n (map header)  ~n (set header)  ,dbl (%.17g,
 * or the text of a preformatted double). Command lines split on spaces; "..." quotes an argument
 * and allows \xNN \n \r \t \" \\. */
#ifndef SYNOD_TEST_DATA_RECORDER_H
#define SYNOD_TEST_DATA_RECORDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"

#define REC_MAX (1 << 20)

typedef struct {
    char buf[REC_MAX];
    size_t len;
    int replies; /* top-level elements still expected + completed */
} rec_t;

static int64_t t_now_ms = 1700000000000ll; /* the test's clock */
static rec_t t_rec;

static inline void rec_put(rec_t *r, const char *s, size_t n)
{
    if (r->len && r->len + 1 < REC_MAX) r->buf[r->len++] = ' ';
    if (r->len + n + 1 >= REC_MAX) n = REC_MAX - r->len - 1;
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

static inline void rec_fmt(rec_t *r, char prefix, const char *s, size_t n)
{
    char tmp[256];
    size_t o = 0;
    tmp[o++] = prefix;
    for (size_t i = 0; i < n && o < sizeof tmp - 1; i++)
        tmp[o++] = s[i];
    rec_put(r, tmp, o);
}

static inline void rec_status(void *ctx, const char *s, size_t n)
{
    rec_fmt(ctx, '+', s, n);
}
static inline void rec_error(void *ctx, const char *s, size_t n)
{
    rec_fmt(ctx, '-', s, n);
}
static inline void rec_integer(void *ctx, long long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, ":%lld", v);
    rec_put(ctx, tmp, (size_t)n);
}
static inline void rec_bulk(void *ctx, const char *p, size_t n)
{
    rec_t *r = ctx;
    char *tmp = malloc(n * 4 + 3);
    size_t o = 0;
    tmp[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\') {
            tmp[o++] = '\\';
            tmp[o++] = (char)ch;
        } else if (ch < 32 || ch >= 127) {
            o += (size_t)sprintf(tmp + o, "\\x%02x", ch);
        } else {
            tmp[o++] = (char)ch;
        }
    }
    tmp[o++] = '"';
    rec_put(r, tmp, o);
    free(tmp);
}
static inline void rec_null(void *ctx)
{
    rec_put(ctx, "(nil)", 5);
}
static inline void rec_null_array(void *ctx)
{
    rec_put(ctx, "(nil-array)", 11);
}
static inline void rec_hdr(void *ctx, char c, size_t n)
{
    char tmp[32];
    int k = snprintf(tmp, sizeof tmp, "%c%zu", c, n);
    rec_put(ctx, tmp, (size_t)k);
}
static inline void rec_array(void *ctx, size_t n)
{
    rec_hdr(ctx, '*', n);
}
static inline void rec_map(void *ctx, size_t n)
{
    rec_hdr(ctx, '%', n);
}
static inline void rec_set(void *ctx, size_t n)
{
    rec_hdr(ctx, '~', n);
}
static inline void rec_dbl(void *ctx, double v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, ",%.17g", v);
    rec_put(ctx, tmp, (size_t)n);
}

static inline void rec_dbl_str(void *ctx, const char *s, size_t n)
{
    rec_fmt(ctx, ',', s, n);
}

static const data_reply_ops rec_ops = {rec_status, rec_error,      rec_integer, rec_bulk,
                                       rec_null,   rec_null_array, rec_array,   rec_map,
                                       rec_set,    rec_dbl,        NULL,        rec_dbl_str};

#define REC_MAX_ARGS 1024

/* Splits a command line into args stored in `store` (needs strlen(line)+1 bytes). */
static inline int rec_split(const char *line, char *store, data_arg *argv)
{
    int argc = 0;
    const char *p = line;
    char *w = store;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p) break;
        char *start = w;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) {
                    p++;
                    if (*p == 'x') {
                        char hex[3] = {p[1], p[2], 0};
                        *w++ = (char)strtol(hex, NULL, 16);
                        p += 3;
                        continue;
                    }
                    *w++ = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p;
                    p++;
                } else {
                    *w++ = *p++;
                }
            }
            if (*p == '"') p++;
        } else {
            while (*p && *p != ' ')
                *w++ = *p++;
        }
        if (argc < REC_MAX_ARGS) argv[argc++] = (data_arg){start, (size_t)(w - start)};
    }
    return argc;
}

/* Executes argv; returns the rendered reply (valid until the next call) and the dirty flag. */
static inline const char *rec_exec_argv(data_store *ds, int argc, const data_arg *argv, int *dirty)
{
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    const data_cmd *cmd = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (!cmd) {
        snprintf(t_rec.buf, REC_MAX, "(unknown command)");
        return t_rec.buf;
    }
    int d = data_exec(ds, cmd, argc, argv, t_now_ms, &rec_ops, &t_rec);
    if (dirty) *dirty = d;
    return t_rec.buf;
}

static inline const char *rec_run(data_store *ds, const char *line, int *dirty)
{
    static data_arg argv[REC_MAX_ARGS];
    size_t n = strlen(line) + 1;
    char *store = malloc(n);
    int argc = rec_split(line, store, argv);
    const char *out = rec_exec_argv(ds, argc, argv, dirty);
    free(store);
    return out;
}

#define assert_reply(ds, line, want)                                                               \
    do {                                                                                           \
        const char *got_ = rec_run((ds), (line), NULL);                                            \
        if (strcmp(got_, (want)) != 0)                                                             \
            fail_msg("%s:%d: %s\n   got: %s\n  want: %s", __FILE__, __LINE__, (line), got_,        \
                     (want));                                                                      \
    } while (0)

static inline int rec_cmp_tok(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the space-separated tokens of s in place (for replies whose order is unspecified). */
static inline void rec_sort_tokens(char *s)
{
    char *tok[4096];
    int n = 0;
    for (char *p = strtok(s, " "); p && n < 4096; p = strtok(NULL, " "))
        tok[n++] = p;
    qsort(tok, (size_t)n, sizeof tok[0], rec_cmp_tok);
    char *out = malloc(strlen(s) + 1 + REC_MAX / 64);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(tok[i]);
        if (i) out[o++] = ' ';
        memcpy(out + o, tok[i], l);
        o += l;
    }
    out[o] = '\0';
    strcpy(s, out);
    free(out);
}

/* A script: pairs of command line and expected reply, terminated by a NULL command. A command
 * starting with '?' is compared without regard to element order (KEYS, SCAN). */
typedef struct {
    const char *cmd;
    const char *want;
} rec_step;

static inline void rec_script(data_store *ds, const rec_step *steps, const char *file, int line)
{
    static char got_s[REC_MAX], want_s[REC_MAX];
    for (int i = 0; steps[i].cmd; i++) {
        int unordered = steps[i].cmd[0] == '?';
        const char *got = rec_run(ds, steps[i].cmd + unordered, NULL);
        snprintf(got_s, sizeof got_s, "%s", got);
        snprintf(want_s, sizeof want_s, "%s", steps[i].want);
        if (unordered) {
            rec_sort_tokens(got_s);
            rec_sort_tokens(want_s);
        }
        if (strcmp(got_s, want_s) != 0)
            fail_msg("%s:%d step %d: %s\n   got: %s\n  want: %s", file, line, i, steps[i].cmd, got,
                     steps[i].want);
    }
}
#define run_script(ds, steps) rec_script((ds), (steps), __FILE__, __LINE__)

#endif
