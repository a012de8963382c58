/* test_data_list.c — lists, checked against trivially correct models with a printed, replayable
 * seed (DATA_SEED=n):
 * - the quicklist encoding (quicklist.c) against an array of strings: pushes, inserts,
 *   replacements, deletions while walking both ways, range deletions, under node limits from one
 *   element per node to 64 KB nodes, with elements from empty to larger than a node, and every
 *   invariant (ql_check) after every operation;
 * - the commands (LPUSH RPUSH LINSERT LREM LTRIM LPOS LMOVE LSET LINDEX LPOP RPOP LMPOP) through
 *   data_exec against arrays, reply by reply, with snapshot round trips along the way;
 * - golden replies of redis-server 7.0 for edge cases, and data_list_ready. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "data/data_internal.h"
#include "data/quicklist.h"
#include "test_data_helpers.h"
#include "test_data_recorder.h"

/* ---- the model: an array of owned strings ---- */

typedef struct {
    char *p;
    size_t n;
} melem;

typedef struct {
    melem *v;
    size_t n, cap;
} mlist;

static void m_insert(mlist *m, size_t at, const char *p, size_t n)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->v = realloc(m->v, m->cap * sizeof *m->v);
    }
    memmove(m->v + at + 1, m->v + at, (m->n - at) * sizeof *m->v);
    m->v[at].p = malloc(n ? n : 1);
    memcpy(m->v[at].p, p, n);
    m->v[at].n = n;
    m->n++;
}

static void m_delete(mlist *m, size_t at)
{
    free(m->v[at].p);
    memmove(m->v + at, m->v + at + 1, (m->n - at - 1) * sizeof *m->v);
    m->n--;
}

static void m_clear(mlist *m)
{
    while (m->n)
        m_delete(m, m->n - 1);
    free(m->v);
    memset(m, 0, sizeof *m);
}

static int m_eq(const melem *e, const char *p, size_t n)
{
    return e->n == n && memcmp(e->p, p, n) == 0;
}

/* Values: few distinct short ones (so LREM and LPOS find repeats), sometimes long ones that
 * need multi-byte length headers, rarely one larger than any node. */
static size_t rand_value(char *buf)
{
    int k = rn(100);
    if (k < 70) return (size_t)sprintf(buf, "v%d", rn(6));
    if (k < 75) return 0;
    size_t n = k < 97 ? (size_t)(100 + rn(400)) : (size_t)(9000 + rn(70000));
    char c = (char)('a' + rn(4));
    memset(buf, c, n);
    return n;
}

static void check_same(const qlist *q, const mlist *m, int step)
{
    int rc = ql_check(q);
    if (rc != 0) fail_msg("step %d: ql_check = %d", step, rc);
    assert_int_equal(ql_len(q), m->n);
    ql_iter it;
    size_t i = 0;
    for (int more = ql_at(q, 0, &it); more; more = ql_next(&it), i++) {
        const char *p;
        size_t n;
        ql_get(&it, &p, &n);
        if (i >= m->n || !m_eq(&m->v[i], p, n))
            fail_msg("step %d: element %zu differs going forward", step, i);
    }
    assert_int_equal(i, m->n);
    for (int more = ql_at(q, -1, &it); more; more = ql_prev(&it)) {
        const char *p;
        size_t n;
        ql_get(&it, &p, &n);
        i--;
        if (!m_eq(&m->v[i], p, n)) fail_msg("step %d: element %zu differs going back", step, i);
    }
    assert_int_equal(i, 0);
}

static void expect_at(const ql_iter *it, const mlist *m, size_t i, int step)
{
    const char *p;
    size_t n;
    ql_get(it, &p, &n);
    if (i >= m->n || !m_eq(&m->v[i], p, n))
        fail_msg("step %d: the iterator is not on element %zu", step, i);
}

static void run_quicklist_model(int fill, int steps)
{
    size_t mem = 0;
    qlist *q = ql_create(&mem, fill);
    mlist m = {0};
    static char buf[80000];
    uint64_t max_nodes = 0;
    size_t max_len = 0;
    for (int step = 0; step < steps; step++) {
        int op = rn(20);
        size_t n = rand_value(buf);
        /* phases of growth (deletions rarer) and of churn, so lists span many nodes */
        if ((step / 500) % 2 == 0 && op >= 9 && op < 16 && rn(6)) op = rn(9);
        if (m.n == 0 && op >= 2) op = rn(2); /* an empty list only grows */
        if (op < 2) {                        /* push */
            ql_push(q, op, buf, n);
            m_insert(&m, op ? m.n : 0, buf, n);
        } else if (op < 6) { /* insert before/after a random element */
            size_t i = (size_t)rn((int)m.n);
            int after = op & 1;
            ql_iter it;
            assert_true(ql_at(q, (long long)i, &it));
            ql_insert(q, &it, after, buf, n);
            m_insert(&m, i + (size_t)after, buf, n);
        } else if (op < 9) { /* replace */
            size_t i = (size_t)rn((int)m.n);
            ql_iter it;
            assert_true(ql_at(q, (long long)i - (long long)(rn(2) ? m.n : 0), &it));
            ql_replace(q, &it, buf, n);
            m_delete(&m, i);
            m_insert(&m, i, buf, n);
        } else if (op < 12) { /* delete one, check where the iterator lands */
            size_t i = (size_t)rn((int)m.n);
            int forward = rn(2);
            ql_iter it;
            assert_true(ql_at(q, (long long)i, &it));
            int more = ql_delete(q, &it, forward);
            m_delete(&m, i);
            if (forward) {
                assert_int_equal(more, i < m.n);
                if (more) expect_at(&it, &m, i, step);
            } else {
                assert_int_equal(more, i > 0);
                if (more) expect_at(&it, &m, i - 1, step);
            }
        } else if (op < 14) { /* LREM-style walk: delete every "vK" from one end */
            char want[8];
            size_t wl = (size_t)sprintf(want, "v%d", rn(6));
            int forward = rn(2);
            ql_iter it;
            int more = ql_at(q, forward ? 0 : -1, &it);
            while (more) {
                const char *p;
                size_t pl;
                ql_get(&it, &p, &pl);
                if (pl == wl && memcmp(p, want, wl) == 0)
                    more = ql_delete(q, &it, forward);
                else
                    more = forward ? ql_next(&it) : ql_prev(&it);
            }
            for (size_t i = m.n; i-- > 0;)
                if (m_eq(&m.v[i], want, wl)) m_delete(&m, i);
        } else if (op < 16) { /* delete a range: from an end (LTRIM, counted pops) or inside */
            size_t small = m.n < 5 ? m.n : 5; /* mostly a few, so the list keeps growing */
            size_t cnt = (size_t)rn(rn(20) ? (int)small + 1 : (int)m.n + 1);
            int where = rn(3);
            size_t start = where == 0   ? 0
                           : where == 1 ? m.n - cnt
                                        : (size_t)rn((int)(m.n - cnt) + 1);
            ql_del_range(q, start, cnt);
            for (size_t k = 0; k < cnt; k++)
                m_delete(&m, start);
        } else { /* random index reads, positive and negative */
            long long idx = (long long)rn((int)m.n * 2 + 4) - (long long)m.n - 2;
            ql_iter it;
            long long norm = idx < 0 ? idx + (long long)m.n : idx;
            int ok = ql_at(q, idx, &it);
            assert_int_equal(ok, norm >= 0 && norm < (long long)m.n);
            if (ok) expect_at(&it, &m, (size_t)norm, step);
        }
        int rc = ql_check(q);
        if (rc != 0) fail_msg("fill %d step %d op %d: ql_check = %d", fill, step, op, rc);
        if (ql_nodes(q) > max_nodes) max_nodes = ql_nodes(q);
        if (m.n > max_len) max_len = m.n;
        if (step % 50 == 0 || m.n < 20) check_same(q, &m, step);
    }
    check_same(q, &m, steps);
    printf("  fill %d: up to %zu elements in %llu nodes\n", fill, max_len,
           (unsigned long long)max_nodes);
    ql_free(q);
    m_clear(&m);
    assert_int_equal(mem, 0); /* every byte charged was given back */
}

static void quicklist_vs_model(void **state)
{
    (void)state;
    seed_for("quicklist_vs_model");
    const int fills[] = {-2, -1, -5, 1, 3, 16};
    for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++)
        run_quicklist_model(fills[f], 3000);
}

/* A large list: elements stay in bounded nodes (memory per element stays small) and an insert
 * in the middle touches one node, not the list. */
static void quicklist_large(void **state)
{
    (void)state;
    size_t mem = 0;
    qlist *q = ql_create(&mem, -2);
    char v[32];
    for (int i = 0; i < 200000; i++)
        ql_push(q, 1, v, (size_t)sprintf(v, "%d", i));
    assert_int_equal(ql_check(q), 0);
    /* 8 KB nodes of ~8-byte entries: node and buffer overheads are well under a byte per
     * element; the total stays below 12 bytes per element (Redis 7.0's quicklist: ~11) */
    assert_true(mem < (size_t)200000 * 12);
    assert_true(ql_nodes(q) > 100);
    ql_iter it;
    assert_true(ql_at(q, 100000, &it));
    ql_insert(q, &it, 0, "mid", 3);
    assert_true(ql_at(q, 100000, &it));
    const char *p;
    size_t n;
    ql_get(&it, &p, &n);
    assert_int_equal(n, 3);
    assert_memory_equal(p, "mid", 3);
    assert_true(ql_at(q, -1, &it));
    ql_get(&it, &p, &n);
    assert_memory_equal(p, "199999", 6);
    assert_int_equal(ql_check(q), 0);
    ql_free(q);
    assert_int_equal(mem, 0);
}

/* ---- commands against the model ---- */

#define C_KEYS 3

static mlist cm[C_KEYS];

static void want_bulk(char *w, const melem *e)
{
    char tmp[64];
    /* values are printable without quotes or backslashes */
    snprintf(tmp, sizeof tmp, "\"%.*s\"", (int)e->n, e->p);
    strcat(w, w[0] ? " " : "");
    strcat(w, tmp);
}

static void want_fmt(char *w, const char *fmt, long long v)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, fmt, v);
    strcat(w, w[0] ? " " : "");
    strcat(w, tmp);
}

static const char *cvals[] = {"a", "b", "c", "d", "e1234567890", "f"};

static void cmd_step(data_store *ds, int step)
{
    char cmd[512], want[8192] = "";
    int k = rn(C_KEYS), k2 = rn(C_KEYS);
    mlist *m = &cm[k];
    const char *v = cvals[rn(6)], *v2 = cvals[rn(6)];
    size_t vl = strlen(v);
    int op = rn(12);
    switch (op) {
    case 0:
    case 1: { /* LPUSH/RPUSH of 1-3 elements */
        int cnt = 1 + rn(3);
        sprintf(cmd, "%s l%d", op ? "RPUSH" : "LPUSH", k);
        for (int i = 0; i < cnt; i++) {
            const char *x = cvals[rn(6)];
            strcat(cmd, " ");
            strcat(cmd, x);
            m_insert(m, op ? m->n : 0, x, strlen(x));
        }
        want_fmt(want, ":%lld", (long long)m->n);
        break;
    }
    case 2: { /* LINSERT */
        int after = rn(2);
        sprintf(cmd, "LINSERT l%d %s %s %s", k, after ? "AFTER" : "BEFORE", v, v2);
        if (m->n == 0) {
            strcpy(want, ":0");
            break;
        }
        size_t i;
        for (i = 0; i < m->n && !m_eq(&m->v[i], v, vl); i++)
            ;
        if (i == m->n) {
            strcpy(want, ":-1");
            break;
        }
        m_insert(m, i + (size_t)after, v2, strlen(v2));
        want_fmt(want, ":%lld", (long long)m->n);
        break;
    }
    case 3: { /* LREM */
        int cnt = rn(7) - 3;
        sprintf(cmd, "LREM l%d %d %s", k, cnt, v);
        long long removed = 0;
        if (cnt >= 0) {
            for (size_t i = 0; i < m->n && (cnt == 0 || removed < cnt);) {
                if (m_eq(&m->v[i], v, vl)) {
                    m_delete(m, i);
                    removed++;
                } else {
                    i++;
                }
            }
        } else {
            for (size_t i = m->n; i-- > 0 && removed < -cnt;) {
                if (m_eq(&m->v[i], v, vl)) {
                    m_delete(m, i);
                    removed++;
                }
            }
        }
        want_fmt(want, ":%lld", removed);
        break;
    }
    case 4: { /* LTRIM */
        long long s = rn(12) - 6, e = rn(12) - 6, len = (long long)m->n;
        sprintf(cmd, "LTRIM l%d %lld %lld", k, s, e);
        if (s < 0) s += len;
        if (e < 0) e += len;
        if (s < 0) s = 0;
        if (e >= len) e = len - 1;
        if (s > e || s >= len) {
            while (m->n)
                m_delete(m, 0);
        } else {
            while ((long long)m->n > e + 1)
                m_delete(m, m->n - 1);
            for (long long i = 0; i < s; i++)
                m_delete(m, 0);
        }
        strcpy(want, "+OK");
        break;
    }
    case 5: { /* LPOS with RANK/COUNT/MAXLEN */
        long long rank = rn(2) ? 1 : (rn(2) ? 1 : -1) * (1 + rn(3));
        int count = rn(3) - 1, maxlen = rn(2) ? 0 : rn(8);
        sprintf(cmd, "LPOS l%d %s RANK %lld MAXLEN %d", k, v, rank, maxlen);
        if (count >= 0) sprintf(cmd + strlen(cmd), " COUNT %d", count);
        long long hits[64], nh = 0, seen = 0;
        long long len = (long long)m->n;
        for (long long j = 0; j < len && (maxlen == 0 || j < maxlen); j++) {
            long long i = rank > 0 ? j : len - 1 - j;
            if (!m_eq(&m->v[i], v, vl) || ++seen < (rank > 0 ? rank : -rank)) continue;
            hits[nh++] = i;
            if (count == -1 || (count > 0 && nh == count)) break;
        }
        if (count >= 0) {
            want_fmt(want, "*%lld", nh);
            for (long long i = 0; i < nh; i++)
                want_fmt(want, ":%lld", hits[i]);
        } else {
            strcpy(want, nh ? "" : "(nil)");
            if (nh) want_fmt(want, ":%lld", hits[0]);
        }
        break;
    }
    case 6: { /* LMOVE (k2 may be k) */
        int from = rn(2), to = rn(2);
        sprintf(cmd, "LMOVE l%d l%d %s %s", k, k2, from ? "RIGHT" : "LEFT", to ? "RIGHT" : "LEFT");
        if (m->n == 0) {
            strcpy(want, "(nil)");
            break;
        }
        size_t i = from ? m->n - 1 : 0;
        melem e = {malloc(m->v[i].n + 1), m->v[i].n};
        memcpy(e.p, m->v[i].p, e.n);
        m_delete(m, i);
        m_insert(&cm[k2], to ? cm[k2].n : 0, e.p, e.n);
        want_bulk(want, &e);
        free(e.p);
        break;
    }
    case 7: { /* LSET */
        long long idx = rn(10) - 5;
        sprintf(cmd, "LSET l%d %lld %s", k, idx, v);
        long long norm = idx < 0 ? idx + (long long)m->n : idx;
        if (m->n == 0)
            strcpy(want, "-ERR no such key");
        else if (norm < 0 || norm >= (long long)m->n)
            strcpy(want, "-ERR index out of range");
        else {
            m_delete(m, (size_t)norm);
            m_insert(m, (size_t)norm, v, vl);
            strcpy(want, "+OK");
        }
        break;
    }
    case 8: { /* LINDEX */
        long long idx = rn(10) - 5;
        sprintf(cmd, "LINDEX l%d %lld", k, idx);
        long long norm = idx < 0 ? idx + (long long)m->n : idx;
        if (norm < 0 || norm >= (long long)m->n)
            strcpy(want, "(nil)");
        else
            want_bulk(want, &m->v[norm]);
        break;
    }
    case 9:
    case 10: { /* LPOP/RPOP with and without a count */
        int tail = op == 10, cnt = rn(3) ? -1 : rn(4);
        sprintf(cmd, "%s l%d", tail ? "RPOP" : "LPOP", k);
        if (cnt >= 0) sprintf(cmd + strlen(cmd), " %d", cnt);
        if (m->n == 0) {
            strcpy(want, cnt >= 0 ? "(nil-array)" : "(nil)");
            break;
        }
        if (cnt == 0) {
            strcpy(want, "*0");
            break;
        }
        size_t take = cnt < 0 ? 1 : (size_t)cnt < m->n ? (size_t)cnt : m->n;
        if (cnt >= 0) want_fmt(want, "*%lld", (long long)take);
        for (size_t i = 0; i < take; i++) {
            size_t at = tail ? m->n - 1 : 0;
            want_bulk(want, &m->v[at]);
            m_delete(m, at);
        }
        break;
    }
    default: { /* LMPOP over two keys */
        int tail = rn(2), cnt = 1 + rn(3);
        sprintf(cmd, "LMPOP 2 l%d l%d %s COUNT %d", k, k2, tail ? "RIGHT" : "LEFT", cnt);
        mlist *src = cm[k].n ? &cm[k] : cm[k2].n ? &cm[k2] : NULL;
        if (!src) {
            strcpy(want, "(nil-array)");
            break;
        }
        want_fmt(want, "*2 \"l%lld\"", src == &cm[k] ? k : k2);
        size_t take = (size_t)cnt < src->n ? (size_t)cnt : src->n;
        want_fmt(want, "*%lld", (long long)take);
        for (size_t i = 0; i < take; i++) {
            size_t at = tail ? src->n - 1 : 0;
            want_bulk(want, &src->v[at]);
            m_delete(src, at);
        }
        break;
    }
    }
    const char *got = rec_run(ds, cmd, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("step %d: %s\n   got: %s\n  want: %s", step, cmd, got, want);
}

static void check_keys(data_store *ds, int step)
{
    for (int k = 0; k < C_KEYS; k++) {
        char cmd[64], want[8192] = "";
        sprintf(cmd, "LRANGE l%d 0 -1", k);
        want_fmt(want, "*%lld", (long long)cm[k].n);
        for (size_t i = 0; i < cm[k].n; i++)
            want_bulk(want, &cm[k].v[i]);
        const char *got = rec_run(ds, cmd, NULL);
        if (strcmp(got, want) != 0)
            fail_msg("step %d: %s\n   got: %s\n  want: %s", step, cmd, got, want);
        sprintf(cmd, "EXISTS l%d", k);
        assert_reply(ds, cmd, cm[k].n ? ":1" : ":0"); /* an emptied list is deleted */
    }
}

static void commands_vs_model(void **state)
{
    (void)state;
    seed_for("commands_vs_model");
    data_store *ds = data_create();
    data_set_list_max_listpack_size(ds, 2 + rn(3)); /* tiny nodes: every command crosses them */
    for (int step = 0; step < 20000; step++) {
        cmd_step(ds, step);
        if (step % 100 == 0) check_keys(ds, step);
        if (step % 2000 == 1999) { /* the lists survive a snapshot round trip */
            sbuf s = snap(ds);
            assert_int_equal(data_snapshot_load(ds, s.p, s.len), 0);
            free(s.p);
            check_keys(ds, step);
        }
    }
    check_keys(ds, 20000);
    for (int k = 0; k < C_KEYS; k++)
        m_clear(&cm[k]);
    data_destroy(ds); /* asserts the byte counter is back to 0 */
}

/* ---- golden replies and the blocking layer's question ---- */

static const rec_step list_script[] = {
    {"RPUSH l a b c", ":3"},
    {"TYPE l", "+list"},
    {"LPOP l 0", "*0"},
    {"LPOP nosuch 2", "(nil-array)"},
    {"LPOP l -1", "-ERR value is out of range, must be positive"},
    {"LPOP l x", "-ERR value is out of range, must be positive"},
    {"LPOP l 1 2", "-ERR wrong number of arguments for 'lpop' command"},
    {"RPOP l 5", "*3 \"c\" \"b\" \"a\""},
    {"EXISTS l", ":0"},
    {"LINSERT l middle a b", "-ERR syntax error"},
    {"LSET nosuch 0 x", "-ERR no such key"},
    {"LINDEX nosuch x", "(nil)"},
    {"LPOS l a RANK 0",
     "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use "
     "negative to start from the end of the list"},
    {"LPOS l a COUNT -1", "-ERR COUNT can't be negative"},
    {"LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative"},
    {"LMPOP 0 l LEFT", "-ERR numkeys should be greater than 0"},
    {"LMPOP 1 l LEFT COUNT 0", "-ERR count should be greater than 0"},
    {"LMPOP 2 l LEFT", "-ERR syntax error"},
    {"LMOVE a b UP LEFT", "-ERR syntax error"},
    {"SET s v", "+OK"},
    {"LPUSH s a", "-WRONGTYPE Operation against a key holding the wrong kind of value"},
    {"RPUSH q x", ":1"},
    {"LMOVE q s LEFT LEFT", "-WRONGTYPE Operation against a key holding the wrong kind of value"},
    {"LRANGE q 0 -1", "*1 \"x\""},
    {"RENAME q r", "+OK"},
    {"LRANGE r 0 -1", "*1 \"x\""},
    {"SCAN 0 TYPE list", "*2 \"0\" *1 \"r\""},
    {NULL, NULL},
};

static void golden(void **state)
{
    (void)state;
    data_store *ds = data_create();
    for (const rec_step *s = list_script; s->cmd; s++)
        assert_reply(ds, s->cmd, s->want);
    data_destroy(ds);
}

/* Blocking pops as data_exec runs them (replicas, MULTI): the non-blocking form, and Redis 7.0's
 * errors (checked against redis-server 7.0.15). */
static const rec_step block_script[] = {
    {"BLPOP e 0", "(nil-array)"},
    {"BRPOP e f 1.5", "(nil-array)"},
    {"BLMOVE e f LEFT RIGHT 0", "(nil)"},
    {"BRPOPLPUSH e f 0", "(nil)"},
    {"BLMPOP 0 2 e f LEFT", "(nil-array)"},
    {"BZPOPMIN e 0", "(nil-array)"},
    {"BZMPOP 0 1 e MAX COUNT 2", "(nil-array)"},
    {"BLPOP a -1", "-ERR timeout is negative"},
    {"BLPOP a abc", "-ERR timeout is not a float or out of range"},
    {"BLPOP a nan", "-ERR timeout is not a float or out of range"},
    {"BLPOP a 1e16", "-ERR timeout is negative"},
    {"BLMPOP x 0 a LEFT", "-ERR numkeys should be greater than 0"},
    {"BLMPOP x 1 a LEFT", "-ERR timeout is not a float or out of range"},
    {"BLMPOP -1 1 a UP", "-ERR syntax error"},
    {"BLMPOP 0 5 a LEFT", "-ERR syntax error"},
    {"BLMPOP 0 1 a LEFT COUNT 0", "-ERR count should be greater than 0"},
    {"BZMPOP -1 1 a MIN", "-ERR timeout is negative"},
    {"BLMOVE a b UP LEFT -1", "-ERR syntax error"},
    {"BLMOVE a b LEFT LEFT -1", "-ERR timeout is negative"},
    {"RPUSH l a b c", ":3"},
    {"BLPOP e l 0", "*2 \"l\" \"a\""},
    {"BRPOP l 0", "*2 \"l\" \"c\""},
    {"BLMOVE l m RIGHT LEFT 0", "\"b\""},
    {"EXISTS l", ":0"},
    {"BLMPOP 0 2 e m RIGHT COUNT 5", "*2 \"m\" *1 \"b\""},
    {"ZADD z 2 b 1 a 3 c", ":3"},
    {"BZPOPMIN e z 0", "*3 \"z\" \"a\" ,1"},
    {"BZPOPMAX z 0", "*3 \"z\" \"c\" ,3"},
    {"BZMPOP 0 1 z MIN COUNT 3", "*2 \"z\" *1 *2 \"b\" ,2"},
    {"SET s v", "+OK"},
    {"BLPOP e s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"},
    {"BZPOPMIN s 0", "-WRONGTYPE Operation against a key holding the wrong kind of value"},
    {NULL, NULL},
};

static int created_n;
static char created_last[32];
static void on_created(void *ctx, const char *key, size_t len)
{
    (void)ctx;
    created_n++;
    snprintf(created_last, sizeof(created_last), "%.*s", (int)len, key);
}

static void blocking(void **state)
{
    (void)state;
    data_store *ds = data_create();
    for (const rec_step *s = block_script; s->cmd; s++)
        assert_reply(ds, s->cmd, s->want);

    /* data_exec_block: nothing to pop = no reply, nothing changed, what to wait for */
    data_arg argv[4] = {{"BLPOP", 5}, {"k1", 2}, {"k2", 2}, {"2.5", 3}};
    data_block blk;
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    int dirty =
        data_exec_block(ds, data_cmd_lookup("blpop", 5), 4, argv, t_now_ms, &rec_ops, &t_rec, &blk);
    assert_int_equal(dirty, 0);
    assert_string_equal(t_rec.buf, "");
    assert_int_equal(blk.blocked, 1);
    assert_int_equal(blk.first_key, 1);
    assert_int_equal(blk.n_keys, 2);
    assert_int_equal(blk.type, DATA_BLOCK_LIST);
    assert_int_equal(blk.timeout_ms, 2500);
    data_reply_timeout(&blk, &rec_ops, &t_rec);
    assert_string_equal(t_rec.buf, "(nil-array)");
    data_arg mv[6] = {{"BLMOVE", 6}, {"k1", 2}, {"d", 1}, {"LEFT", 4}, {"LEFT", 4}, {"0", 1}};
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    (void)data_exec_block(ds, data_cmd_lookup("blmove", 6), 6, mv, t_now_ms, &rec_ops, &t_rec,
                          &blk);
    assert_int_equal(blk.blocked, 1);
    assert_int_equal(blk.n_keys, 1);
    assert_int_equal(blk.timeout_ms, 0);
    /* Redis 7.0.15 times BLMOVE out with a null array too (a null bulk only where it may not
     * block: MULTI, a replica) */
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    data_reply_timeout(&blk, &rec_ops, &t_rec);
    assert_string_equal(t_rec.buf, "(nil-array)");

    /* the created hook: list / zset keys created, never an existing key pushed to */
    data_set_key_created_hook(ds, on_created, NULL);
    assert_reply(ds, "RPUSH k2 x", ":1");
    assert_int_equal(created_n, 1);
    assert_string_equal(created_last, "k2");
    assert_reply(ds, "RPUSH k2 y", ":2");
    assert_reply(ds, "SET str v", "+OK");
    assert_reply(ds, "HSET h f v", ":1");
    assert_int_equal(created_n, 1);
    assert_reply(ds, "ZADD zz 1 a", ":1");
    assert_reply(ds, "LMOVE k2 k3 LEFT LEFT", "\"x\"");
    assert_int_equal(created_n, 3);
    assert_string_equal(created_last, "k3");
    assert_int_equal(data_block_available(ds, DATA_BLOCK_LIST, "k2", 2, t_now_ms), 1);
    assert_int_equal(data_block_available(ds, DATA_BLOCK_ZSET, "k2", 2, t_now_ms), 0);
    assert_int_equal(data_block_available(ds, DATA_BLOCK_ZSET, "zz", 2, t_now_ms), 1);
    assert_int_equal(data_block_available(ds, DATA_BLOCK_LIST, "str", 3, t_now_ms), 0);

    /* with a key ready the call runs as data_exec would, and does not block */
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    dirty =
        data_exec_block(ds, data_cmd_lookup("blpop", 5), 4, argv, t_now_ms, &rec_ops, &t_rec, &blk);
    assert_int_equal(dirty, 1);
    assert_int_equal(blk.blocked, 0);
    assert_string_equal(t_rec.buf, "*2 \"k2\" \"y\"");
    data_destroy(ds);
}

static void list_ready(void **state)
{
    (void)state;
    data_store *ds = data_create();
    assert_int_equal(data_list_ready(ds, "l", 1, t_now_ms), 0);
    assert_reply(ds, "RPUSH l a", ":1");
    assert_int_equal(data_list_ready(ds, "l", 1, t_now_ms), 1);
    assert_reply(ds, "SET s v", "+OK");
    assert_int_equal(data_list_ready(ds, "s", 1, t_now_ms), -1);
    assert_reply(ds, "PEXPIRE l 100", ":1");
    assert_int_equal(data_list_ready(ds, "l", 1, t_now_ms + 100), 0); /* expired: absent */
    assert_reply(ds, "LPOP l", "\"a\"");
    assert_int_equal(data_list_ready(ds, "l", 1, t_now_ms), 0); /* popped empty: deleted */
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quicklist_vs_model), cmocka_unit_test(quicklist_large),
        cmocka_unit_test(commands_vs_model),  cmocka_unit_test(golden),
        cmocka_unit_test(list_ready),         cmocka_unit_test(blocking),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
