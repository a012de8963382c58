/* test_data_hll.c — HyperLogLogs (hll.c), seeded and printed (DATA_SEED=n replays):
 * - golden replies and bytes recorded from Redis 7.0.15 (GET of an HLL after PFADD equals
 *   Redis's GET after PFADD + PFCOUNT; DECODE shows Redis's sparse opcodes);
 * - the estimate's error at 1..200,000 distinct elements, and of unions;
 * - sparse -> dense promotion: a sparse HLL never exceeds hll-sparse-max-bytes, turns dense by
 *   itself, and always agrees with a twin made dense at creation (registers and count);
 * - random PFADD/PFMERGE on sparse keys against dense twins (the dense code is the model), on
 *   two stores with different hash seeds that must hold the same bytes;
 * - corrupted values (flipped bytes, truncations, appended bytes, edited headers) under every
 *   command: only Redis's errors, a failed write changes nothing, a successful write leaves a
 *   sound HLL, and nothing crashes (the suite runs under ASan/UBSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <time.h>

#include "test_data_helpers.h"
#include "test_data_recorder.h"

/* ---- replies captured as values ---- */

#define CAP_INTS 16384

typedef struct {
    char kind; /* '+', '-', ':', '$', 'n' (null), '*' */
    long long i;
    char *bytes; /* '$' and '+' and '-' */
    size_t len;
    long long ints[CAP_INTS]; /* '*' of integers (GETREG) */
    size_t n;
} cap_t;

static cap_t cap;

static void cap_str(char kind, const char *s, size_t n)
{
    cap.kind = kind;
    free(cap.bytes);
    cap.bytes = malloc(n + 1);
    memcpy(cap.bytes, s, n);
    cap.bytes[n] = '\0';
    cap.len = n;
}
static void c_status(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    cap_str('+', s, n);
}
static void c_error(void *ctx, const char *s, size_t n)
{
    (void)ctx;
    cap_str('-', s, n);
}
static void c_int(void *ctx, long long v)
{
    (void)ctx;
    if (cap.kind == '*') {
        assert_true(cap.n < CAP_INTS);
        cap.ints[cap.n++] = v;
        return;
    }
    cap.kind = ':';
    cap.i = v;
}
static void c_bulk(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    cap_str('$', p, n);
}
static void c_null(void *ctx)
{
    (void)ctx;
    cap.kind = 'n';
}
static void c_array(void *ctx, size_t n)
{
    (void)ctx;
    (void)n;
    cap.kind = '*';
    cap.n = 0;
}
static void c_dbl(void *ctx, double v)
{
    (void)ctx;
    (void)v;
    fail_msg("unexpected double reply");
}
static void c_hdr(void *ctx, size_t n)
{
    (void)ctx;
    (void)n;
    fail_msg("unexpected map/set reply");
}
static const data_reply_ops cap_ops = {c_status, c_error, c_int, c_bulk, c_null, c_null,
                                       c_array,  c_hdr,   c_hdr, c_dbl,  NULL,   NULL};

/* Runs argv (binary-safe) on ds; the reply is in `cap`; returns the dirty flag. */
static int runv(data_store *ds, int argc, const data_arg *argv)
{
    cap.kind = 0;
    const data_cmd *cmd = data_cmd_lookup(argv[0].ptr, argv[0].len);
    assert_non_null(cmd);
    return data_exec(ds, cmd, argc, argv, t_now_ms, &cap_ops, NULL);
}

#define A(s) ((data_arg){(s), strlen(s)})

static int run3(data_store *ds, const char *a, const char *b, const char *c)
{
    data_arg v[3] = {A(a), A(b), c ? A(c) : A("")};
    return runv(ds, c ? 3 : 2, v);
}

static long long count_of(data_store *ds, const char *key)
{
    run3(ds, "PFCOUNT", key, NULL);
    if (cap.kind != ':') fail_msg("PFCOUNT %s: %c %s", key, cap.kind, cap.bytes);
    return cap.i;
}

static char *value_of(data_store *ds, const char *key, size_t *len)
{
    run3(ds, "GET", key, NULL);
    if (cap.kind == 'n') return NULL;
    assert_int_equal(cap.kind, '$');
    char *v = malloc(cap.len + 1);
    memcpy(v, cap.bytes, cap.len);
    *len = cap.len;
    return v;
}

static void set_value(data_store *ds, const char *key, const char *v, size_t len)
{
    data_arg argv[3] = {A("SET"), A(key), {v, len}};
    runv(ds, 3, argv);
    assert_int_equal(cap.kind, '+');
}

static int is_sparse(data_store *ds, const char *key)
{
    run3(ds, "PFDEBUG", "ENCODING", key);
    assert_int_equal(cap.kind, '+');
    return strcmp(cap.bytes, "sparse") == 0;
}

static long long strlen_of(data_store *ds, const char *key)
{
    run3(ds, "STRLEN", key, NULL);
    return cap.i;
}

/* PFADD key with n elements named prefix:from.. */
static long long add_range(data_store *ds, const char *key, const char *prefix, long from, int n)
{
    static char names[200][32];
    data_arg argv[202] = {A("PFADD"), A(key)};
    assert_true(n <= 200);
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], "%s:%ld", prefix, from + i);
        argv[2 + i] = A(names[i]);
    }
    runv(ds, 2 + n, argv);
    assert_int_equal(cap.kind, ':');
    return cap.i;
}

/* The registers of key (PFDEBUG GETREG on a copy, so key keeps its encoding). */
static void regs_of(data_store *ds, const char *key, long long out[CAP_INTS])
{
    data_arg cp[4] = {A("COPY"), A(key), A("__regs"), A("REPLACE")};
    runv(ds, 4, cp);
    assert_int_equal(cap.kind, ':');
    run3(ds, "PFDEBUG", "GETREG", "__regs");
    assert_int_equal(cap.kind, '*');
    assert_int_equal(cap.n, CAP_INTS);
    memcpy(out, cap.ints, sizeof cap.ints);
    run3(ds, "DEL", "__regs", NULL);
}

/* ---- golden replies (recorded from redis-server 7.0.15) ---- */

static void hll_golden_replies(void **state)
{
    (void)state;
    data_store *ds = data_create();
    data_set_log_apply(ds, 1); /* as applied from the log: PFCOUNT stores a stale cache's count */
    static const rec_step steps[] = {
        {"PFADD hll a b c", ":1"},
        /* the cached count stale (byte 15 = 0x80) until PFCOUNT stores it (byte 8 = 3) */
        {"GET hll", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80`\\xf3\\x80"
                    "P\\xb1\\x84K\\xfb\\x80BZ\""},
        {"PFCOUNT hll", ":3"},
        {"GET hll", "\"HYLL\\x01\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00`\\xf3\\x80"
                    "P\\xb1\\x84K\\xfb\\x80BZ\""},
        {"PFDEBUG DECODE hll", "\"Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\""},
        {"PFDEBUG ENCODING hll", "+sparse"},
        {"OBJECT ENCODING hll", "\"raw\""},
        {"PFADD hll", ":0"},
        {"PFADD hll a", ":0"},
        {"PFADD e", ":1"},
        {"GET e", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\\xff\""},
        {"PFCOUNT e", ":0"},
        {"GET e", "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\\xff\""},
        {"PFCOUNT nokey", ":0"},
        {"PFCOUNT nokey nokey2", ":0"},
        {"SET s hello", "+OK"},
        {"PFADD s x", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"PFCOUNT s", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"PFCOUNT hll s", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"PFMERGE d s", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"PFMERGE s hll", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"EXISTS d", ":0"},
        {"HSET h f v", ":1"},
        {"PFADD h x", "-WRONGTYPE Operation against a key holding the wrong kind of value"},
        {"PFCOUNT h", "-WRONGTYPE Operation against a key holding the wrong kind of value"},
        {"PFDEBUG GETREG nokey", "-ERR The specified key does not exist"},
        {"PFDEBUG FOO hll", "-ERR Unknown PFDEBUG subcommand 'FOO'"},
        {"PFDEBUG FOO nokey", "-ERR The specified key does not exist"},
        {"PFDEBUG ENCODING s", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"PFDEBUG TODENSE hll", ":1"},
        {"PFDEBUG TODENSE hll", ":0"},
        {"PFDEBUG DECODE hll", "-ERR HLL encoding is not sparse"},
        {"PFDEBUG ENCODING hll", "+dense"},
        {"STRLEN hll", ":12304"},
        {"PFCOUNT hll", ":3"},
        {"PFMERGE m hll e", "+OK"},
        {"PFDEBUG ENCODING m", "+dense"},
        {"PFMERGE m2 e", "+OK"},
        {"GET m2",
         "\"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\\xff\""},
        {"PFADD x 1 2 3 4 5 6 7 8 9 10", ":1"},
        {"PFDEBUG DECODE x", "\"Z:495 v:2,1 Z:2084 v:1,1 Z:4946 v:1,1 Z:3297 v:1,1 Z:147 v:1,1 "
                             "Z:3136 v:1,1 Z:728 v:1,1 Z:531 v:4,1 Z:185 v:1,1 z:22 v:2,1 Z:803\""},
        {"PFCOUNT x", ":10"},
        {"GET x", "\"HYLL\\x01\\x00\\x00\\x00\\x0a\\x00\\x00\\x00\\x00\\x00\\x00\\x00A\\xee\\x84H#"
                  "\\x80SQ\\x80L\\xe0\\x80@\\x92\\x80L?\\x80B\\xd7\\x80B\\x12\\x8c@\\xb8\\x80\\x15"
                  "\\x84C\\\"\""},
        {"PFCOUNT x hll", ":13"},
        /* a stale cache (bit 63) is recomputed; a code covering 16129 registers is corrupt */
        {"SET c \"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\"", "+OK"},
        {"PFCOUNT c", "-INVALIDOBJ Corrupted HLL object detected"},
        {"SET c2 \"HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x7f\"", "+OK"},
        {"PFCOUNT c2", ":0"}, /* a valid cache is returned unchecked, as Redis does */
        {"SET c5 \"HYLL\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\\xff\"",
         "+OK"},
        {"PFCOUNT c5", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"SET c6 \"HYLL\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x7f\\xff\"",
         "+OK"},
        {"PFCOUNT c6", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"SET c7 HYL", "+OK"},
        {"PFCOUNT c7", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"SET c8 12345", "+OK"},
        {"PFADD c8 a", "-WRONGTYPE Key is not a valid HyperLogLog string value."},
        {"PFADD hll2 a b c", ":1"},
        {"APPEND hll2 hello", ":32"},
        {"PFCOUNT hll2", "-INVALIDOBJ Corrupted HLL object detected"},
        {"PFADD hll2 zz", "-INVALIDOBJ Corrupted HLL object detected"},
        {"PFMERGE hll3 hll2", "-INVALIDOBJ Corrupted HLL object detected"},
        {"EXISTS hll3", ":0"},
        {NULL, NULL},
    };
    run_script(ds, steps);
    data_destroy(ds);
}

/* ---- estimate ---- */

static void hll_estimate_error(void **state)
{
    (void)state;
    data_store *ds = data_create();
    /* Redis's self test bound: 6 standard errors (1.04 / sqrt(16384)), and 1 at 10 */
    const double relerr = 1.04 / 128.0;
    long n = 0, next_check = 1;
    while (n < 200000) {
        int batch = n < 1000 ? 1 : 200;
        add_range(ds, "est", "e", n, batch);
        add_range(ds, "half", "e", n / 2, batch > 1 ? batch / 2 : (n % 2 == 0));
        n += batch;
        if (n < next_check) continue;
        long long est = count_of(ds, "est");
        double maxerr = n == 10 ? 1 : ceil(relerr * 6 * (double)n);
        if (fabs((double)est - (double)n) > maxerr)
            fail_msg("n=%ld: estimate %lld, more than %.0f off", n, est, maxerr);
        /* "half" saw e:0..n/2; the union with est is n elements, the same registers */
        data_arg u[3] = {A("PFCOUNT"), A("est"), A("half")};
        runv(ds, 3, u);
        assert_int_equal(cap.kind, ':');
        assert_int_equal(cap.i, est);
        next_check = next_check < 100 ? next_check + 1 : next_check * 3 / 2;
    }
    assert_false(is_sparse(ds, "est"));
    data_destroy(ds);
}

/* ---- promotion ---- */

static void promote_run(long long sparse_max)
{
    data_store *ds = data_create();
    data_set_hll_sparse_max_bytes(ds, sparse_max);
    run3(ds, "PFADD", "d", NULL);
    run3(ds, "PFDEBUG", "TODENSE", "d");
    assert_int_equal(cap.i, 1);
    static long long rs[CAP_INTS], rd[CAP_INTS];
    long promoted_at = -1;
    long long last_sparse_len = 0;
    for (long i = 0; i < 20000 && promoted_at < 0; i++) {
        add_range(ds, "s", "p", i, 1);
        add_range(ds, "d", "p", i, 1);
        assert_int_equal(count_of(ds, "s"), count_of(ds, "d"));
        if (is_sparse(ds, "s")) {
            last_sparse_len = strlen_of(ds, "s");
            if (last_sparse_len > sparse_max) fail_msg("sparse %lld bytes", last_sparse_len);
        } else {
            promoted_at = i;
            assert_int_equal(strlen_of(ds, "s"), 12304);
        }
        if (i % 97 == 0 || promoted_at >= 0) {
            regs_of(ds, "s", rs);
            regs_of(ds, "d", rd);
            assert_memory_equal(rs, rd, sizeof rs);
        }
    }
    printf("hll-sparse-max-bytes %lld: dense after %ld elements (sparse was %lld bytes)\n",
           sparse_max, promoted_at + 1, last_sparse_len);
    assert_true(promoted_at >= 0);
    /* a split adds at most 3 bytes: the code turned dense only when it had to */
    if (promoted_at > 0) assert_true(last_sparse_len + 3 > sparse_max);
    size_t ls, ld;
    char *vs = value_of(ds, "s", &ls), *vd = value_of(ds, "d", &ld);
    assert_int_equal(ls, ld);
    assert_memory_equal(vs, vd, ls); /* same registers, same cache */
    free(vs);
    free(vd);
    data_destroy(ds);
}

static void hll_sparse_promotion(void **state)
{
    (void)state;
    promote_run(3000);
    promote_run(200);
    promote_run(17); /* the empty HLL (18 bytes) must turn dense at its first change */
}

/* ---- sparse against dense twins, on two stores ---- */

#define TWIN_KEYS 4

static void hll_sparse_matches_dense(void **state)
{
    (void)state;
    seed_for("hll_sparse_matches_dense");
    data_store *a = data_create(), *b = data_create();
    assert_int_equal(data_set_hash_seed(b, 99, rnd()), 0);
    data_store *st[2] = {a, b};
    static long long rs[CAP_INTS], rd[CAP_INTS];
    char sk[TWIN_KEYS][16], dk[TWIN_KEYS][16];
    for (int k = 0; k < TWIN_KEYS; k++) {
        snprintf(sk[k], sizeof sk[k], "s%d", k);
        snprintf(dk[k], sizeof dk[k], "d%d", k);
    }
    for (int si = 0; si < 2; si++)
        for (int k = 0; k < TWIN_KEYS; k++) {
            run3(st[si], "PFADD", dk[k], NULL);
            run3(st[si], "PFDEBUG", "TODENSE", dk[k]);
        }
    for (int step = 0; step < 1500; step++) {
        int k = (int)rn(TWIN_KEYS), op = (int)rn(10);
        for (int si = 0; si < 2; si++) {
            data_store *ds = st[si];
            uint64_t saved = rng_state; /* both stores get the same command */
            if (op == 0) {              /* start over; the twin is made dense at once */
                run3(ds, "DEL", sk[k], NULL);
                run3(ds, "DEL", dk[k], NULL);
                run3(ds, "PFADD", dk[k], NULL);
                run3(ds, "PFDEBUG", "TODENSE", dk[k]);
            } else if (op <= 7) {
                int n = (int)rn(op <= 5 ? 4 : 60);
                long from = (long)rn(5000);
                run3(ds, "EXISTS", sk[k], NULL);
                long long existed = cap.i;
                long long r1 = add_range(ds, sk[k], "t", from, n);
                long long r2 = add_range(ds, dk[k], "t", from, n);
                /* the same registers grow; creating the sparse key counts as a change */
                if (r1 != r2 && !(r1 == 1 && !existed))
                    fail_msg("step %d: PFADD %s %lld, its dense twin %lld", step, sk[k], r1, r2);
            } else {
                int k2 = (int)rn(TWIN_KEYS);
                data_arg ms[4] = {A("PFMERGE"), A(sk[k]), A(sk[k2]), A(sk[(k + 1) % TWIN_KEYS])};
                data_arg md[4] = {A("PFMERGE"), A(dk[k]), A(dk[k2]), A(dk[(k + 1) % TWIN_KEYS])};
                runv(ds, 4, ms);
                assert_int_equal(cap.kind, '+');
                runv(ds, 4, md);
                assert_int_equal(cap.kind, '+');
            }
            if (si == 0) rng_state = saved;
        }
        /* the registers and counts of a sparse key are its dense twin's */
        run3(a, "EXISTS", sk[k], NULL);
        if (cap.i && step % 5 == 0) {
            regs_of(a, sk[k], rs);
            run3(a, "EXISTS", dk[k], NULL);
            if (cap.i) {
                regs_of(a, dk[k], rd);
                for (int i = 0; i < CAP_INTS; i++)
                    if (rs[i] != rd[i])
                        fail_msg("step %d key %s register %d: sparse %lld dense %lld", step, sk[k],
                                 i, rs[i], rd[i]);
                assert_int_equal(count_of(a, sk[k]), count_of(a, dk[k]));
            }
        }
        /* both stores hold the same bytes */
        for (int j = 0; j < TWIN_KEYS; j++) {
            const char *keys[2] = {sk[j], dk[j]};
            for (int t = 0; t < 2; t++) {
                size_t la = 0, lb = 0;
                char *va = value_of(a, keys[t], &la), *vb = value_of(b, keys[t], &lb);
                if ((va == NULL) != (vb == NULL) || la != lb || (va && memcmp(va, vb, la) != 0))
                    fail_msg("step %d: %s differs between the stores", step, keys[t]);
                free(va);
                free(vb);
            }
        }
    }
    data_destroy(a);
    data_destroy(b);
}

/* ---- corrupted values ---- */

static int allowed_error(const char *e)
{
    return strcmp(e, "INVALIDOBJ Corrupted HLL object detected") == 0 ||
           strcmp(e, "WRONGTYPE Key is not a valid HyperLogLog string value.") == 0 ||
           strcmp(e, "ERR HLL encoding is not sparse") == 0;
}

static void hll_corrupt_fuzz(void **state)
{
    (void)state;
    seed_for("hll_corrupt_fuzz");
    data_store *ds = data_create();
    if (rn(2)) data_set_hll_sparse_max_bytes(ds, 300 + rn(4000));
    static char buf[20000];
    int errors = 0, writes_ok = 0;
    for (int round = 0; round < 600; round++) {
        run3(ds, "DEL", "k", NULL);
        run3(ds, "DEL", "ok", NULL);
        add_range(ds, "ok", "o", 0, 20);
        int n = (int)rn(4) == 0 ? 0 : (int)rn(2) ? (int)rn(100) : (int)rn(3000);
        for (int i = 0; i < n; i += 200)
            add_range(ds, "k", "f", round * 10000 + i, n - i < 200 ? n - i : 200);
        if (n == 0) run3(ds, "PFADD", "k", NULL);
        if (rn(3) == 0) run3(ds, "PFDEBUG", "TODENSE", "k");
        size_t len;
        char *v = value_of(ds, "k", &len);
        assert_true(len <= sizeof buf - 64);
        memcpy(buf, v, len);
        free(v);
        switch (rn(5)) {
        case 0: /* a truncation */ len = (size_t)rn((int)len + 1); break;
        case 1: /* bytes appended */
            for (int i = 0, m = 1 + (int)rn(8); i < m; i++)
                buf[len++] = (char)rnd();
            break;
        case 2: /* the encoding byte or the cache */
            if (len > 15) buf[rn(2) ? 4 : 8 + rn(8)] = (char)rn(3);
            break;
        default: /* 1 to 5 random bytes anywhere (mostly in the registers) */
            for (int i = 0, m = 1 + (int)rn(5); i < m && len; i++)
                buf[rn((int)len)] = (char)rnd();
        }
        set_value(ds, "k", buf, len);
        for (int c = 0; c < 6; c++) {
            size_t before_len;
            char *before = value_of(ds, "k", &before_len);
            int op = (int)rn(9), dirty;
            int is_write = 0;
            if (op == 0) {
                dirty = run3(ds, "PFCOUNT", "k", NULL);
            } else if (op == 1) {
                data_arg u[3] = {A("PFCOUNT"), A("ok"), A("k")};
                dirty = runv(ds, 3, u);
            } else if (op <= 3) {
                char e1[32], e2[32];
                snprintf(e1, sizeof e1, "x%llu", (unsigned long long)rnd());
                snprintf(e2, sizeof e2, "y%llu", (unsigned long long)rnd());
                data_arg u[4] = {A("PFADD"), A("k"), A(e1), A(e2)};
                dirty = runv(ds, 4, u);
                is_write = 1;
            } else if (op == 4) {
                data_arg u[3] = {A("PFMERGE"), A("k"), A("ok")};
                dirty = runv(ds, 3, u);
                is_write = 1;
            } else if (op == 5) {
                data_arg u[3] = {A("PFMERGE"), A("ok"), A("k")};
                dirty = runv(ds, 3, u);
            } else {
                static const char *subs[] = {"GETREG", "DECODE", "ENCODING", "TODENSE"};
                dirty = run3(ds, "PFDEBUG", subs[op - 6 + (int)rn(2)], "k");
            }
            if (cap.kind == '-') {
                errors++;
                if (!allowed_error(cap.bytes)) fail_msg("round %d: error %s", round, cap.bytes);
                assert_int_equal(dirty, 0);
                size_t after_len;
                char *after = value_of(ds, "k", &after_len);
                assert_int_equal(after_len, before_len);
                assert_memory_equal(after, before, after_len); /* a failed write changes nothing */
                free(after);
            } else if (is_write) {
                writes_ok++;
                /* a write leaves a sound HLL: its count is computed without error */
                run3(ds, "PFCOUNT", "k", NULL);
                if (cap.kind != ':')
                    fail_msg("round %d: after a write PFCOUNT says %s", round, cap.bytes);
            }
            free(before);
        }
    }
    printf("hll_corrupt_fuzz: %d errors, %d successful writes\n", errors, writes_ok);
    assert_true(errors > 100 && writes_ok > 100);
    data_destroy(ds);
    free(cap.bytes);
    cap.bytes = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hll_golden_replies),   cmocka_unit_test(hll_estimate_error),
        cmocka_unit_test(hll_sparse_promotion), cmocka_unit_test(hll_sparse_matches_dense),
        cmocka_unit_test(hll_corrupt_fuzz),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
