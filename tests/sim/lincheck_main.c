/* lincheck_main.c — command-line linearizability checker for recorded histories.
 *
 *   lincheck [--max-states N] [--quiet] FILE|-
 *
 * FILE holds one operation per line as a flat JSON object (format in docs/simulator.md).
 * Exit status: 0 linearizable, 1 not linearizable (the offending key and a window of operations
 * are printed), 2 unknown (search limit), 3 usage or input error. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"

#define LINE_MAX_BYTES (1 << 20)
#define STR_MAX_BYTES  4096

/* ---- string interning (keys and non-integer values) ---- */

typedef struct {
    char **names; /* id -> name, owned */
    size_t len, cap;
    int64_t *table; /* open addressing: id + 1, 0 = empty */
    size_t table_cap;
} interner;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int64_t intern(interner *in, const char *s)
{
    if ((in->len + 1) * 2 > in->table_cap) {
        size_t ncap = in->table_cap ? in->table_cap * 2 : 256;
        int64_t *nt = calloc(ncap, sizeof *nt);
        if (!nt) return -1;
        for (size_t i = 0; i < in->len; i++) {
            size_t j = str_hash(in->names[i]) & (ncap - 1);
            while (nt[j])
                j = (j + 1) & (ncap - 1);
            nt[j] = (int64_t)i + 1;
        }
        free(in->table);
        in->table = nt;
        in->table_cap = ncap;
    }
    size_t j = str_hash(s) & (in->table_cap - 1);
    while (in->table[j]) {
        if (strcmp(in->names[in->table[j] - 1], s) == 0) return in->table[j] - 1;
        j = (j + 1) & (in->table_cap - 1);
    }
    if (in->len == in->cap) {
        size_t ncap = in->cap ? in->cap * 2 : 64;
        char **nn = realloc(in->names, ncap * sizeof *nn);
        if (!nn) return -1;
        in->names = nn;
        in->cap = ncap;
    }
    char *copy = strdup(s);
    if (!copy) return -1;
    in->names[in->len] = copy;
    in->table[j] = (int64_t)in->len + 1;
    return (int64_t)in->len++;
}

static void interner_free(interner *in)
{
    for (size_t i = 0; i < in->len; i++)
        free(in->names[i]);
    free(in->names);
    free(in->table);
}

/* ---- a parser for one flat JSON object per line ---- */

typedef enum { J_NULL, J_BOOL, J_INT, J_STR } jkind;

typedef struct {
    jkind kind;
    int64_t i; /* J_BOOL, J_INT */
    char s[STR_MAX_BYTES];
} jval;

typedef struct {
    const char *p;
    const char *err;
} jparser;

static void skip_ws(jparser *jp)
{
    while (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\r' || *jp->p == '\n')
        jp->p++;
}

static int put_utf8(char *out, size_t *len, unsigned cp)
{
    if (*len + 4 >= STR_MAX_BYTES) return -1;
    if (cp < 0x80) {
        out[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*len)++] = (char)(0xC0 | (cp >> 6));
        out[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*len)++] = (char)(0xE0 | (cp >> 12));
        out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

static int parse_string(jparser *jp, char *out)
{
    size_t len = 0;
    if (*jp->p != '"') return jp->err = "expected a string", -1;
    jp->p++;
    for (;;) {
        char c = *jp->p++;
        if (c == '\0') return jp->err = "unterminated string", -1;
        if (c == '"') break;
        if (c == '\\') {
            char esc = *jp->p++;
            unsigned cp;
            switch (esc) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = '\b'; break;
            case 'f': cp = '\f'; break;
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'u': {
                char hex[5] = {0};
                for (int k = 0; k < 4; k++) {
                    if (!isxdigit((unsigned char)jp->p[k])) return jp->err = "bad \\u escape", -1;
                    hex[k] = jp->p[k];
                }
                jp->p += 4;
                cp = (unsigned)strtoul(hex, NULL, 16);
                break;
            }
            default: return jp->err = "bad escape", -1;
            }
            if (put_utf8(out, &len, cp) != 0) return jp->err = "string too long", -1;
        } else {
            if (len + 1 >= STR_MAX_BYTES) return jp->err = "string too long", -1;
            out[len++] = c;
        }
    }
    out[len] = '\0';
    return 0;
}

static int parse_value(jparser *jp, jval *v)
{
    skip_ws(jp);
    if (*jp->p == '"') {
        v->kind = J_STR;
        return parse_string(jp, v->s);
    }
    if (strncmp(jp->p, "null", 4) == 0) return jp->p += 4, v->kind = J_NULL, 0;
    if (strncmp(jp->p, "true", 4) == 0) return jp->p += 4, v->kind = J_BOOL, v->i = 1, 0;
    if (strncmp(jp->p, "false", 5) == 0) return jp->p += 5, v->kind = J_BOOL, v->i = 0, 0;
    if (*jp->p == '-' || isdigit((unsigned char)*jp->p)) {
        char *end;
        errno = 0;
        long long x = strtoll(jp->p, &end, 10);
        if (errno || end == jp->p) return jp->err = "bad integer", -1;
        if (*end == '.' || *end == 'e' || *end == 'E')
            return jp->err = "numbers must be integers (use integer time units, e.g. ns)", -1;
        jp->p = end;
        v->kind = J_INT;
        v->i = x;
        return 0;
    }
    return jp->err = "unsupported value (only strings, integers, true, false, null)", -1;
}

/* A canonical decimal integer string ("12", "-3", not "012" or "+1") is the integer, as the
 * store's incr sees it. */
static bool canonical_int(const char *s, int64_t *out)
{
    const char *p = s;
    if (*p == '-') p++;
    if (!isdigit((unsigned char)*p) || (p[0] == '0' && p[1] != '\0') || (s[0] == '-' && *p == '0'))
        return false;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return false;
    errno = 0;
    long long x = strtoll(s, NULL, 10);
    if (errno) return false;
    *out = x;
    return true;
}

static int to_value(const jval *j, interner *strs, lincheck_value *out)
{
    int64_t x;
    switch (j->kind) {
    case J_NULL: *out = lincheck_nil(); return 0;
    case J_BOOL:
    case J_INT: *out = lincheck_int(j->i); return 0;
    case J_STR:
        if (canonical_int(j->s, &x)) {
            *out = lincheck_int(x);
            return 0;
        }
        x = intern(strs, j->s);
        if (x < 0) return -1;
        out->kind = LINCHECK_STR;
        out->v = x;
        return 0;
    }
    return -1;
}

typedef struct {
    interner keys, strs;
    lincheck_op *ops;
    size_t len, cap;
} history;

static const char *parse_line(history *h, const char *line)
{
    jparser jp = {.p = line, .err = NULL};
    static jval v; /* large; one line at a time */
    lincheck_op op;
    memset(&op, 0, sizeof op);
    bool have_client = false, have_op = false, have_key = false, have_invoke = false;
    bool have_value = false, have_out = false, have_expect = false;
    lincheck_value value = lincheck_nil(), out = lincheck_nil(), expect = lincheck_nil();
    jval out_raw = {0};
    op.pending = true;
    skip_ws(&jp);
    if (*jp.p != '{') return "expected a JSON object";
    jp.p++;
    skip_ws(&jp);
    while (*jp.p != '}') {
        char name[STR_MAX_BYTES];
        if (parse_string(&jp, name) != 0) return jp.err;
        skip_ws(&jp);
        if (*jp.p != ':') return "expected ':'";
        jp.p++;
        if (parse_value(&jp, &v) != 0) return jp.err;
        if (strcmp(name, "client") == 0) {
            if (v.kind != J_INT) return "\"client\" must be an integer";
            op.client = (int32_t)v.i;
            have_client = true;
        } else if (strcmp(name, "op") == 0) {
            if (v.kind != J_STR) return "\"op\" must be a string";
            if (!strcmp(v.s, "read") || !strcmp(v.s, "get"))
                op.op = LINCHECK_READ;
            else if (!strcmp(v.s, "write") || !strcmp(v.s, "set") || !strcmp(v.s, "put"))
                op.op = LINCHECK_WRITE;
            else if (!strcmp(v.s, "incr") || !strcmp(v.s, "incrby"))
                op.op = LINCHECK_INCR;
            else if (!strcmp(v.s, "cas"))
                op.op = LINCHECK_CAS;
            else if (!strcmp(v.s, "del") || !strcmp(v.s, "delete"))
                op.op = LINCHECK_DEL;
            else
                return "unknown \"op\" (read, write, incr, cas, del)";
            have_op = true;
        } else if (strcmp(name, "key") == 0) {
            if (v.kind == J_INT)
                snprintf(v.s, sizeof v.s, "%" PRId64, v.i);
            else if (v.kind != J_STR)
                return "\"key\" must be a string or an integer";
            int64_t id = intern(&h->keys, v.s);
            if (id < 0) return "out of memory";
            op.key = (uint32_t)id;
            have_key = true;
        } else if (strcmp(name, "value") == 0) {
            if (to_value(&v, &h->strs, &value) != 0) return "out of memory";
            have_value = true;
        } else if (strcmp(name, "expect") == 0) {
            if (to_value(&v, &h->strs, &expect) != 0) return "out of memory";
            have_expect = true;
        } else if (strcmp(name, "out") == 0) {
            out_raw.kind = v.kind;
            out_raw.i = v.i;
            if (to_value(&v, &h->strs, &out) != 0) return "out of memory";
            have_out = true;
        } else if (strcmp(name, "invoke") == 0) {
            if (v.kind != J_INT) return "\"invoke\" must be an integer";
            op.call = v.i;
            have_invoke = true;
        } else if (strcmp(name, "return") == 0) {
            if (v.kind == J_INT) {
                op.ret = v.i;
                op.pending = false;
            } else if (v.kind != J_NULL) {
                return "\"return\" must be an integer or null";
            }
        } /* other fields are ignored, so recorders may add their own */
        skip_ws(&jp);
        if (*jp.p == ',') {
            jp.p++;
            skip_ws(&jp);
        } else if (*jp.p != '}') {
            return "expected ',' or '}'";
        }
    }
    jp.p++;
    skip_ws(&jp);
    if (*jp.p) return "trailing characters after the object";
    if (!have_client || !have_op || !have_key || !have_invoke)
        return "missing field (client, op, key and invoke are required)";
    if (!op.pending && op.ret < op.call) return "\"return\" is before \"invoke\"";
    switch (op.op) {
    case LINCHECK_READ:
        if (!op.pending && !have_out) return "a completed read needs \"out\"";
        op.out = out;
        break;
    case LINCHECK_WRITE:
        if (!have_value) return "a write needs \"value\"";
        op.arg = value;
        break;
    case LINCHECK_INCR:
        op.arg = have_value ? value : lincheck_int(1);
        if (op.arg.kind != LINCHECK_INT) return "incr's \"value\" (delta) must be an integer";
        if (!op.pending && (!have_out || out.kind != LINCHECK_INT))
            return "a completed incr needs an integer \"out\"";
        op.out = out;
        break;
    case LINCHECK_CAS:
        if (!have_value || !have_expect) return "cas needs \"value\" and \"expect\"";
        op.arg = value;
        op.expect = expect;
        if (!op.pending && (!have_out || out_raw.kind != J_BOOL))
            return "a completed cas needs \"out\": true or false";
        op.out = out;
        break;
    default: break;
    }
    if (h->len == h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 1024;
        lincheck_op *n = realloc(h->ops, ncap * sizeof *n);
        if (!n) return "out of memory";
        h->ops = n;
        h->cap = ncap;
    }
    h->ops[h->len++] = op;
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: lincheck [--max-states N] [--quiet] FILE|-\n"
                    "exit: 0 linearizable, 1 not linearizable, 2 unknown, 3 error\n");
    return 3;
}

int main(int argc, char **argv)
{
    lincheck_config cfg;
    lincheck_config_default(&cfg);
    const char *path = NULL;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-states") == 0 && i + 1 < argc) {
            char *end;
            cfg.max_states = strtoull(argv[++i], &end, 10);
            if (*end || cfg.max_states == 0) return usage();
        } else if (strcmp(argv[i], "--quiet") == 0) {
            quiet = true;
        } else if (!path && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (!path) return usage();
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "lincheck: %s: %s\n", path, strerror(errno));
        return 3;
    }
    history h;
    memset(&h, 0, sizeof h);
    char *line = malloc(LINE_MAX_BYTES);
    if (!line) return 3;
    int rc = 0;
    size_t lineno = 0;
    while (fgets(line, LINE_MAX_BYTES, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == LINE_MAX_BYTES - 1 && line[len - 1] != '\n') {
            fprintf(stderr, "lincheck: %s:%zu: line too long\n", path, lineno);
            rc = 3;
            break;
        }
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0' || *p == '#') continue;
        const char *err = parse_line(&h, p);
        if (err) {
            fprintf(stderr, "lincheck: %s:%zu: %s\n", path, lineno, err);
            rc = 3;
            break;
        }
    }
    if (f != stdin) fclose(f);
    free(line);
    if (rc == 0) {
        lincheck_report rep;
        if (lincheck_check(h.ops, h.len, &cfg, &rep) != 0) {
            fprintf(stderr, "lincheck: out of memory\n");
            rc = 3;
        } else {
            if (!quiet || rep.result != LINCHECK_OK)
                lincheck_print_report(stdout, h.ops, &rep, (const char *const *)h.keys.names,
                                      (const char *const *)h.strs.names);
            rc = (int)rep.result;
        }
    }
    interner_free(&h.keys);
    interner_free(&h.strs);
    free(h.ops);
    return rc;
}
