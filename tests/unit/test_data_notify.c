/* test_data_notify.c — PUBLISH and keyspace notifications in the data layer (notify.c):
 * - notify-keyspace-events letters <-> flags as Redis parses and prints them;
 * - PUBLISH / SPUBLISH hand (shard, channel, message) to the hook and reply its count (0 and
 *   no call without a hook), and change nothing;
 * - each write reports Redis's events in Redis's order: "new" before the command's event,
 *   "del" after a pop that emptied a key, "del" (not "expire") for an expiry in the past, the
 *   push before the pop of LMOVE, nothing for a command that changed nothing or a class that is
 *   off, nothing at all without K or E; expired / evicted from data_expire_key / _evict_key.
 * Seen failing with the "del" after an emptying pop removed (key_events) and with LMOVE's
 * events in source-first order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data_recorder.h"

static char t_events[4096];
static int t_pub_calls;

static void on_event(void *ctx, int cls, const char *event, const char *key, size_t klen)
{
    (void)ctx, (void)cls;
    size_t n = strlen(t_events);
    snprintf(t_events + n, sizeof(t_events) - n, "%s%s:%.*s", n ? " " : "", event, (int)klen, key);
}

static long long on_publish(void *ctx, int shard, const char *ch, size_t clen, const char *msg,
                            size_t mlen)
{
    (void)ctx;
    t_pub_calls++;
    size_t n = strlen(t_events);
    snprintf(t_events + n, sizeof(t_events) - n, "%spub%d:%.*s=%.*s", n ? " " : "", shard,
             (int)clen, ch, (int)mlen, msg);
    return 7;
}

static const char *events(data_store *ds, const char *line)
{
    t_events[0] = '\0';
    rec_run(ds, line, NULL);
    return t_events;
}

static void test_flags(void **state)
{
    (void)state;
    char out[32];
    struct {
        const char *in, *shown;
    } cases[] = {
        {"", ""},       {"gKE", "gKE"}, {"$lshzxeKE", "$lshzxeKE"},
        {"KA", "AK"},   {"EA", "AE"},   {"Ag$lshzxeKEtmdn", "AKEm"} /* A hides n */,
        {"nmE", "nEm"}, {"tx", "xt"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int f = data_notify_parse(cases[i].in, strlen(cases[i].in));
        assert_true(f >= 0);
        data_notify_format(f, out, sizeof(out));
        assert_string_equal(out, cases[i].shown);
    }
    assert_int_equal(data_notify_parse("KEq", 3), -1);
    assert_int_equal(data_notify_parse("a", 1), -1); /* letters are case-sensitive */
}

static void test_publish(void **state)
{
    (void)state;
    data_store *ds = data_create();
    int dirty = 1;
    assert_string_equal(rec_run(ds, "PUBLISH ch hello", &dirty), ":0"); /* no hook */
    assert_int_equal(dirty, 0);
    data_set_pubsub_hooks(ds, on_publish, on_event, NULL);
    assert_string_equal(events(ds, "PUBLISH ch hello"), "pub0:ch=hello");
    assert_string_equal(rec_run(ds, "SPUBLISH sch m", &dirty), ":7");
    assert_int_equal(dirty, 0);
    assert_string_equal(rec_run(ds, "PUBLISH ch", NULL),
                        "-ERR wrong number of arguments for 'publish' command");
    assert_int_equal(t_pub_calls, 2);
    data_destroy(ds);
}

static void test_events(void **state)
{
    (void)state;
    data_store *ds = data_create();
    data_set_pubsub_hooks(ds, on_publish, on_event, NULL);
    data_set_notify_flags(ds, data_notify_parse("KA", 2)); /* no "new" (not in A) */
    assert_string_equal(events(ds, "SET foo bar"), "set:foo");
    assert_string_equal(events(ds, "SET foo bar PX 1000"), "set:foo expire:foo");
    assert_string_equal(events(ds, "SET foo bar NX"), ""); /* changed nothing */
    /* as applied without the node's rewrite to SET ... PXAT */
    assert_string_equal(events(ds, "SETEX sx 100 v"), "set:sx expire:sx");
    assert_string_equal(events(ds, "PSETEX sx 100000 v"), "set:sx expire:sx");
    assert_string_equal(events(ds, "DEL sx"), "del:sx");
    assert_string_equal(events(ds, "DEL foo nokey"), "del:foo");
    assert_string_equal(events(ds, "LPUSH l a b"), "lpush:l");
    assert_string_equal(events(ds, "RPOP l"), "rpop:l");
    assert_string_equal(events(ds, "RPOP l"), "rpop:l del:l");
    assert_string_equal(events(ds, "RPOP l"), "");
    assert_string_equal(events(ds, "RPUSH src x"), "rpush:src");
    assert_string_equal(events(ds, "LMOVE src dst LEFT RIGHT"), "rpush:dst lpop:src del:src");
    assert_string_equal(events(ds, "SADD s a"), "sadd:s");
    assert_string_equal(events(ds, "SMOVE s s2 a"), "srem:s del:s sadd:s2");
    assert_string_equal(events(ds, "SET e 1"), "set:e");
    assert_string_equal(events(ds, "PEXPIREAT e 1"), "del:e"); /* in the past */
    assert_string_equal(events(ds, "MSET a 1 b 2"), "set:a set:b");
    assert_string_equal(events(ds, "RENAME a c"), "rename_from:a rename_to:c");
    assert_string_equal(events(ds, "ZADD z 1 m"), "zadd:z");
    assert_string_equal(events(ds, "ZUNIONSTORE z 1 nokey"), "del:z"); /* empty result */
    assert_string_equal(events(ds, "HSET h f v"), "hset:h");
    assert_string_equal(events(ds, "HINCRBY h n 1"), "hincrby:h");
    assert_string_equal(events(ds, "XADD x 1-1 f v"), "xadd:x");
    assert_string_equal(events(ds, "XGROUP CREATE x g $"), "xgroup-create:x");
    assert_string_equal(events(ds, "XGROUP DELCONSUMER x g nobody"), "");
    assert_string_equal(events(ds, "XADD x 1-2 f v"), "xadd:x");
    assert_string_equal(events(ds, "XREADGROUP GROUP g c1 STREAMS x >"), "xgroup-createconsumer:x");
    /* "new" only with n; classes filter; nothing without K or E */
    data_set_notify_flags(ds, data_notify_parse("En", 2));
    assert_string_equal(events(ds, "SET n1 a"), "new:n1");
    assert_string_equal(events(ds, "SET n1 b"), "");
    data_set_notify_flags(ds, data_notify_parse("Kl", 2));
    assert_string_equal(events(ds, "SET n2 a"), "");
    assert_string_equal(events(ds, "RPUSH q a"), "rpush:q");
    assert_string_equal(events(ds, "RPOP q"), "rpop:q"); /* "del" is class g: off */
    data_set_notify_flags(ds, data_notify_parse("A", 1));
    assert_string_equal(events(ds, "SET n3 a"), "");
    /* expired and evicted, as applied */
    data_set_notify_flags(ds, data_notify_parse("KEA", 3));
    rec_run(ds, "SET t v PX 10", NULL);
    t_events[0] = '\0';
    assert_int_equal(data_expire_key(ds, "t", 1, t_now_ms + 100), 1);
    assert_string_equal(t_events, "expired:t");
    rec_run(ds, "SET ev v", NULL);
    t_events[0] = '\0';
    assert_int_equal(data_evict_key(ds, "ev", 2), 1);
    assert_string_equal(t_events, "evicted:ev");
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_publish),
        cmocka_unit_test(test_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
