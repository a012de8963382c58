/* test_data_coord.c — the coordination state machine (coord.c), seeded and printed (DATA_SEED=n
 * replays):
 * - leases: GRANT / KEEPALIVE / TTL / REVOKE / ATTACH / LIST, untagged GRANT refused (scripts),
 *   expiry only when the deadline has passed at the entry's time, a lease's end deleting its
 *   keys, releasing its locks and resigning its elections;
 * - clocks: a new leader's epoch keeps each lease's remaining time whatever its clock's offset
 *   (ahead or behind), and data_coord_due refuses to decide before the rebase;
 * - locks and elections: grants, FIFO-free re-grants, LOCK CHECK, OWNER, PROCLAIM, RESIGN, the
 *   leader's rewrite tag;
 * - a random history on two replicas, B reloaded from its own snapshot now and then: replies
 *   alike, and every grant's token strictly greater than every earlier one;
 * - snapshots: a round trip keeps the bytes; malformed coordination records are rejected with
 *   the dataset unchanged; a format 6 snapshot still loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "test_data_helpers.h"
#include "test_data_recorder.h"
#include "util/crc32c.h"

static void reload(data_store *ds)
{
    sbuf b = snap(ds);
    assert_int_equal(data_snapshot_load(ds, b.p, b.len), 0);
    free(b.p);
}

/* Runs a line as the leader of `epoch` would log it (data_rewrite adds the LEASE tag). */
static const char *lead(data_store *ds, uint64_t epoch, const char *line)
{
    static data_arg argv[REC_MAX_ARGS];
    data_arg rw[64];
    char scratch[256];
    char *store = malloc(strlen(line) + 1);
    int argc = rec_split(line, store, argv);
    const data_cmd *dc = data_cmd_lookup(argv[0].ptr, argv[0].len);
    data_coord_set_epoch(ds, epoch);
    int k = dc ? data_rewrite(ds, dc, argc, argv, t_now_ms, rw, 64, scratch, sizeof(scratch)) : 0;
    const char *out = k > 0 ? rec_exec_argv(ds, k, rw, NULL) : rec_exec_argv(ds, argc, argv, NULL);
    free(store);
    return out;
}

#define assert_lead(ds, epoch, line, want)                                                         \
    do {                                                                                           \
        const char *got_ = lead((ds), (epoch), (line));                                            \
        if (strcmp(got_, (want)) != 0)                                                             \
            fail_msg("%s:%d: %s\n   got: %s\n  want: %s", __FILE__, __LINE__, (line), got_,        \
                     (want));                                                                      \
    } while (0)

static void lease_basics(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 1000000;
    assert_reply(ds, "LEASE GRANT 1000",
                 "-ERR LEASE GRANT and KEEPALIVE are not allowed from "
                 "scripts");
    assert_lead(ds, 1, "LEASE GRANT 0", "-ERR invalid ttl: must be 1 to 31536000000 ms");
    assert_lead(ds, 1, "LEASE GRANT 1000", ":1");
    assert_lead(ds, 1, "LEASE GRANT 5000", ":2");
    assert_lead(ds, 1, "LEASE LIST", "*2 :1 :2");
    t_now_ms += 400;
    assert_lead(ds, 1, "LEASE TTL 1", ":600");
    assert_lead(ds, 1, "LEASE TTL 9", ":-2");
    assert_lead(ds, 1, "LEASE KEEPALIVE 9", "-ERR lease not found");
    /* the leader's expiry holds only when the deadline has passed at the entry's time */
    assert_lead(ds, 1, "LEASE _EXPIRE 1", ":0");
    assert_reply(ds, "LEASE _EXPIRE 1", ":0"); /* untagged: never */
    assert_lead(ds, 1, "LEASE KEEPALIVE 1", ":1000");
    t_now_ms += 999;
    assert_lead(ds, 1, "LEASE _EXPIRE 1", ":0");
    /* lease 1 holds a lock, an election and two keys */
    assert_reply(ds, "SET k1 v", "+OK");
    assert_reply(ds, "SET k2 v", "+OK");
    assert_lead(ds, 1, "LEASE ATTACH 1 k1 k2 k1", ":2");
    assert_lead(ds, 1, "LEASE ATTACH 1 k1", ":0");
    assert_reply(ds, "LOCK ACQUIRE l 1", ":1");
    assert_reply(ds, "ELECTION CAMPAIGN e 1 me", ":2");
    t_now_ms += 1;
    assert_int_equal(data_lock_check(ds, "l", 1, 1), 1);
    assert_lead(ds, 1, "LEASE _EXPIRE 1", ":1");
    assert_reply(ds, "EXISTS k1 k2", ":0");
    assert_reply(ds, "LOCK OWNER l", "(nil-array)");
    assert_reply(ds, "ELECTION LEADER e", "(nil-array)");
    assert_reply(ds, "LOCK CHECK l 1", "-FENCED token 1 is not the current holder's of lock 'l'");
    assert_int_equal(data_lock_check(ds, "l", 1, 1), 0);
    assert_lead(ds, 1, "LEASE LIST", "*1 :2");
    assert_lead(ds, 1, "LEASE REVOKE 2", ":1");
    assert_lead(ds, 1, "LEASE REVOKE 2", ":0");
    assert_lead(ds, 1, "LEASE LIST", "*0");
    assert_lead(ds, 1, "LEASE GRANT 10", ":3"); /* ids are never reused */
    data_destroy(ds);
}

static void locks_and_elections(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 5000;
    assert_lead(ds, 1, "LEASE GRANT 10000", ":1");
    assert_lead(ds, 1, "LEASE GRANT 10000", ":2");
    assert_reply(ds, "LOCK ACQUIRE a 9", "-ERR lease not found");
    assert_reply(ds, "LOCK ACQUIRE a 1", ":1");
    assert_reply(ds, "LOCK ACQUIRE a 1", ":1");    /* the holder's retry: the same grant */
    assert_reply(ds, "LOCK ACQUIRE a 2", "(nil)"); /* data_exec: the non-blocking form */
    assert_reply(ds, "LOCK ACQUIRE a 2 TIMEOUT", "-ERR syntax error");
    assert_reply(ds, "LOCK OWNER a", "*2 :1 :1");
    assert_reply(ds, "LOCK CHECK a 1", "+OK");
    assert_reply(ds, "LOCK RELEASE a 7", ":0");
    assert_reply(ds, "LOCK RELEASE a 1", ":1");
    assert_reply(ds, "LOCK ACQUIRE a 2", ":2");
    assert_reply(ds, "LOCK CHECK a 1", "-FENCED token 1 is not the current holder's of lock 'a'");
    /* data_exec_block: a held lock blocks, a free one is granted */
    data_block blk;
    data_arg acq[3] = {{"LOCK", 4}, {"ACQUIRE", 7}, {"a", 1}};
    data_arg argv[6] = {acq[0], acq[1], acq[2], {"1", 1}, {"TIMEOUT", 7}, {"250", 3}};
    const data_cmd *lock = data_cmd_lookup("lock", 4);
    t_rec.len = 0;
    data_exec_block(ds, lock, 6, argv, t_now_ms, &rec_ops, &t_rec, &blk);
    assert_int_equal(blk.blocked, 1);
    assert_int_equal(blk.timeout_ms, 250);
    assert_int_equal(blk.type, DATA_BLOCK_LOCK);
    assert_int_equal(blk.first_key, 2);
    assert_int_equal(t_rec.len, 0);
    assert_int_equal(data_block_available(ds, DATA_BLOCK_LOCK, "a", 1, t_now_ms), 0);
    assert_int_equal(data_block_available(ds, DATA_BLOCK_LOCK, "b", 1, t_now_ms), 1);
    assert_true(data_cmd_may_block(lock, 6, argv));
    data_arg chk[4] = {{"LOCK", 4}, {"CHECK", 5}, {"a", 1}, {"1", 1}};
    assert_false(data_cmd_may_block(lock, 4, chk));
    /* elections */
    assert_reply(ds, "ELECTION CAMPAIGN e 1 alpha", ":3");
    assert_reply(ds, "ELECTION CAMPAIGN e 2 beta", "(nil)");
    assert_reply(ds, "ELECTION LEADER e", "*2 \"alpha\" :3");
    assert_reply(ds, "ELECTION PROCLAIM e 2 x", "-ERR not the leader of this election");
    assert_reply(ds, "ELECTION PROCLAIM e 3 gamma", "+OK");
    assert_reply(ds, "ELECTION LEADER e", "*2 \"gamma\" :3");
    assert_reply(ds, "ELECTION RESIGN e 2", ":0");
    assert_reply(ds, "ELECTION RESIGN e 3", ":1");
    assert_reply(ds, "ELECTION CAMPAIGN e 2 beta", ":4");
    assert_reply(ds, "LOCK NOPE x", "-ERR unknown LOCK subcommand (ACQUIRE RELEASE OWNER CHECK)");
    data_destroy(ds);
}

/* A new leader's clock may be far ahead of or behind the old one's: a lease keeps its remaining
 * time as of the old leader's last tagged entry, measured on the new clock. */
static void epoch_rebase_keeps_remaining_time(void **state)
{
    (void)state;
    const int64_t offsets[] = {3600000, -3600000, 0, 7};
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        data_store *ds = data_create();
        t_now_ms = 1700000000000ll;
        assert_lead(ds, 4, "LEASE GRANT 10000", ":1");
        t_now_ms += 3000; /* the old leader's last word: 7000 ms left */
        assert_lead(ds, 4, "LEASE TTL 1", ":7000");
        /* the new leader (term 5) has not rebased yet: it may not decide anything */
        t_now_ms += offsets[i];
        data_coord_set_epoch(ds, 5);
        assert_int_equal(data_coord_due(ds, t_now_ms + 100000, 8, NULL, NULL), -1);
        assert_lead(ds, 5, "LEASE _REBASE", "+OK");
        assert_lead(ds, 5, "LEASE TTL 1", ":7000");
        t_now_ms += 6999;
        assert_int_equal(data_coord_due(ds, t_now_ms, 8, NULL, NULL), 0);
        assert_lead(ds, 5, "LEASE _EXPIRE 1", ":0");
        t_now_ms += 1;
        assert_lead(ds, 5, "LEASE _EXPIRE 1", ":1");
        data_destroy(ds);
    }
}

/* ---- random history on two replicas ---- */

static void random_history_tokens_increase(void **state)
{
    (void)state;
    seed_for("random_history_tokens_increase");
    data_store *a = data_create(), *b = data_create();
    t_now_ms = 1000;
    long long max_token = 0, granted = 0;
    uint64_t epoch = 1;
    char line[128];
    for (int step = 0; step < 4000; step++) {
        t_now_ms += rn(50);
        if (rn(200) == 0) epoch++; /* a new leader, clock unchanged here */
        int lease = (int)(granted - rn(4)), name = rn(4), op = rn(11);
        long long tok = rn(3) ? max_token - rn(3) : rn(100);
        switch (op) {
        case 0: snprintf(line, sizeof line, "LEASE GRANT %d", 1 + rn(1500)); break;
        case 1: snprintf(line, sizeof line, "LEASE KEEPALIVE %d", lease); break;
        case 2: snprintf(line, sizeof line, "LEASE REVOKE %d", lease); break;
        case 3: snprintf(line, sizeof line, "LEASE _EXPIRE %d", lease); break;
        case 4:
        case 5: snprintf(line, sizeof line, "LOCK ACQUIRE l%d %d", name, lease); break;
        case 6: snprintf(line, sizeof line, "LOCK RELEASE l%d %lld", name, tok); break;
        case 7:
            snprintf(line, sizeof line, "ELECTION CAMPAIGN e%d %d v%d", name, lease, step);
            break;
        case 8: snprintf(line, sizeof line, "ELECTION RESIGN e%d %lld", name, tok); break;
        case 9: snprintf(line, sizeof line, "LOCK OWNER l%d", name); break;
        default: snprintf(line, sizeof line, "LEASE ATTACH %d k%d", lease, name); break;
        }
        char *ra = strdup(lead(a, epoch, line));
        const char *rb = lead(b, epoch, line);
        if (strcmp(ra, rb) != 0) fail_msg("step %d: %s\n A: %s\n B: %s", step, line, ra, rb);
        if (op == 0 && ra[0] == ':') granted = atoll(ra + 1);
        if ((op == 4 || op == 5 || op == 7) && ra[0] == ':') {
            long long t = atoll(ra + 1);
            /* a holder's retry gets its own grant back; any new grant exceeds every earlier */
            if (t > max_token) {
                max_token = t;
            } else {
                char own[64];
                snprintf(own, sizeof own, op == 7 ? "ELECTION LEADER e%d" : "LOCK OWNER l%d", name);
                const char *o = rec_run(a, own, NULL);
                char want[64];
                snprintf(want, sizeof want, op == 7 ? ":%lld" : "*2 :%lld :%d", t, lease);
                if (!strstr(o, want))
                    fail_msg("step %d: %s granted token %lld <= %lld (owner %s)", step, line, t,
                             max_token, o);
            }
        }
        free(ra);
        if (rn(100) == 0) reload(b);
        if (rn(50) == 0) { /* a lost write keeps the two apart: none may be lost */
            sbuf sa = snap(a), sb = snap(b);
            assert_int_equal(sa.len, sb.len);
            assert_memory_equal(sa.p, sb.p, sa.len);
            free(sa.p);
            free(sb.p);
        }
    }
    printf("random_history_tokens_increase: last token %lld\n", max_token);
    assert_true(max_token > 20);
    data_destroy(a);
    data_destroy(b);
}

/* ---- snapshots ---- */

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void refresh_crc(sbuf *b)
{
    put_le(b->p + b->len - 4, crc32c(0, b->p, b->len - 4), 4);
}

static data_store *populated(void)
{
    data_store *ds = data_create();
    t_now_ms = 42000;
    assert_lead(ds, 3, "LEASE GRANT 5000", ":1");
    assert_lead(ds, 3, "LEASE GRANT 9000", ":2");
    assert_reply(ds, "SET k v", "+OK");
    assert_lead(ds, 3, "LEASE ATTACH 2 k", ":1");
    assert_reply(ds, "LOCK ACQUIRE l 1", ":1");
    assert_reply(ds, "ELECTION CAMPAIGN e 2 val", ":2");
    return ds;
}

static void snapshot_round_trip(void **state)
{
    (void)state;
    data_store *ds = populated();
    sbuf s1 = snap(ds);
    assert_int_equal(s1.p[8], 10); /* format 10 (cluster settings: kind 11) */
    assert_int_equal(s1.p[16], 8); /* record kind 8 first (no aux) */
    data_store *b = data_create();
    assert_int_equal(data_snapshot_load(b, s1.p, s1.len), 0);
    sbuf s2 = snap(b);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.p, s2.p, s1.len);
    assert_reply(b, "LOCK OWNER l", "*2 :1 :1");
    assert_reply(b, "ELECTION LEADER e", "*2 \"val\" :2");
    assert_lead(b, 3, "LEASE TTL 2", ":9000");
    assert_lead(b, 3, "LEASE GRANT 1", ":3");
    assert_reply(b, "LOCK ACQUIRE m 3", ":3");
    t_now_ms += 9000;
    assert_lead(b, 3, "LEASE _EXPIRE 2", ":1");
    assert_reply(b, "EXISTS k", ":0");
    /* an empty state writes no record: a fresh store's snapshot is as format 6 wrote it */
    data_store *e = data_create();
    sbuf s3 = snap(e);
    assert_int_equal(s3.len, 16 + 13);
    s3.p[8] = 6;
    refresh_crc(&s3);
    assert_int_equal(data_snapshot_load(b, s3.p, s3.len), 0);
    assert_lead(b, 3, "LEASE LIST", "*0");
    free(s1.p);
    free(s2.p);
    free(s3.p);
    data_destroy(ds);
    data_destroy(b);
    data_destroy(e);
}

static void snapshot_rejects_bad_coord(void **state)
{
    (void)state;
    data_store *ds = populated();
    sbuf s = snap(ds);
    data_store *b = data_create();
    assert_reply(b, "SET keep 1", "+OK");
    size_t base = 17; /* after the kind byte */
    struct {
        size_t off;
        uint64_t v;
        int n;
    } bad[] = {
        {base + 8, 0, 8},      /* revision 0 while locks hold tokens 1 and 2 */
        {base + 0, 1, 8},      /* lease ids beyond the id counter */
        {base + 32, 70000, 4}, /* too many leases */
        {base + 36 + 8, 0, 8}, /* ttl 0 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sbuf m = {malloc(s.len), s.len};
        memcpy(m.p, s.p, s.len);
        put_le(m.p + bad[i].off, bad[i].v, bad[i].n);
        refresh_crc(&m);
        assert_int_equal(data_snapshot_load(b, m.p, m.len), DATA_SNAPSHOT_ECORRUPT);
        assert_reply(b, "GET keep", "\"1\"");
        free(m.p);
    }
    /* format 6 has no record kind 8 */
    sbuf m = {malloc(s.len), s.len};
    memcpy(m.p, s.p, s.len);
    m.p[8] = 6;
    refresh_crc(&m);
    assert_int_equal(data_snapshot_load(b, m.p, m.len), DATA_SNAPSHOT_ECORRUPT);
    /* every truncation of the record fails cleanly */
    for (size_t cut = 17; cut < s.len - 13; cut += 3) {
        sbuf t = {malloc(cut + 13), cut + 13};
        memcpy(t.p, s.p, cut);
        memcpy(t.p + cut, s.p + s.len - 13, 13);
        refresh_crc(&t);
        assert_true(data_snapshot_load(b, t.p, t.len) < 0);
        free(t.p);
    }
    assert_reply(b, "GET keep", "\"1\"");
    free(m.p);
    free(s.p);
    data_destroy(ds);
    data_destroy(b);
}

static void rewrite_tags_lease_commands(void **state)
{
    (void)state;
    data_store *ds = data_create();
    data_coord_set_epoch(ds, 17);
    data_arg in[3] = {{"lease", 5}, {"grant", 5}, {"100", 3}}, out[64];
    char scratch[256];
    const data_cmd *dc = data_cmd_lookup("lease", 5);
    int k = data_rewrite(ds, dc, 3, in, 0, out, 64, scratch, sizeof(scratch));
    assert_int_equal(k, 5);
    assert_memory_equal(out[1].ptr, "_E", 2);
    assert_int_equal(out[2].len, 2);
    assert_memory_equal(out[2].ptr, "17", 2);
    assert_memory_equal(out[3].ptr, "grant", 5);
    /* a client's own tag is replaced by the leader's; LOCK needs no tag */
    data_arg forged[5] = {{"lease", 5}, {"_E", 2}, {"99", 2}, {"ttl", 3}, {"1", 1}};
    assert_int_equal(data_rewrite(ds, dc, 5, forged, 0, out, 64, scratch, sizeof(scratch)), 5);
    assert_memory_equal(out[2].ptr, "17", 2);
    assert_memory_equal(out[3].ptr, "ttl", 3);
    data_arg lk[4] = {{"lock", 4}, {"acquire", 7}, {"a", 1}, {"1", 1}};
    assert_int_equal(
        data_rewrite(ds, data_cmd_lookup("lock", 4), 4, lk, 0, out, 64, scratch, sizeof(scratch)),
        0);
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lease_basics),
        cmocka_unit_test(locks_and_elections),
        cmocka_unit_test(epoch_rebase_keeps_remaining_time),
        cmocka_unit_test(random_history_tokens_increase),
        cmocka_unit_test(snapshot_round_trip),
        cmocka_unit_test(snapshot_rejects_bad_coord),
        cmocka_unit_test(rewrite_tags_lease_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
