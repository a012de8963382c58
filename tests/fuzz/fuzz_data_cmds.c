/* fuzz_data_cmds.c — sequences of data commands against one store (the whole data layer).
 *
 * The input is a header byte and up to MAX_CMDS commands. Header bits: 0 RESP3 replies, 1 lazy
 * free on, 2 small encoding limits (intsets, packed hashes and sorted sets of 4, lists of 2 per
 * node, streams of 2 per chunk: small inputs cross every conversion), 3 keyspace notifications
 * of every class, 4 a non-zero hash seed, 5 in a script, 6 applied from the log; bit 7 picks
 * the text form (below) instead of the binary one.
 *
 * Binary form, per command: a 16-bit index into the command table (every data command but
 * PFSELFTEST, which takes seconds by design) followed by pseudo commands (PSEUDO below); a byte
 * whose low 4 bits are the argument count and whose bit 4 asks for the deterministic rewrite
 * (data_rewrite, as the server logs writes) and bit 5 for the blocking form (data_exec_block);
 * then each argument: a byte below 0xE0 picks a word of WORDS (key names first, so commands meet
 * on the same keys, then numbers, ids, ranges, patterns and option keywords), 0xE0..0xEF the
 * word the next byte picks (the later words), 0xF0..0xFE takes that many raw bytes less 0xF0
 * from the input, 0xFF as many as the next byte says.
 * Text form: lines of space-separated words, the first the command's name (pseudo names too),
 * run with the rewrite and the blocking form unless the line starts with '!'; the word @last
 * stands for the last bulk reply.
 *
 * What runs is what a node does: write commands rewritten (when asked) then executed, lazily
 * expired keys deleted after each command (data_take_expired + data_expire_key), blocked calls
 * answered with their timeout. Every reply is checked for shape: exactly one top-level reply,
 * aggregates followed by as many elements as announced, no NaN, errors starting with their
 * upper-case code. Pseudo commands: _select db, _tick ms (the clock only moves forward), _cycle
 * (active expiry, lazy free, garbage), _reload (snapshot save and load into a new store, whose
 * digest must equal the old one's; the run goes on with the new store). The input ends with a
 * reload and data_destroy: a leak is a bug.
 *
 * Bounds: proto-max-bulk-len is 64 KB (SETRANGE, SETBIT, BITFIELD, APPEND, LCS's table), a
 * negative count of SRANDMEMBER / HRANDFIELD / ZRANDMEMBER (replies with that many elements, by
 * design) is raised to -10000 unless it is beyond what Redis refuses anyway. */
// fuzz-sources: src/data/*.c src/util/*.c
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/acl.h"
#include "data/data.h"
#include "util/assert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CMDS      32
#define MAX_ARGS      64
#define MAX_STRING    65536
#define MAX_NEG_COUNT 10000
#define T0_MS         1700000000000ll
#define MAX_TICK_MS   (10ll * 365 * 86400 * 1000)
#define REPLY_DEPTH   64

/* stands for the last bulk reply (a DUMP payload for RESTORE, ...) */
static const char LAST_BULK[] = "last bulk reply";
static const char *const WORDS[] = {
    /* keys (and members, fields, channels: the same few names) */
    "a", "b", "c", "{a}b", "", "k", "s", "z",
    /* numbers */
    "0", "1", "-1", "2", "3", "5", "10", "100", "-2", "-100", "1000", "10000", "65535", "65536",
    "524288", "4294967295", "4294967296", "2147483647", "-2147483648", "9223372036854775807",
    "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "0.5", "-0.5", "1.5", "3.14", "1e3", "1e308", "-1e308", "5e-324", "inf", "-inf", "+inf", "nan",
    "-0", "0x10", "01", "1.", " 1", "1e400", "1700000000", "1700000000000", "1700000001000",
    "1700003600000",
    /* stream ids and special ids */
    "0-0", "0-1", "1-0", "1-1", "1-*", "5-", "1700000000000-0", "1700000000000-5",
    "18446744073709551615-18446744073709551615", "18446744073709551615-*", "$", ">", "*", "+", "-",
    "~", "=",
    /* score and lex ranges */
    "(1", "(-1", "(inf", "[a", "(a", "[b", "(", "[", "(nan",
    /* geo */
    "13.361389", "38.115556", "15.087269", "37.502669", "180", "-180", "85.05112878",
    "-85.05112878", "90", "200", "km", "m", "mi", "ft",
    /* bitfield types and offsets */
    "i8", "u8", "i64", "u63", "u64", "i1", "u1", "i65", "#0", "#1", "#-1",
    /* patterns */
    "a*", "?", "[a-c]", "\\", "*a*b*c*d*e*f*g*", "[^a]", "*->f", "#", "k_*",
    /* a hyperloglog header, the last bulk reply */
    "HYLL", LAST_BULK,
    /* options */
    "EX", "PX", "EXAT", "PXAT", "NX", "XX", "GT", "LT", "CH", "INCR", "KEEPTTL", "GET", "PERSIST",
    "WITHSCORES", "LIMIT", "COUNT", "MATCH", "TYPE", "BYLEX", "BYSCORE", "REV", "MAXLEN", "MINID",
    "STORE", "STOREDIST", "BY", "ASC", "DESC", "ALPHA", "LEFT", "RIGHT", "BEFORE", "AFTER", "RANK",
    "IDX", "LEN", "MINMATCHLEN", "WITHMATCHLEN", "WEIGHTS", "AGGREGATE", "SUM", "MIN", "MAX",
    "WITHVALUES", "AND", "OR", "XOR", "NOT", "BIT", "BYTE", "OVERFLOW", "WRAP", "SAT", "FAIL",
    "SET", "INCRBY", "REPLACE", "ABSTTL", "IDLETIME", "FREQ", "DB", "ENCODING", "REFCOUNT", "USAGE",
    "SAMPLES", "STREAMS", "BLOCK", "GROUP", "NOACK", "MKSTREAM", "NOMKSTREAM", "JUSTID", "IDLE",
    "TIME", "RETRYCOUNT", "FORCE", "LASTID", "ENTRIESREAD", "ENTRIESADDED", "MAXDELETEDID",
    "CREATE", "SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER", "CONSUMERS", "GROUPS", "STREAM",
    "FULL", "HELP", "FROMMEMBER", "FROMLONLAT", "BYRADIUS", "BYBOX", "WITHCOORD", "WITHDIST",
    "WITHHASH", "ANY", "ASYNC", "SYNC", "GETREG", "DECODE", "TODENSE", "DOCTOR", "STATS",
    "MALLOC-STATS", "PURGE", "GRANT", "KEEPALIVE", "REVOKE", "ATTACH", "TTL", "ACQUIRE", "RELEASE",
    "CHECK", "CAMPAIGN", "PROCLAIM", "RESIGN", "LEADER", "OBSERVE", "_E", "_EXPIRE", "_REBASE",
    "SETUSER", "DELUSER", "NOPERM", "on", "off", "nopass", ">pw", "+@all", "~*", "&*", "allkeys",
    "-get", "%R~a*", "(~b +set)", "reset"};
#define N_WORDS (sizeof(WORDS) / sizeof(WORDS[0]))
/* Argument bytes (see the top): WORDS[byte] below WORD_BY_NEXT, WORDS[next byte] below RAW_SHORT,
 * then raw bytes. */
#define WORD_BY_NEXT 0xE0
#define RAW_SHORT    0xF0

/* Pseudo commands after the table's commands in the binary form. */
static const char *const PSEUDO[] = {"_select", "_tick", "_cycle", "_reload"};
#define N_PSEUDO (sizeof(PSEUDO) / sizeof(PSEUDO[0]))

/* ---- reply checking ---- */

typedef struct {
    int resp3;
    int top;                  /* top-level replies emitted */
    int depth;                /* open aggregates */
    size_t left[REPLY_DEPTH]; /* elements each open aggregate still expects */
    unsigned sum;             /* touches every reply byte (ASan sees reads past the end) */
} reply_check;

/* One element (a scalar, or an aggregate header with n elements to follow). */
static void element(reply_check *r, size_t n_children, int aggregate)
{
    if (r->depth == 0) {
        r->top++;
        SYN_ASSERT(r->top == 1);
    } else {
        SYN_ASSERT(r->left[r->depth - 1] > 0);
        r->left[r->depth - 1]--;
    }
    if (aggregate && n_children > 0) {
        SYN_ASSERT(r->depth < REPLY_DEPTH);
        r->left[r->depth++] = n_children;
    }
    while (r->depth > 0 && r->left[r->depth - 1] == 0)
        r->depth--;
}

static void touch(reply_check *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        r->sum += (unsigned char)p[i];
}

static void r_status(void *ctx, const char *s, size_t n)
{
    touch(ctx, s, n);
    element(ctx, 0, 0);
}
static int trace; /* FUZZ_TRACE=1: print each command and error (to read a crashing input) */

static void r_error(void *ctx, const char *s, size_t n)
{
    touch(ctx, s, n);
    if (trace) fprintf(stderr, "  -> %.*s\n", (int)n, s);
    SYN_ASSERT(n > 0 && s[0] >= 'A' && s[0] <= 'Z');
    element(ctx, 0, 0);
}
static void r_int(void *ctx, long long v)
{
    (void)v;
    element(ctx, 0, 0);
}
/* The last bulk reply of at most LAST_BULK_MAX bytes (the word LAST_BULK stands for it). */
#define LAST_BULK_MAX 4096
static char last_bulk[LAST_BULK_MAX];
static size_t last_bulk_len;
/* its copy taken before the command that names it runs (replies may overwrite last_bulk) */
static char last_arg[LAST_BULK_MAX];
static size_t last_arg_len;

static void r_bulk(void *ctx, const char *p, size_t n)
{
    touch(ctx, p, n);
    if (n <= LAST_BULK_MAX) {
        memcpy(last_bulk, p, n);
        last_bulk_len = n;
    }
    element(ctx, 0, 0);
}
static void r_null(void *ctx)
{
    element(ctx, 0, 0);
}
static void r_array(void *ctx, size_t n)
{
    element(ctx, n, 1);
}
static void r_map(void *ctx, size_t n)
{
    SYN_ASSERT(n <= SIZE_MAX / 2);
    element(ctx, 2 * n, 1);
}
static void r_dbl(void *ctx, double v)
{
    SYN_ASSERT(!isnan(v));
    element(ctx, 0, 0);
}
static int r_resp3(void *ctx)
{
    return ((reply_check *)ctx)->resp3;
}
static void r_dbl_str(void *ctx, const char *s, size_t n)
{
    touch(ctx, s, n);
    element(ctx, 0, 0);
}
static const data_reply_ops check_ops = {r_status, r_error, r_int,   r_bulk, r_null,  r_null,
                                         r_array,  r_map,   r_array, r_dbl,  r_resp3, r_dbl_str};

static void reply_begin(reply_check *r, int resp3)
{
    memset(r, 0, sizeof(*r));
    r->resp3 = resp3;
}

static void reply_done(const reply_check *r)
{
    SYN_ASSERT(r->top == 1 && r->depth == 0);
}

/* ---- hooks: read what they are given ---- */

static unsigned hook_sum;
static void hook_key(void *ctx, const char *key, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < len; i++)
        hook_sum += (unsigned char)key[i];
}
static long long hook_publish(void *ctx, int shard, const char *ch, size_t clen, const char *msg,
                              size_t mlen)
{
    hook_key(ctx, ch, clen);
    hook_key(ctx, msg, mlen);
    return shard;
}
static void hook_event(void *ctx, int cls, const char *event, const char *key, size_t klen)
{
    (void)cls;
    hook_key(ctx, event, strlen(event));
    if (key) hook_key(ctx, key, klen);
}
static void hook_election(void *ctx, const char *name, size_t len, const char *value, size_t vlen,
                          uint64_t token)
{
    (void)token;
    hook_key(ctx, name, len);
    if (value) hook_key(ctx, value, vlen);
}
static void hook_acl(void *ctx, const char *name, size_t len, int deleted)
{
    (void)deleted;
    hook_key(ctx, name, len);
}

/* ---- the store ---- */

enum {
    H_RESP3 = 1,
    H_LAZY = 2,
    H_SMALL = 4,
    H_NOTIFY = 8,
    H_SEED = 16,
    H_SCRIPT = 32,
    H_LOG = 64,
    H_TEXT = 128
};

static data_store *store_new(int header)
{
    data_store *ds = data_create();
    SYN_ASSERT(ds != NULL);
    data_set_max_string_bytes(ds, MAX_STRING);
    SYN_ASSERT(data_set_databases(ds, 4) == 0);
    if (header & H_SEED) SYN_ASSERT(data_set_hash_seed(ds, 0x1234, 0x5678) == 0);
    if (header & H_SMALL) {
        data_set_max_intset_entries(ds, 4);
        data_set_hash_max_listpack(ds, 4, 16);
        data_set_zset_max_listpack(ds, 4, 16);
        data_set_list_max_listpack_size(ds, 2);
        data_set_stream_node_max_entries(ds, 2);
        data_set_hll_sparse_max_bytes(ds, 40);
    }
    data_set_lazyfree(ds, (header & H_LAZY) != 0);
    if (header & H_LAZY) data_set_lazyfree_policy(ds, 31);
    if (header & H_NOTIFY)
        data_set_notify_flags(ds, DATA_NOTIFY_ALL | DATA_NOTIFY_KEYSPACE | DATA_NOTIFY_KEYEVENT |
                                      DATA_NOTIFY_NEW);
    data_set_pubsub_hooks(ds, hook_publish, hook_event, NULL);
    data_set_key_created_hook(ds, hook_key, NULL);
    data_set_key_touched_hook(ds, hook_key, NULL);
    data_set_election_hook(ds, hook_election, NULL);
    data_set_acl_hook(ds, hook_acl, NULL);
    data_set_in_script(ds, (header & H_SCRIPT) != 0);
    data_set_log_apply(ds, (header & H_LOG) != 0);
    return ds;
}

/* Values queued for the lazy-free thread, freed here as that thread would. */
static void lazy_drain(data_store *ds)
{
    void *v[16];
    size_t n;
    while ((n = data_lazy_take(ds, v, 16)) > 0) {
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++)
            bytes += data_lazy_free(v[i]);
        data_lazy_done(ds, n, bytes);
    }
}

typedef struct {
    data_store *ds;
    int header;
    int64_t now_ms;
} run;

static void expire_now(void *ctx, const char *key, size_t len)
{
    run *r = ctx;
    (void)data_expire_key(r->ds, key, len, r->now_ms);
}

typedef struct {
    char key[64][32];
    size_t len[64];
    int n;
} key_list;

static void collect_key(void *ctx, const char *key, size_t len)
{
    key_list *k = ctx;
    if (k->n < 64 && len <= sizeof(k->key[0])) {
        memcpy(k->key[k->n], key, len);
        k->len[k->n++] = len;
    }
}

typedef struct {
    unsigned char *p;
    size_t len;
} sbuf;

static int sbuf_write(void *ctx, const void *p, size_t n)
{
    sbuf *b = ctx;
    b->p = realloc(b->p, b->len + n);
    SYN_ASSERT(b->p != NULL);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

/* Saves the store, loads it into a new one with the same settings, checks both hold the same
 * data, and goes on with the new one. */
static void reload(run *r)
{
    sbuf b = {NULL, 0};
    SYN_ASSERT(data_snapshot_save(r->ds, sbuf_write, &b) == 0);
    data_store *ds2 = store_new(r->header);
    SYN_ASSERT(data_snapshot_load(ds2, b.p, b.len) == 0);
    char d1[33], d2[33];
    data_digest(r->ds, d1);
    data_digest(ds2, d2);
    SYN_ASSERT(strcmp(d1, d2) == 0);
    SYN_ASSERT(data_select(ds2, data_selected(r->ds)) >= 0);
    lazy_drain(r->ds);
    data_destroy(r->ds);
    r->ds = ds2;
    free(b.p);
}

static long long arg_ll(const data_arg *a, long long dflt)
{
    char tmp[32];
    if (a->len == 0 || a->len >= sizeof(tmp)) return dflt;
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    char *end;
    long long v = strtoll(tmp, &end, 10);
    return *end ? dflt : v;
}

static int pseudo(run *r, int argc, const data_arg *argv)
{
    const data_arg *name = &argv[0];
    if (data_arg_is(name, "_select")) {
        if (argc > 1) (void)data_select(r->ds, arg_ll(&argv[1], 0));
    } else if (data_arg_is(name, "_tick")) {
        long long ms = argc > 1 ? arg_ll(&argv[1], 1000) : 1000;
        if (ms < 0 || ms > MAX_TICK_MS) ms = MAX_TICK_MS;
        r->now_ms += ms;
    } else if (data_arg_is(name, "_cycle")) {
        key_list k = {.n = 0};
        (void)data_expire_sample(r->ds, r->now_ms, 64, collect_key, &k);
        for (int i = 0; i < k.n; i++)
            (void)data_expire_key(r->ds, k.key[i], k.len[i], r->now_ms);
        data_free_garbage(r->ds);
        lazy_drain(r->ds);
    } else if (data_arg_is(name, "_reload")) {
        reload(r);
    } else {
        return 0;
    }
    return 1;
}

/* Raises a huge negative count of the commands that reply with that many elements. */
static void bound_args(int argc, data_arg *argv, char *buf, size_t cap)
{
    if (argc < 3) return;
    if (!data_arg_is(&argv[0], "srandmember") && !data_arg_is(&argv[0], "hrandfield") &&
        !data_arg_is(&argv[0], "zrandmember"))
        return;
    long long v = arg_ll(&argv[2], 0);
    if (v < -MAX_NEG_COUNT && v > -(LLONG_MAX / 2)) {
        int n = snprintf(buf, cap, "%d", -MAX_NEG_COUNT);
        argv[2] = (data_arg){buf, (size_t)n};
    }
}

/* Executes a blocking command as the node that serves its client does. */
static void exec_blocking(run *r, const data_cmd *dc, int argc, const data_arg *argv)
{
    reply_check rc;
    reply_begin(&rc, r->header & H_RESP3);
    data_block blk;
    (void)data_exec_block(r->ds, dc, argc, argv, r->now_ms, &check_ops, &rc, &blk);
    if (!blk.blocked) {
        reply_done(&rc);
        return;
    }
    SYN_ASSERT(rc.top == 0);
    SYN_ASSERT(blk.first_key >= 1 && blk.n_keys >= 1 && blk.first_key + blk.n_keys <= argc);
    SYN_ASSERT(blk.type >= 1 && blk.type < DATA_BLOCK_TYPES);
    for (int i = 0; i < blk.n_keys; i++) {
        const data_arg *k = &argv[blk.first_key + i];
        (void)data_block_available(r->ds, blk.type, k->ptr, k->len, r->now_ms);
    }
    data_arg retry[MAX_ARGS + 1];
    char scratch[44 * MAX_ARGS];
    int n = data_block_retry_args(r->ds, argc, argv, r->now_ms, retry, scratch, sizeof(scratch));
    SYN_ASSERT(n == argc);
    if (blk.type == DATA_BLOCK_STREAM) {
        /* a wake-up check for the first key, then the retry it would propose */
        const data_arg *k = &argv[blk.first_key];
        const char *err = NULL;
        int w = data_block_stream_wake(r->ds, n, retry, k->ptr, k->len, r->now_ms, &err);
        SYN_ASSERT(w >= DATA_WAKE_NONE && w <= DATA_WAKE_ERROR);
        data_arg woken[MAX_ARGS + 1];
        int m = data_block_woken_args(n, retry, k->ptr, k->len, woken);
        SYN_ASSERT(m >= 1 && m <= n);
        const data_cmd *wdc = data_cmd_lookup(woken[0].ptr, woken[0].len);
        SYN_ASSERT(wdc != NULL);
        reply_check wc;
        reply_begin(&wc, r->header & H_RESP3);
        (void)data_exec(r->ds, wdc, m, woken, r->now_ms, &check_ops, &wc);
        reply_done(&wc);
    }
    data_reply_timeout(&blk, &check_ops, &rc);
    reply_done(&rc);
}

static void exec_one(run *r, int argc, data_arg *argv, int flags)
{
    char num[32];
    bound_args(argc, argv, num, sizeof(num));
    if (trace) {
        for (int i = 0; i < argc; i++) {
            fputs(i ? " '" : "'", stderr);
            for (size_t j = 0; j < argv[i].len; j++) {
                unsigned char ch = (unsigned char)argv[i].ptr[j];
                fprintf(stderr, ch >= 32 && ch < 127 && ch != '\\' ? "%c" : "\\x%02x", ch);
            }
            fputc('\'', stderr);
        }
        fprintf(stderr, " (flags %d, t+%lld ms)\n", flags, (long long)(r->now_ms - T0_MS));
    }
    if (pseudo(r, argc, argv)) return;
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    if (!dc || data_arg_is(&argv[0], "pfselftest")) return;
    const data_cmd_info *info = data_cmd_describe(dc);
    if ((flags & 2) && (info->flags & DATA_CMD_BLOCKING)) {
        exec_blocking(r, dc, argc, argv);
    } else {
        data_arg rw[64];
        char scratch[256];
        if ((flags & 1) && (info->flags & DATA_CMD_WRITE) && argc + 8 <= 64) {
            int n =
                data_rewrite(r->ds, dc, argc, argv, r->now_ms, rw, 64, scratch, sizeof(scratch));
            if (n > 0) {
                dc = data_cmd_lookup(rw[0].ptr, rw[0].len);
                SYN_ASSERT(dc != NULL);
                argc = n;
                argv = rw;
            }
        }
        reply_check rc;
        reply_begin(&rc, r->header & H_RESP3);
        (void)data_exec(r->ds, dc, argc, argv, r->now_ms, &check_ops, &rc);
        reply_done(&rc);
    }
    (void)data_take_expired(r->ds, expire_now, r);
    if (r->header & H_LAZY) lazy_drain(r->ds);
}

/* ---- decoding ---- */

typedef struct {
    const uint8_t *p;
    size_t left;
} input;

static int take(input *in, uint8_t *b)
{
    if (in->left == 0) return 0;
    *b = *in->p++;
    in->left--;
    return 1;
}

/* The next binary command into argv (argument bytes point into the input or WORDS). */
static int decode_binary(input *in, data_arg *argv, int *flags)
{
    uint8_t lo, hi, ctl;
    if (!take(in, &lo) || !take(in, &hi) || !take(in, &ctl)) return 0;
    memcpy(last_arg, last_bulk, last_bulk_len);
    last_arg_len = last_bulk_len;
    size_t ncmd = data_cmd_count();
    size_t idx = ((size_t)hi << 8 | lo) % (ncmd + N_PSEUDO);
    if (idx < ncmd) {
        const char *name = data_cmd_describe(data_cmd_at(idx))->name;
        argv[0] = (data_arg){name, strlen(name)};
    } else {
        argv[0] = (data_arg){PSEUDO[idx - ncmd], strlen(PSEUDO[idx - ncmd])};
    }
    *flags = (ctl >> 4) & 3;
    int argc = 1 + (ctl & 15);
    for (int i = 1; i < argc; i++) {
        uint8_t t;
        if (!take(in, &t)) return i;
        if (t < RAW_SHORT) {
            uint8_t w8 = t;
            if (t >= WORD_BY_NEXT && !take(in, &w8)) return i;
            const char *w = WORDS[w8 % N_WORDS];
            argv[i] =
                w == LAST_BULK ? (data_arg){last_arg, last_arg_len} : (data_arg){w, strlen(w)};
            continue;
        }
        size_t n = t - RAW_SHORT;
        if (t == 255) {
            uint8_t l;
            n = take(in, &l) ? l : 0;
        }
        if (n > in->left) n = in->left;
        argv[i] = (data_arg){(const char *)in->p, n};
        in->p += n;
        in->left -= n;
    }
    return argc;
}

/* The next text line into argv (split on spaces; no quoting). */
static int decode_text(input *in, data_arg *argv, int *flags)
{
    *flags = 3;
    while (in->left > 0 && (*in->p == '\n' || *in->p == ' ')) {
        in->p++;
        in->left--;
    }
    if (in->left == 0) return 0;
    memcpy(last_arg, last_bulk, last_bulk_len);
    last_arg_len = last_bulk_len;
    if (*in->p == '!') { /* as given: no rewrite, no blocking form */
        *flags = 0;
        in->p++;
        in->left--;
    }
    const uint8_t *nl = memchr(in->p, '\n', in->left);
    size_t line = nl ? (size_t)(nl - in->p) : in->left;
    const char *s = (const char *)in->p, *end = s + line;
    in->p += line;
    in->left -= line;
    int argc = 0;
    while (s < end && argc < MAX_ARGS) {
        while (s < end && *s == ' ')
            s++;
        if (s == end) break;
        const char *w = s;
        while (s < end && *s != ' ')
            s++;
        argv[argc] = (data_arg){w, (size_t)(s - w)};
        if (data_arg_is(&argv[argc], "@last")) argv[argc] = (data_arg){last_arg, last_arg_len};
        argc++;
    }
    return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    trace = getenv("FUZZ_TRACE") != NULL;
    run r = {store_new(data[0]), data[0], T0_MS};
    last_bulk_len = 0;
    input in = {data + 1, size - 1};
    data_arg argv[MAX_ARGS + 1];
    for (int i = 0; i < MAX_CMDS; i++) {
        int flags = 0;
        int argc =
            (r.header & H_TEXT) ? decode_text(&in, argv, &flags) : decode_binary(&in, argv, &flags);
        if (argc == 0) break;
        exec_one(&r, argc, argv, flags);
    }
    reload(&r);
    lazy_drain(r.ds);
    data_destroy(r.ds);
    return 0;
}
