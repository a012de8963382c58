/* test_data_model.c — randomised tests with a printed, replayable seed (DATA_SEED=n):
 * - the keyspace against a simple reference model (strings, hashes, expiry, rename, snapshot
 *   round trips and active expiry in the middle of the run);
 * - SCAN/HSCAN's guarantee: every key present for the whole scan is returned at least once,
 *   while the table grows and shrinks between calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <time.h>

#include "test_data_recorder.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int rn(int n)
{
    return (int)(rnd() % (uint64_t)n);
}

static uint64_t seed_for(const char *test)
{
    uint64_t seed = getenv("DATA_SEED") ? strtoull(getenv("DATA_SEED"), NULL, 10)
                                        : (uint64_t)time(NULL) % 1000000;
    printf("%s: DATA_SEED=%llu\n", test, (unsigned long long)seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    rng_state = seed * 2654435761u + 88172645463325252ull;
    return seed;
}

/* ---- reference model ---- */

#define M_KEYS   12
#define M_FIELDS 8
#define M_VAL    600

typedef struct {
    int exists, type; /* 0 string, 1 hash */
    char val[M_VAL];
    int64_t expire; /* -1 none */
    int has[M_FIELDS];
    char fval[M_FIELDS][M_VAL];
} mkey;

static mkey model[M_KEYS];

static int live(int k)
{
    return model[k].exists && (model[k].expire < 0 || model[k].expire > t_now_ms);
}

static void mdel(int k)
{
    memset(&model[k], 0, sizeof model[k]);
    model[k].expire = -1;
}

static int canonical_ll(const char *s, long long *v)
{
    char buf[32];
    if (strlen(s) == 0 || strlen(s) > 20) return 0;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (errno || *end) return 0;
    snprintf(buf, sizeof buf, "%lld", x);
    if (strcmp(buf, s) != 0) return 0;
    *v = x;
    return 1;
}

static void rand_value(char *out)
{
    switch (rn(6)) {
    case 0: sprintf(out, "%d", rn(200) - 50); break;
    case 1: sprintf(out, "%lld", 9223372036854775807ll - rn(3)); break;
    case 2: out[0] = '\0'; break;
    case 3: {
        int n = 65 + rn(10); /* long enough to convert a small hash */
        for (int i = 0; i < n; i++)
            out[i] = (char)('a' + rn(26));
        out[n] = '\0';
        break;
    }
    default: sprintf(out, "v%d", rn(1000)); break;
    }
}

static int nfields(int k)
{
    int n = 0;
    for (int f = 0; f < M_FIELDS; f++)
        n += model[k].has[f];
    return n;
}

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"

/* Runs one random command on ds and the model, checking the reply. */
static void model_step(data_store *ds, int step)
{
    char cmd[2048], want[2048], v[M_VAL];
    int k = rn(M_KEYS), k2 = rn(M_KEYS), f = rn(M_FIELDS);
    mkey *m = &model[k];
    int op = rn(17);
    want[0] = '\0';
    if (!live(k)) mdel(k);
    if (!live(k2)) mdel(k2);
    switch (op) {
    case 0: /* GET */
        sprintf(cmd, "GET k%d", k);
        if (!m->exists)
            sprintf(want, "(nil)");
        else if (m->type)
            sprintf(want, WRONGTYPE);
        else
            sprintf(want, "\"%s\"", m->val);
        break;
    case 1: { /* SET with options */
        rand_value(v);
        int cond = rn(3), get = rn(2), ex = rn(4);
        long t = 1 + rn(3000);
        sprintf(cmd, "SET k%d \"%s\"%s%s", k, v,
                cond == 1   ? " NX"
                : cond == 2 ? " XX"
                            : "",
                get ? " GET" : "");
        if (ex == 1) sprintf(cmd + strlen(cmd), " PX %ld", t);
        if (ex == 2) sprintf(cmd + strlen(cmd), " KEEPTTL");
        if (get && m->exists && m->type) {
            sprintf(want, WRONGTYPE);
            break;
        }
        int found = m->exists;
        if (get) {
            if (found)
                sprintf(want, "\"%s\"", m->val);
            else
                sprintf(want, "(nil)");
        }
        if ((cond == 1 && found) || (cond == 2 && !found)) {
            if (!get) sprintf(want, "(nil)");
            break;
        }
        int64_t keep = found && ex == 2 ? m->expire : -1;
        mdel(k);
        m->exists = 1;
        strcpy(m->val, v);
        m->expire = ex == 1 ? t_now_ms + t : keep;
        if (!get) sprintf(want, "+OK");
        break;
    }
    case 2: /* DEL k k2 */
        sprintf(cmd, "DEL k%d k%d", k, k2);
        sprintf(want, ":%d", m->exists + (k2 != k && model[k2].exists));
        mdel(k);
        mdel(k2);
        break;
    case 3: { /* INCRBY */
        long long by = rn(2) ? rn(10) - 5 : 9223372036854775807ll, cur = 0;
        sprintf(cmd, "INCRBY k%d %lld", k, by);
        if (m->exists && m->type) {
            sprintf(want, WRONGTYPE);
        } else if (m->exists && !canonical_ll(m->val, &cur)) {
            sprintf(want, "-ERR value is not an integer or out of range");
        } else if ((by > 0 && cur > 0 && by > INT64_MAX - cur)) {
            sprintf(want, "-ERR increment or decrement would overflow");
        } else {
            if (!m->exists) m->expire = -1;
            m->exists = 1;
            sprintf(m->val, "%lld", cur + by);
            sprintf(want, ":%lld", cur + by);
        }
        break;
    }
    case 4: /* APPEND */
        sprintf(v, "a%d", rn(10));
        sprintf(cmd, "APPEND k%d %s", k, v);
        if (m->exists && m->type) {
            sprintf(want, WRONGTYPE);
        } else {
            if (!m->exists) m->val[0] = '\0', m->expire = -1;
            m->exists = 1;
            if (strlen(m->val) + strlen(v) < M_VAL)
                strcat(m->val, v);
            else
                sprintf(cmd, "STRLEN k%d", k);
            sprintf(want, ":%zu", strlen(m->val));
        }
        break;
    case 5: { /* EXPIRE / PEXPIRE with flags */
        int ms = rn(2), fl = rn(5);
        long t = rn(40) - 5;
        const char *flags[] = {"", " NX", " XX", " GT", " LT"};
        sprintf(cmd, "%s k%d %ld%s", ms ? "PEXPIRE" : "EXPIRE", k, ms ? t * 100 : t, flags[fl]);
        int64_t when = t_now_ms + (ms ? t * 100 : t * 1000), cur = m->expire;
        if (!m->exists || (fl == 1 && cur != -1) || (fl == 2 && cur == -1) ||
            (fl == 3 && (cur == -1 || when <= cur)) || (fl == 4 && cur != -1 && when >= cur)) {
            sprintf(want, ":0");
        } else {
            sprintf(want, ":1");
            if (when <= t_now_ms)
                mdel(k);
            else
                m->expire = when;
        }
        break;
    }
    case 6: /* PERSIST */
        sprintf(cmd, "PERSIST k%d", k);
        sprintf(want, ":%d", m->exists && m->expire >= 0);
        m->expire = -1;
        break;
    case 7: /* PTTL */
        sprintf(cmd, "PTTL k%d", k);
        sprintf(want, ":%lld",
                !m->exists      ? -2ll
                : m->expire < 0 ? -1ll
                                : (long long)(m->expire - t_now_ms));
        break;
    case 8: /* HSET */
        rand_value(v);
        sprintf(cmd, "HSET k%d f%d \"%s\"", k, f, v);
        if (m->exists && !m->type) {
            sprintf(want, WRONGTYPE);
            break;
        }
        if (!m->exists) m->expire = -1;
        m->exists = 1;
        m->type = 1;
        sprintf(want, ":%d", !m->has[f]);
        m->has[f] = 1;
        strcpy(m->fval[f], v);
        break;
    case 9: /* HGET */
        sprintf(cmd, "HGET k%d f%d", k, f);
        if (m->exists && !m->type)
            sprintf(want, WRONGTYPE);
        else if (m->exists && m->has[f])
            sprintf(want, "\"%s\"", m->fval[f]);
        else
            sprintf(want, "(nil)");
        break;
    case 10: /* HDEL */
        sprintf(cmd, "HDEL k%d f%d f%d", k, f, (f + 1) % M_FIELDS);
        if (m->exists && !m->type) {
            sprintf(want, WRONGTYPE);
            break;
        }
        if (!m->exists) {
            sprintf(want, ":0");
            break;
        }
        sprintf(want, ":%d", m->has[f] + m->has[(f + 1) % M_FIELDS]);
        m->has[f] = m->has[(f + 1) % M_FIELDS] = 0;
        if (nfields(k) == 0) mdel(k);
        break;
    case 11: /* HGETALL (unordered) */
        sprintf(cmd, "?HGETALL k%d", k);
        if (m->exists && !m->type) {
            sprintf(want, WRONGTYPE);
            break;
        }
        sprintf(want, "%%%d", m->exists ? nfields(k) : 0);
        for (int i = 0; m->exists && i < M_FIELDS; i++)
            if (m->has[i]) sprintf(want + strlen(want), " \"f%d\" \"%s\"", i, m->fval[i]);
        break;
    case 12: { /* HINCRBY */
        long long cur = 0;
        int by = rn(10) - 5;
        sprintf(cmd, "HINCRBY k%d f%d %d", k, f, by);
        if (m->exists && !m->type)
            sprintf(want, WRONGTYPE);
        else if (m->exists && m->has[f] && !canonical_ll(m->fval[f], &cur))
            sprintf(want, "-ERR hash value is not an integer");
        else if (by > 0 && cur > 0 && by > INT64_MAX - cur)
            sprintf(want, "-ERR increment or decrement would overflow");
        else {
            if (!m->exists) m->expire = -1;
            m->exists = 1;
            m->type = 1;
            m->has[f] = 1;
            sprintf(m->fval[f], "%lld", cur + by);
            sprintf(want, ":%lld", cur + by);
        }
        break;
    }
    case 13: /* RENAME */
        sprintf(cmd, "RENAME k%d k%d", k, k2);
        if (!m->exists) {
            sprintf(want, "-ERR no such key");
        } else {
            sprintf(want, "+OK");
            if (k != k2) {
                model[k2] = *m;
                mdel(k);
            }
        }
        break;
    case 14: /* GETDEL */
        sprintf(cmd, "GETDEL k%d", k);
        if (!m->exists)
            sprintf(want, "(nil)");
        else if (m->type)
            sprintf(want, WRONGTYPE);
        else {
            sprintf(want, "\"%s\"", m->val);
            mdel(k);
        }
        break;
    case 15: /* TYPE */
        sprintf(cmd, "TYPE k%d", k);
        sprintf(want, "+%s", !m->exists ? "none" : m->type ? "hash" : "string");
        break;
    default: /* the clock moves */ t_now_ms += rn(1200); return;
    }
    int unordered = cmd[0] == '?';
    static char got[REC_MAX];
    snprintf(got, sizeof got, "%s", rec_run(ds, cmd + unordered, NULL));
    if (unordered) {
        rec_sort_tokens(got);
        rec_sort_tokens(want);
    }
    if (strcmp(got, want) != 0)
        fail_msg("step %d: %s\n   got: %s\n  want: %s", step, cmd + unordered, got, want);
}

static void check_keys(data_store *ds, int step)
{
    static char got[REC_MAX];
    char want[1024];
    int n = 0;
    want[0] = '\0';
    for (int k = 0; k < M_KEYS; k++)
        if (live(k)) n++, sprintf(want + strlen(want), " \"k%d\"", k);
    char tmp[1100];
    sprintf(tmp, "*%d%s", n, want);
    snprintf(got, sizeof got, "%s", rec_run(ds, "KEYS *", NULL));
    rec_sort_tokens(got);
    rec_sort_tokens(tmp);
    if (strcmp(got, tmp) != 0) fail_msg("step %d: KEYS *\n   got: %s\n  want: %s", step, got, tmp);
}

typedef struct {
    unsigned char *p;
    size_t len, cap;
} sbuf;

static int sbuf_write(void *ctx, const void *buf, size_t len)
{
    sbuf *b = ctx;
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, buf, len);
    b->len += len;
    return 0;
}

static void del_cb(void *ctx, const char *key, size_t len)
{
    data_arg argv[2] = {{"DEL", 3}, {key, len}};
    (void)rec_exec_argv(ctx, 2, argv, NULL);
}

static void keyspace_matches_model(void **state)
{
    (void)state;
    seed_for("keyspace_matches_model");
    t_now_ms = 1700000000000ll;
    for (int k = 0; k < M_KEYS; k++)
        mdel(k);
    data_store *ds = data_create();
    int steps = getenv("DATA_STEPS") ? atoi(getenv("DATA_STEPS")) : 40000;
    for (int i = 0; i < steps; i++) {
        model_step(ds, i);
        if (i % 50 == 0) check_keys(ds, i);
        if (i % 97 == 0) (void)data_expire_sample(ds, t_now_ms, 5, del_cb, ds);
        if (i % 1000 == 999) { /* continue on a store loaded from a snapshot */
            sbuf s = {0};
            assert_int_equal(data_snapshot_save(ds, sbuf_write, &s), 0);
            data_store *n = data_create();
            assert_int_equal(data_snapshot_load(n, s.p, s.len), 0);
            free(s.p);
            data_destroy(ds);
            ds = n;
        }
    }
    data_destroy(ds);
}

/* ---- SCAN guarantees ---- */

typedef struct {
    char seen[20000];
} seen_set;

/* Parses a SCAN/HSCAN reply: returns the cursor, marks "sN"/"fN" names as seen. */
static uint64_t parse_scan(const char *reply, seen_set *seen, int pairs)
{
    char *r = strdup(reply), *sp;
    char *t = strtok_r(r, " ", &sp);
    assert_string_equal(t, "*2");
    t = strtok_r(NULL, " ", &sp);
    uint64_t cursor = strtoull(t + 1, NULL, 10);
    t = strtok_r(NULL, " ", &sp); /* *n */
    int i = 0;
    while ((t = strtok_r(NULL, " ", &sp))) {
        if ((!pairs || i % 2 == 0) && t[1] == 's') seen->seen[atoi(t + 2)] = 1;
        i++;
    }
    free(r);
    return cursor;
}

/* Returns the first stable key not seen, or -1. */
static int first_missing(const seen_set *s, int stable)
{
    for (int i = 0; i < stable; i++)
        if (!s->seen[i]) return i;
    return -1;
}

static void scan_checker_catches_a_miss(void **state)
{
    (void)state;
    seen_set s = {0};
    for (int i = 0; i < 10; i++)
        s.seen[i] = 1;
    assert_int_equal(first_missing(&s, 10), -1);
    s.seen[7] = 0; /* a scan that skipped one key must be caught */
    assert_int_equal(first_missing(&s, 10), 7);
}

static void scan_survives_resizes(void **state)
{
    (void)state;
    seed_for("scan_survives_resizes");
    int rounds = getenv("DATA_ROUNDS") ? atoi(getenv("DATA_ROUNDS")) : 30;
    for (int round = 0; round < rounds; round++) {
        int hash = round % 2; /* alternate SCAN over the keyspace and HSCAN over a big hash */
        data_store *ds = data_create();
        char line[128];
        int stable = 20 + rn(200), next = 0, live_t = 0;
        for (int i = 0; i < stable; i++) {
            if (hash)
                snprintf(line, sizeof line, "HSET h s%d v", i);
            else
                snprintf(line, sizeof line, "SET s%d v", i);
            (void)rec_run(ds, line, NULL);
        }
        seen_set seen = {0};
        uint64_t cursor = 0;
        int calls = 0;
        do {
            snprintf(line, sizeof line, "%s %llu COUNT %d", hash ? "HSCAN h" : "SCAN",
                     (unsigned long long)cursor, 1 + rn(20));
            cursor = parse_scan(rec_run(ds, line, NULL), &seen, hash);
            /* grow or shrink the table between calls with transient keys */
            int burst = rn(3) == 0 ? rn(3000) : rn(50);
            int grow = rn(2);
            for (int j = 0; j < burst; j++) {
                if (grow || live_t == 0) {
                    snprintf(line, sizeof line, hash ? "HSET h t%d v" : "SET t%d v", next++);
                    live_t++;
                } else {
                    snprintf(line, sizeof line, hash ? "HDEL h t%d" : "DEL t%d", next - live_t--);
                }
                (void)rec_run(ds, line, NULL);
            }
            calls++;
        } while (cursor != 0 && calls < 100000);
        assert_true(cursor == 0);
        int miss = first_missing(&seen, stable);
        if (miss >= 0)
            fail_msg("round %d: %s missed stable key s%d (%d calls)", round,
                     hash ? "HSCAN" : "SCAN", miss, calls);
        data_destroy(ds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_checker_catches_a_miss),
        cmocka_unit_test(scan_survives_resizes),
        cmocka_unit_test(keyspace_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
