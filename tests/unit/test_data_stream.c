/* test_data_stream.c — streams (stream.c, stream_group.c, stream_idx.c), seeded and printed
 * (DATA_SEED=n replays):
 * - fixed cases: ids (`*`, `ms-*`, a clock that goes backwards), errors, ranges, trimming with
 *   `=` and `~` (whole chunks of 100 appends, as Redis 7.0 nodes), XINFO, groups, idle times
 *   to the millisecond (MIN-IDLE / IDLE bounds, XCLAIM IDLE / TIME, consumers' seen times);
 * - the entry commands against an array model: XADD / XDEL / XTRIM (exact and approximate) /
 *   XRANGE / XREVRANGE / XLEN on store A and on store B, which is reloaded from its own snapshot
 *   now and then: both must reply alike (approximate trimming and XINFO's chunk count included:
 *   chunk boundaries survive a snapshot) and match the model;
 * - consumer groups against a pending-entries model (id -> owner) with XREADGROUP, XACK, XCLAIM,
 *   XAUTOCLAIM, DELCONSUMER, SETID, XDEL, again on A and a reloaded B;
 * - snapshots: a round trip keeps XINFO STREAM FULL byte for byte; crafted malformed stream
 *   records (valid CRC) are rejected with the dataset unchanged; mutated records never crash.
 * STREAM_TRACE=1 prints the commands of the model tests. */
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

static char *run_dup(data_store *ds, const char *line)
{
    return strdup(rec_run(ds, line, NULL));
}

/* ---- fixed cases ---- */

static void stream_ids_and_errors(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 1000;
    assert_reply(ds, "XADD s * a 1", "\"1000-0\"");
    assert_reply(ds, "XADD s * a 2", "\"1000-1\"");
    t_now_ms = 900; /* the clock went back (a new leader behind): ids still increase */
    assert_reply(ds, "XADD s * a 3", "\"1000-2\"");
    t_now_ms = 1001;
    assert_reply(ds, "XADD s * a 4", "\"1001-0\"");
    assert_reply(ds, "XADD s 1001-* a 5", "\"1001-1\"");
    assert_reply(ds, "XADD s 1005-* a 6", "\"1005-0\"");
    assert_reply(ds, "XADD s 1005 a 7",
                 "-ERR The ID specified in XADD is equal or smaller than the target stream top "
                 "item");
    assert_reply(ds, "XADD s 0-0 a 7", "-ERR The ID specified in XADD must be greater than 0-0");
    assert_reply(ds, "XADD s 1-x a 7",
                 "-ERR Invalid stream ID specified as stream command argument");
    assert_reply(ds, "XADD s * a", "-ERR wrong number of arguments for 'xadd' command");
    assert_reply(ds, "XADD s MAXLEN -1 * a 1", "-ERR The MAXLEN argument must be >= 0.");
    assert_reply(ds, "XADD s MAXLEN 1 MINID 1 * a 1",
                 "-ERR syntax error, MAXLEN and MINID options at the same time are not "
                 "compatible");
    assert_reply(ds, "XADD s MAXLEN 1 LIMIT 5 * a 1",
                 "-ERR syntax error, LIMIT cannot be used without the special ~ option");
    assert_reply(ds, "XADD none NOMKSTREAM * a 1", "(nil)");
    assert_reply(ds, "EXISTS none", ":0");
    assert_reply(ds, "XLEN s", ":6");
    assert_reply(ds, "XRANGE s (1000-2 1001",
                 "*2 *2 \"1001-0\" *2 \"a\" \"4\" *2 \"1001-1\" *2 "
                 "\"a\" \"5\"");
    assert_reply(ds, "XREVRANGE s + - COUNT 1", "*1 *2 \"1005-0\" *2 \"a\" \"6\"");
    assert_reply(ds, "XRANGE s - + COUNT 0", "(nil-array)");
    assert_reply(ds, "XRANGE s (18446744073709551615-18446744073709551615 +",
                 "-ERR invalid start ID for the interval");
    assert_reply(ds, "XDEL s 1000-1 7-7", ":1");
    assert_reply(ds, "XINFO STREAM s",
                 "%10 \"length\" :5 \"radix-tree-keys\" :1 \"radix-tree-nodes\" :2 "
                 "\"last-generated-id\" \"1005-0\" \"max-deleted-entry-id\" \"1000-1\" "
                 "\"entries-added\" :6 \"recorded-first-entry-id\" \"1000-0\" \"groups\" :0 "
                 "\"first-entry\" *2 \"1000-0\" *2 \"a\" \"1\" \"last-entry\" *2 \"1005-0\" *2 "
                 "\"a\" \"6\"");
    assert_reply(ds, "TYPE s", "+stream");
    assert_reply(ds, "OBJECT ENCODING s", "\"stream\"");
    assert_reply(ds, "SET str x", "+OK");
    assert_reply(ds, "XADD str * a 1",
                 "-WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_reply(ds, "XSETID s 1",
                 "-ERR The ID specified in XSETID is smaller than the target "
                 "stream top item");
    assert_reply(ds, "XSETID s 2000 ENTRIESADDED 100 MAXDELETEDID 1500", "+OK");
    assert_reply(ds, "XADD s * a 8", "\"2000-1\"");
    /* the last possible id */
    assert_reply(ds, "XADD m 18446744073709551615-18446744073709551615 a 1",
                 "\"18446744073709551615-18446744073709551615\"");
    assert_reply(ds, "XADD m * a 1",
                 "-ERR The stream has exhausted the last possible ID, unable to add more items");
    /* COPY, RENAME keep everything */
    assert_reply(ds, "COPY s s2", ":1");
    assert_reply(ds, "RENAME s2 s3", "+OK");
    char *a = run_dup(ds, "XINFO STREAM s FULL"), *b = run_dup(ds, "XINFO STREAM s3 FULL");
    assert_string_equal(a, b);
    free(a), free(b);
    data_destroy(ds);
}

static void stream_trimming(void **state)
{
    (void)state;
    data_store *ds = data_create();
    char line[64];
    for (int i = 1; i <= 250; i++) {
        snprintf(line, sizeof line, "XADD t %d-0 f v", i);
        rec_run(ds, line, NULL);
    }
    /* chunks of 100 appends: ~ removes whole chunks only, as Redis 7.0 (checked against it) */
    assert_reply(ds, "XTRIM t MAXLEN ~ 120", ":100");
    assert_reply(ds, "XLEN t", ":150");
    reload(ds); /* chunk boundaries are part of the snapshot */
    assert_reply(ds, "XDEL t 150-0 160-0", ":2");
    assert_reply(ds, "XTRIM t MINID ~ 205", ":98");
    assert_reply(ds, "XTRIM t MAXLEN ~ 0 LIMIT 30", ":0");
    assert_reply(ds, "XTRIM t MAXLEN 10", ":40");
    assert_reply(ds, "XRANGE t - + COUNT 1", "*1 *2 \"241-0\" *2 \"f\" \"v\"");
    assert_reply(ds, "XTRIM t MINID 250", ":9");
    assert_reply(ds, "XTRIM t", "-ERR wrong number of arguments for 'xtrim' command");
    assert_reply(ds, "XTRIM t FOO 1", "-ERR syntax error");
    assert_reply(ds, "XTRIM none MAXLEN 0", ":0");
    /* an emptied stream stays, with its last id */
    assert_reply(ds, "XDEL t 250-0", ":1");
    assert_reply(ds, "EXISTS t", ":1");
    assert_reply(ds, "XADD t 5-0 f v",
                 "-ERR The ID specified in XADD is equal or smaller than the target stream top "
                 "item");
    data_destroy(ds);
}

/* Trimming and ids at their bounds, as Redis 7.0 (checked against 7.0.15): `~` drops a chunk
 * when what stays is still >= MAXLEN, a chunk ending exactly at MAXLEN included; LIMIT n takes a
 * chunk that brings the deleted count to exactly n; `~` without LIMIT removes at most
 * 100 * stream-node-max-entries entries per call; `0-*` is the first id after 0-0. */
static void stream_trim_bounds(void **state)
{
    (void)state;
    data_store *ds = data_create();
    char line[64];
    for (int i = 1; i <= 200; i++) {
        snprintf(line, sizeof line, "XADD b %d-0 f v", i);
        rec_run(ds, line, NULL);
    }
    assert_reply(ds, "XTRIM b MAXLEN ~ 100", ":100");
    for (int i = 201; i <= 300; i++) {
        snprintf(line, sizeof line, "XADD b %d-0 f v", i);
        rec_run(ds, line, NULL);
    }
    assert_reply(ds, "XTRIM b MAXLEN ~ 0 LIMIT 100", ":100");
    assert_reply(ds, "XLEN b", ":100");
    for (int i = 1; i <= 10200; i++) {
        snprintf(line, sizeof line, "XADD big %d-0 f v", i);
        rec_run(ds, line, NULL);
    }
    assert_reply(ds, "XTRIM big MAXLEN ~ 0", ":10000");
    assert_reply(ds, "XLEN big", ":200");
    assert_reply(ds, "XADD z 0-* f v", "\"0-1\"");
    assert_reply(ds, "XADD z 0-* f v", "\"0-2\"");
    /* XSETID's bounds are inclusive: ENTRIESADDED may equal the length, MAXDELETEDID the id */
    assert_reply(ds, "XSETID z 0-2 ENTRIESADDED 2", "+OK");
    assert_reply(ds, "XSETID z 5-0 MAXDELETEDID 5-0", "+OK");
    data_destroy(ds);
}

static void stream_groups_fixed(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 5000;
    assert_reply(ds, "XGROUP CREATE s g $",
                 "-ERR The XGROUP subcommand requires the key to "
                 "exist. Note that for CREATE you may want to use the "
                 "MKSTREAM option to create an empty stream "
                 "automatically.");
    assert_reply(ds, "XGROUP CREATE s g $ MKSTREAM", "+OK");
    assert_reply(ds, "XGROUP CREATE s g $", "-BUSYGROUP Consumer Group name already exists");
    assert_reply(ds, "XADD s 1-0 a 1", "\"1-0\"");
    assert_reply(ds, "XADD s 2-0 b 2", "\"2-0\"");
    assert_reply(ds, "XREADGROUP GROUP g alice STREAMS s >",
                 "*1 *2 \"s\" *2 *2 \"1-0\" *2 \"a\" \"1\" *2 \"2-0\" *2 \"b\" \"2\"");
    assert_reply(ds, "XREADGROUP GROUP g alice STREAMS s >", "(nil-array)");
    /* data_exec runs the blocking form as its non-blocking one (replicas, MULTI) */
    assert_reply(ds, "XREADGROUP GROUP g alice BLOCK 10 STREAMS s >", "(nil-array)");
    t_now_ms = 5100;
    assert_reply(ds, "XPENDING s g", "*4 :2 \"1-0\" \"2-0\" *1 *2 \"alice\" \"2\"");
    assert_reply(ds, "XPENDING s g IDLE 50 - + 10",
                 "*2 *4 \"1-0\" \"alice\" :100 :1 *4 \"2-0\" \"alice\" :100 :1");
    assert_reply(ds, "XCLAIM s g bob 50 1-0 JUSTID", "*1 \"1-0\"");
    assert_reply(ds, "XPENDING s g - + 10 bob", "*1 *4 \"1-0\" \"bob\" :0 :1");
    assert_reply(ds, "XDEL s 2-0", ":1");
    assert_reply(ds, "XAUTOCLAIM s g carol 0 0",
                 "*3 \"0-0\" *1 *2 \"1-0\" *2 \"a\" \"1\" *1 "
                 "\"2-0\"");
    assert_reply(ds, "XREADGROUP GROUP g carol STREAMS s 0",
                 "*1 *2 \"s\" *1 *2 \"1-0\" *2 \"a\" \"1\"");
    assert_reply(ds, "XPENDING s g - + 10", "*1 *4 \"1-0\" \"carol\" :0 :3");
    assert_reply(ds, "XACK s g 1-0 1-0 9-9", ":1");
    assert_reply(ds, "XINFO GROUPS s",
                 "*1 %6 \"name\" \"g\" \"consumers\" :3 \"pending\" :0 "
                 "\"last-delivered-id\" \"2-0\" \"entries-read\" :2 "
                 "\"lag\" :0");
    assert_reply(ds, "XGROUP DELCONSUMER s g alice", ":0");
    assert_reply(ds, "XGROUP CREATECONSUMER s g alice", ":1");
    assert_reply(ds, "XGROUP CREATECONSUMER s g alice", ":0");
    assert_reply(ds, "XGROUP SETID s g 0 ENTRIESREAD 0", "+OK");
    assert_reply(ds, "XGROUP FOO s g", "-ERR unknown subcommand 'FOO'. Try XGROUP HELP.");
    assert_reply(ds, "XGROUP DESTROY s",
                 "-ERR wrong number of arguments for 'xgroup|destroy' "
                 "command");
    assert_reply(ds, "XGROUP DESTROY s g", ":1");
    assert_reply(ds, "XGROUP DESTROY s g", ":0");
    assert_reply(ds, "XREADGROUP GROUP g alice STREAMS s >",
                 "-NOGROUP No such key 's' or consumer group 'g' in XREADGROUP with GROUP option");
    data_destroy(ds);
}

/* Asserts that the reply to line contains want. */
#define assert_reply_has(ds, line, want)                                                           \
    do {                                                                                           \
        const char *got_ = rec_run((ds), (line), NULL);                                            \
        if (!strstr(got_, (want)))                                                                 \
            fail_msg("%s\n got: %s\nwant within: %s", (line), got_, (want));                       \
    } while (0)

/* Group commands at their bounds, as Redis 7.0 (checked against 7.0.15): XREAD and history
 * reads start after the id given; XPENDING's end is inclusive and its summary lists only
 * consumers with pending entries; XCLAIM FORCE creates the pending entry, RETRYCOUNT 0 sets 0,
 * LASTID only moves the group forward, a TIME in the future means now; XDEL keeps the largest
 * deleted id; lag is unknown (nil) when the group's last id is a tombstone or past the stream. */
static void stream_group_bounds(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 1000;
    const char *e2 = "*2 \"2-0\" *2 \"f\" \"v\"", *e3 = "*2 \"3-0\" *2 \"f\" \"v\"";
    char want[256];
    for (int k = 0; k < 3; k++) {
        const char *key = k == 0 ? "s" : k == 1 ? "c" : "d";
        for (int i = 1; i <= 3; i++) {
            char line[64];
            snprintf(line, sizeof line, "XADD %s %d-0 f v", key, i);
            rec_run(ds, line, NULL);
        }
    }
    snprintf(want, sizeof want, "*1 *2 \"s\" *2 %s %s", e2, e3);
    assert_reply(ds, "XREAD STREAMS s 1-0", want);
    assert_reply(ds, "XGROUP CREATE s g 0", "+OK");
    assert_reply(ds, "XREADGROUP GROUP g a COUNT 2 STREAMS s >",
                 "*1 *2 \"s\" *2 *2 \"1-0\" *2 \"f\" \"v\" *2 \"2-0\" *2 \"f\" \"v\"");
    snprintf(want, sizeof want, "*1 *2 \"s\" *1 %s", e2);
    assert_reply(ds, "XREADGROUP GROUP g a STREAMS s 1-0", want);
    assert_reply(ds, "XGROUP CREATECONSUMER s g zed", ":1");
    assert_reply(ds, "XPENDING s g", "*4 :2 \"1-0\" \"2-0\" *1 *2 \"a\" \"2\"");
    assert_reply(ds, "XPENDING s g - 1-0 10", "*1 *4 \"1-0\" \"a\" :0 :1");
    assert_reply(ds, "XDEL s 2-0", ":1"); /* the group's last id is now a tombstone */
    assert_reply(ds, "XINFO GROUPS s",
                 "*1 %6 \"name\" \"g\" \"consumers\" :2 \"pending\" :2 \"last-delivered-id\" "
                 "\"2-0\" \"entries-read\" :2 \"lag\" (nil)");
    assert_reply(ds, "XGROUP SETID s g 99-0", "+OK");
    assert_reply_has(ds, "XINFO GROUPS s",
                     "\"last-delivered-id\" \"99-0\" \"entries-read\" (nil) "
                     "\"lag\" (nil)");
    assert_reply(ds, "XGROUP DELCONSUMER s g zed", ":0"); /* its own pending count: none */

    assert_reply(ds, "XGROUP CREATE c g $", "+OK");
    assert_reply(ds, "XCLAIM c g bob 0 1-0 FORCE JUSTID", "*1 \"1-0\"");
    assert_reply(ds, "XCLAIM c g bob 0 1-0 RETRYCOUNT 0 JUSTID", "*1 \"1-0\"");
    assert_reply(ds, "XPENDING c g - + 10", "*1 *4 \"1-0\" \"bob\" :0 :0");
    assert_reply(ds, "XCLAIM c g bob 0 1-0 LASTID 1-0 JUSTID", "*1 \"1-0\"");
    assert_reply_has(ds, "XINFO GROUPS c", "\"last-delivered-id\" \"3-0\"");
    assert_reply(ds, "XCLAIM c g bob 0 1-0 TIME 5000 JUSTID", "*1 \"1-0\"");
    t_now_ms = 1500;
    assert_reply(ds, "XPENDING c g - + 10", "*1 *4 \"1-0\" \"bob\" :500 :0");

    assert_reply(ds, "XDEL d 3-0 1-0", ":2");
    assert_reply_has(ds, "XINFO STREAM d", "\"max-deleted-entry-id\" \"3-0\"");

    /* XAUTOCLAIM looks at up to COUNT * 10 entries; a deleted one counts against COUNT */
    t_now_ms = 100000;
    for (int i = 1; i <= 6; i++) {
        char line[64];
        snprintf(line, sizeof line, "XADD q %d-0 f v", i);
        rec_run(ds, line, NULL);
    }
    assert_reply(ds, "XGROUP CREATE q g 0", "+OK");
    rec_run(ds, "XREADGROUP GROUP g a STREAMS q >", NULL);
    assert_reply(ds, "XCLAIM q g a 0 6-0 IDLE 10000 JUSTID", "*1 \"6-0\"");
    assert_reply(ds, "XAUTOCLAIM q g x 5000 0 COUNT 1 JUSTID", "*3 \"0-0\" *1 \"6-0\" *0");
    assert_reply(ds, "XDEL q 1-0 2-0", ":2");
    assert_reply(ds, "XAUTOCLAIM q g y 0 0 COUNT 2 JUSTID", "*3 \"3-0\" *0 *2 \"1-0\" \"2-0\"");
    data_destroy(ds);
}

/* Idle times against a clock the test sets. Redis 7.0 compares idle = now - delivery time with
 * `idle < min-idle` to skip an entry (t_stream.c, XCLAIM / XAUTOCLAIM / XPENDING IDLE), so an
 * entry idle exactly min-idle qualifies; a consumer's seen time, XINFO CONSUMERS's idle, is
 * refreshed by every read that serves it and every claim. */
static void stream_idle_bounds(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 5000;
    assert_reply(ds, "XADD s 1-0 a 1", "\"1-0\"");
    assert_reply(ds, "XADD s 2-0 b 2", "\"2-0\"");
    assert_reply(ds, "XGROUP CREATE s g 0", "+OK");
    assert_reply(ds, "XGROUP CREATECONSUMER s g alice", ":1");
    t_now_ms = 5300;
    assert_reply(ds, "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
                 "*1 *2 \"s\" *1 *2 \"1-0\" *2 \"a\" \"1\"");
    t_now_ms = 5400; /* 1-0 idle 100 */
    assert_reply(ds, "XINFO CONSUMERS s g",
                 "*1 %3 \"name\" \"alice\" \"pending\" :1 \"idle\" :100");
    assert_reply(ds, "XPENDING s g IDLE 101 - + 10", "*0");
    assert_reply(ds, "XPENDING s g IDLE 100 - + 10", "*1 *4 \"1-0\" \"alice\" :100 :1");
    assert_reply(ds, "XCLAIM s g bob 101 1-0 JUSTID", "*0");
    assert_reply(ds, "XCLAIM s g bob 100 1-0 JUSTID", "*1 \"1-0\"");
    t_now_ms = 5450; /* 1-0 idle 50, owned by bob */
    assert_reply(ds, "XPENDING s g IDLE 50 - + 10 bob", "*1 *4 \"1-0\" \"bob\" :50 :1");
    assert_reply(ds, "XPENDING s g IDLE 51 - + 10 bob", "*0");
    assert_reply(ds, "XAUTOCLAIM s g carol 51 0 JUSTID", "*3 \"0-0\" *0 *0");
    assert_reply(ds, "XAUTOCLAIM s g carol 50 0 JUSTID", "*3 \"0-0\" *1 \"1-0\" *0");
    t_now_ms = 5500; /* IDLE sets the delivery time back from now, TIME to a moment */
    assert_reply(ds, "XCLAIM s g dave 0 1-0 IDLE 250 JUSTID", "*1 \"1-0\"");
    assert_reply(ds, "XPENDING s g - + 10", "*1 *4 \"1-0\" \"dave\" :250 :1");
    assert_reply(ds, "XCLAIM s g dave 0 1-0 TIME 5100 JUSTID", "*1 \"1-0\"");
    assert_reply(ds, "XPENDING s g - + 10", "*1 *4 \"1-0\" \"dave\" :400 :1");
    t_now_ms = 5600; /* a history read refreshes alice's seen time, though it serves nothing */
    assert_reply(ds, "XREADGROUP GROUP g alice STREAMS s 0", "*1 *2 \"s\" *0");
    t_now_ms = 5700;
    assert_reply(ds, "XINFO CONSUMERS s g",
                 "*4 %3 \"name\" \"alice\" \"pending\" :0 \"idle\" :100 "
                 "%3 \"name\" \"bob\" \"pending\" :0 \"idle\" :300 "
                 "%3 \"name\" \"carol\" \"pending\" :0 \"idle\" :250 "
                 "%3 \"name\" \"dave\" \"pending\" :1 \"idle\" :200");
    data_destroy(ds);
}

/* ---- entries against an array model ---- */

typedef struct {
    uint64_t ms, seq;
    int v;
} ment;

#define MODEL_MAX 4000

static ment model[MODEL_MAX];
static int mlen;
static uint64_t mlast_ms, mlast_seq;

static int mcmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
    if (ams != bms) return ams < bms ? -1 : 1;
    if (aseq != bseq) return aseq < bseq ? -1 : 1;
    return 0;
}

static void render_range(char *out, size_t cap, int from, int to, int step, int count)
{
    size_t o = 0;
    int n = 0;
    for (int i = from; i != to && (!count || n < count); i += step)
        n++;
    o += (size_t)snprintf(out + o, cap - o, "*%d", n);
    int k = 0;
    for (int i = from; k < n; i += step, k++)
        o += (size_t)snprintf(out + o, cap - o, " *2 \"%llu-%llu\" *2 \"f\" \"%d\"",
                              (unsigned long long)model[i].ms, (unsigned long long)model[i].seq,
                              model[i].v);
}

/* Runs line on A and B; replies must agree; returns A's. */
static const char *both(data_store *a, data_store *b, const char *line)
{
    static char ra[REC_MAX];
    if (getenv("STREAM_TRACE")) printf("%s\n", line);
    snprintf(ra, sizeof ra, "%s", rec_run(a, line, NULL));
    const char *rb = rec_run(b, line, NULL);
    if (strcmp(ra, rb) != 0) fail_msg("%s\n  A: %s\n  B: %s", line, ra, rb);
    return ra;
}

static void stream_commands_match_model(void **state)
{
    (void)state;
    seed_for("stream_commands_match_model");
    data_store *a = data_create(), *b = data_create();
    mlen = 0;
    mlast_ms = mlast_seq = 0;
    t_now_ms = 100;
    char line[256], want[1 << 16];
    for (int step = 0; step < 6000; step++) {
        int op = rn(20);
        t_now_ms += rn(4) - 1; /* sometimes backwards */
        if (op < 8 && mlen < MODEL_MAX - 10) {
            int v = rn(1000), kind = rn(4);
            uint64_t ms = 0, seq = 0;
            if (kind == 0) {
                snprintf(line, sizeof line, "XADD s * f %d", v);
                if ((uint64_t)t_now_ms > mlast_ms)
                    ms = (uint64_t)t_now_ms, seq = 0;
                else
                    ms = mlast_ms, seq = mlast_seq + 1;
            } else if (kind == 1) {
                ms = mlast_ms + (uint64_t)rn(3);
                snprintf(line, sizeof line, "XADD s %llu-* f %d", (unsigned long long)ms, v);
                seq = ms == mlast_ms ? mlast_seq + 1 : 0;
            } else {
                ms = mlast_ms + (uint64_t)rn(3) - (mlast_ms > 0);
                seq = (uint64_t)rn(3);
                snprintf(line, sizeof line, "XADD s %llu-%llu f %d", (unsigned long long)ms,
                         (unsigned long long)seq, v);
            }
            const char *r = both(a, b, line);
            if (mcmp(ms, seq, mlast_ms, mlast_seq) <= 0 || (ms == 0 && seq == 0)) {
                assert_int_equal(r[0], '-');
            } else {
                snprintf(want, sizeof want, "\"%llu-%llu\"", (unsigned long long)ms,
                         (unsigned long long)seq);
                assert_string_equal(r, want);
                model[mlen++] = (ment){ms, seq, v};
                mlast_ms = ms, mlast_seq = seq;
            }
        } else if (op < 11 && mlen) {
            int i = rn(mlen), extra = rn(2);
            snprintf(line, sizeof line, "XDEL s %llu-%llu %llu-%llu",
                     (unsigned long long)model[i].ms, (unsigned long long)model[i].seq,
                     (unsigned long long)model[i].ms, (unsigned long long)model[i].seq + extra);
            const char *r = both(a, b, line);
            int gone = 1;
            if (extra && i + 1 < mlen && model[i + 1].ms == model[i].ms &&
                model[i + 1].seq == model[i].seq + 1)
                gone = 2;
            snprintf(want, sizeof want, ":%d", gone);
            assert_string_equal(r, want);
            memmove(model + i, model + i + gone, (size_t)(mlen - i - gone) * sizeof(ment));
            mlen -= gone;
        } else if (op == 11) {
            int keep = rn(mlen + 5), approx = rn(2);
            snprintf(line, sizeof line, "XTRIM s MAXLEN %s %d", approx ? "~" : "=", keep);
            const char *r = both(a, b, line);
            int removed = atoi(r + 1), exact = mlen > keep ? mlen - keep : 0;
            if (!approx) assert_int_equal(removed, exact);
            assert_true(removed <= exact);
            memmove(model, model + removed, (size_t)(mlen - removed) * sizeof(ment));
            mlen -= removed;
        } else if (op == 12 && mlen) {
            int i = rn(mlen), approx = rn(2);
            snprintf(line, sizeof line, "XTRIM s MINID %s %llu-%llu", approx ? "~" : "=",
                     (unsigned long long)model[i].ms, (unsigned long long)model[i].seq);
            const char *r = both(a, b, line);
            int removed = atoi(r + 1);
            if (!approx) assert_int_equal(removed, i);
            assert_true(removed <= i);
            memmove(model, model + removed, (size_t)(mlen - removed) * sizeof(ment));
            mlen -= removed;
        } else if (op < 17 && mlen) {
            int i = rn(mlen), j = i + rn(mlen - i), count = rn(3) ? 0 : 1 + rn(5);
            int rev = rn(2), exl = rn(3) == 0, exr = rn(3) == 0;
            char lo[48], hi[48], cnt[24] = "";
            snprintf(lo, sizeof lo, "%s%llu-%llu", exl ? "(" : "", (unsigned long long)model[i].ms,
                     (unsigned long long)model[i].seq);
            snprintf(hi, sizeof hi, "%s%llu-%llu", exr ? "(" : "", (unsigned long long)model[j].ms,
                     (unsigned long long)model[j].seq);
            if (count) snprintf(cnt, sizeof cnt, " COUNT %d", count);
            snprintf(line, sizeof line, "%s s %s %s%s", rev ? "XREVRANGE" : "XRANGE", rev ? hi : lo,
                     rev ? lo : hi, cnt);
            int from = i + exl, to = j - exr; /* inclusive model range */
            if (from > to)
                snprintf(want, sizeof want, "*0");
            else if (rev)
                render_range(want, sizeof want, to, from - 1, -1, count);
            else
                render_range(want, sizeof want, from, to + 1, 1, count);
            assert_string_equal(both(a, b, line), want);
        } else if (op == 17) {
            snprintf(want, sizeof want, ":%d", mlen);
            assert_string_equal(both(a, b, "XLEN s"), want);
            both(a, b, "XINFO STREAM s"); /* chunk count and edges agree between A and B */
        } else if (op == 18 && rn(10) == 0) {
            reload(b);
        }
    }
    snprintf(want, sizeof want, "*%d", mlen);
    render_range(want, sizeof want, 0, mlen, 1, 0);
    assert_string_equal(both(a, b, "XRANGE s - +"), want);
    data_destroy(a);
    data_destroy(b);
}

/* ---- consumer groups against a pending model ---- */

#define GM_IDS 400
static int pend_owner[GM_IDS]; /* -1: not pending, else consumer index */
static int exists_[GM_IDS];
static const char *const cons_names[] = {"alice", "bob", "carol"};

static void check_pending(data_store *a, data_store *b)
{
    char want[1 << 16];
    size_t o = 0;
    int n = 0;
    for (int i = 0; i < GM_IDS; i++)
        n += pend_owner[i] >= 0;
    o += (size_t)snprintf(want + o, sizeof want - o, "*%d", n);
    for (int i = 0; i < GM_IDS; i++)
        if (pend_owner[i] >= 0)
            o += (size_t)snprintf(want + o, sizeof want - o, " *4 \"%d-0\" \"%s\"", i + 1,
                                  cons_names[pend_owner[i]]);
    /* idle and delivery counts vary: compare ids and owners only */
    const char *r = both(a, b, "XPENDING s g - + 1000000");
    char got[1 << 16];
    size_t g = 0;
    const char *p = r;
    int tok = 0;
    while (*p) {
        const char *e = strchr(p, ' ');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        int skip = tok > 0 && ((tok - 1) % 5 == 3 || (tok - 1) % 5 == 4);
        if (!skip) {
            if (g) got[g++] = ' ';
            memcpy(got + g, p, l);
            g += l;
        }
        tok++;
        p += l;
        if (*p) p++;
    }
    got[g] = 0;
    assert_string_equal(got, want);
}

static void stream_groups_match_model(void **state)
{
    (void)state;
    seed_for("stream_groups_match_model");
    data_store *a = data_create(), *b = data_create();
    t_now_ms = 1000000;
    char line[256];
    for (int i = 0; i < GM_IDS; i++)
        pend_owner[i] = -1, exists_[i] = 0;
    int next = 0, last_delivered = 0; /* ids are (k+1)-0 */
    both(a, b, "XGROUP CREATE s g 0 MKSTREAM");
    for (int step = 0; step < 4000; step++) {
        int op = rn(16), who = rn(3);
        t_now_ms += rn(50);
        if (op < 4 && next < GM_IDS) {
            snprintf(line, sizeof line, "XADD s %d-0 f v", next + 1);
            both(a, b, line);
            exists_[next++] = 1;
        } else if (op < 7) {
            int count = rn(4), noack = rn(6) == 0;
            snprintf(line, sizeof line, "XREADGROUP GROUP g %s%s%s%d STREAMS s >", cons_names[who],
                     noack ? " NOACK" : "", count ? " COUNT " : " COUNT ", count);
            both(a, b, line);
            int served = 0;
            for (int k = last_delivered; k < next && (!count || served < count); k++) {
                if (!exists_[k]) continue;
                served++;
                if (!noack) pend_owner[k] = who;
                last_delivered = k + 1;
            }
        } else if (op < 9) {
            int k = rn(GM_IDS);
            snprintf(line, sizeof line, "XACK s g %d-0", k + 1);
            const char *r = both(a, b, line);
            assert_string_equal(r, pend_owner[k] >= 0 ? ":1" : ":0");
            pend_owner[k] = -1;
        } else if (op < 11) {
            int k = rn(next ? next : 1);
            snprintf(line, sizeof line, "XCLAIM s g %s 0 %d-0 JUSTID", cons_names[who], k + 1);
            both(a, b, line);
            if (pend_owner[k] >= 0) pend_owner[k] = exists_[k] ? who : -1;
        } else if (op == 11) {
            snprintf(line, sizeof line, "XAUTOCLAIM s g %s 0 0 COUNT %d JUSTID", cons_names[who],
                     1 + rn(5));
            const char *r = both(a, b, line);
            /* reply: *3 cursor *n ids... *m deleted... : apply to the model */
            const char *p = strchr(r, ' ') + 1;
            p = strchr(p, ' ') + 1; /* past the cursor */
            int n = atoi(p + 1);
            for (int i = 0; i < n; i++) {
                p = strchr(p, ' ') + 1;
                pend_owner[atoi(p + 1) - 1] = who;
            }
            p = strchr(p, ' ') + 1;
            int m = atoi(p + 1);
            for (int i = 0; i < m; i++) {
                p = strchr(p, ' ') + 1;
                pend_owner[atoi(p + 1) - 1] = -1;
            }
        } else if (op == 12 && next) {
            int k = rn(next);
            snprintf(line, sizeof line, "XDEL s %d-0", k + 1);
            both(a, b, line);
            exists_[k] = 0; /* stays pending until claimed or acked */
        } else if (op == 13 && rn(4) == 0) {
            snprintf(line, sizeof line, "XGROUP DELCONSUMER s g %s", cons_names[who]);
            both(a, b, line);
            for (int i = 0; i < GM_IDS; i++)
                if (pend_owner[i] == who) pend_owner[i] = -1;
        } else if (op == 14 && rn(5) == 0) {
            int k = rn(next + 1);
            snprintf(line, sizeof line, "XGROUP SETID s g %d-0", k);
            both(a, b, line);
            last_delivered = k;
        } else if (op == 15) {
            both(a, b, "XINFO STREAM s FULL COUNT 0");
            both(a, b, "XINFO GROUPS s");
            if (rn(8) == 0) reload(b);
        }
        if (step % 50 == 0) check_pending(a, b);
    }
    check_pending(a, b);
    data_destroy(a);
    data_destroy(b);
}

/* ---- snapshots ---- */

static void build_sample(data_store *ds)
{
    t_now_ms = 7000;
    char line[128];
    for (int i = 1; i <= 230; i++) {
        snprintf(line, sizeof line, "XADD s %d-%d f%d v%d g x", i, i % 3, i, i);
        rec_run(ds, line, NULL);
    }
    assert_reply(ds, "XDEL s 5-2 100-1", ":2");
    assert_reply(ds, "XGROUP CREATE s g1 0", "+OK");
    assert_reply(ds, "XGROUP CREATE s g0 $ ENTRIESREAD 3", "+OK");
    rec_run(ds, "XREADGROUP GROUP g1 c2 COUNT 7 STREAMS s >", NULL);
    t_now_ms = 7100;
    rec_run(ds, "XREADGROUP GROUP g1 c1 COUNT 3 STREAMS s >", NULL);
    rec_run(ds, "XCLAIM s g1 c3 0 2-2 3-0 IDLE 20 RETRYCOUNT 5", NULL);
    rec_run(ds, "XGROUP CREATECONSUMER s g0 lonely", NULL);
    assert_reply(ds, "XADD e 1-1 a b", "\"1-1\"");
    assert_reply(ds, "XDEL e 1-1", ":1");
    assert_reply(ds, "PEXPIREAT e 99999999999", ":1");
}

static void stream_snapshot_round_trip(void **state)
{
    (void)state;
    data_store *ds = data_create();
    build_sample(ds);
    char *before = run_dup(ds, "XINFO STREAM s FULL COUNT 0");
    char *before_e = run_dup(ds, "XINFO STREAM e FULL");
    sbuf b = snap(ds);
    data_store *other = data_create();
    assert_int_equal(data_set_hash_seed(other, 7, 9), 0);
    assert_int_equal(data_snapshot_load(other, b.p, b.len), 0);
    char *after = run_dup(other, "XINFO STREAM s FULL COUNT 0");
    assert_string_equal(before, after);
    assert_reply(other, "XINFO STREAM e FULL", before_e);
    assert_reply(other, "PEXPIRETIME e", ":99999999999");
    /* the chunks survived: approximate trimming removes the same entries */
    char *t1 = run_dup(ds, "XTRIM s MAXLEN ~ 50");
    assert_reply(other, "XTRIM s MAXLEN ~ 50", t1);
    assert_string_equal(t1, ":98"); /* the first chunk: 100 appends, 2 deleted (as Redis 7.0) */
    free(t1);
    free(after), free(before), free(before_e), free(b.p);
    data_destroy(ds);
    data_destroy(other);
}

/* Replaces the trailer CRC after an edit of the record area. */
static void fix_crc(sbuf *b)
{
    uint32_t crc = crc32c(0, b->p, b->len - 4);
    for (int i = 0; i < 4; i++)
        b->p[b->len - 4 + (size_t)i] = (unsigned char)(crc >> (8 * i));
}

/* Offset of the stream body (after kind, flags, key "s") in a one-stream snapshot. */
static size_t body_off(void)
{
    return 16 + 1 + 1 + 4 + 1;
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void stream_snapshot_rejects_corruption(void **state)
{
    (void)state;
    seed_for("stream_snapshot_rejects_corruption");
    data_store *src = data_create();
    t_now_ms = 7000;
    assert_reply(src, "XADD s 1-1 a b", "\"1-1\"");
    assert_reply(src, "XADD s 2-1 c d", "\"2-1\"");
    assert_reply(src, "XGROUP CREATE s g 0", "+OK");
    rec_run(src, "XREADGROUP GROUP g c STREAMS s >", NULL);
    sbuf good = snap(src);
    data_store *ds = data_create();
    assert_reply(ds, "SET keep me", "+OK");
    size_t o = body_off();
    /* body: last(16) maxdel(16) added(8) nchunks(8) | chunk: added(4) last(16) n(4) | entry:
     * id(16) nfields(4) "a"(5) "b"(5) | entry 2 ... */
    size_t chunk = o + 48, e1 = chunk + 24, e2 = e1 + 16 + 4 + 10;
    struct {
        const char *what;
        size_t at;
        uint64_t v;
        int bytes;
    } bad[] = {
        {"entries_added below the length", o + 32, 1, 8},
        {"last id below the last entry", o, 1, 8},
        {"no chunks but entries follow", o + 40, 0, 8},
        {"chunk with n = 0", chunk + 20, 0, 4},
        {"chunk n above added", chunk + 20, 3, 4},
        {"chunk added above 100", chunk, 101, 4},
        {"ids not ascending", e2, 1, 8},
        {"entry with no fields", e1 + 16, 0, 4},
        {"field length past the end", e1 + 20, 1u << 30, 4},
        {"chunk last below its entries", chunk + 4, 1, 8},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sbuf b = {malloc(good.len), good.len};
        memcpy(b.p, good.p, good.len);
        put_le(b.p + bad[i].at, bad[i].v, bad[i].bytes);
        fix_crc(&b);
        int rc = data_snapshot_load(ds, b.p, b.len);
        if (rc != DATA_SNAPSHOT_ECORRUPT) fail_msg("%s: loaded (rc %d)", bad[i].what, rc);
        assert_reply(ds, "GET keep", "\"me\"");
        free(b.p);
    }
    /* group part: find it after the entries (the last 4 + name... bytes): a consumer index out
     * of range and an unsorted pair of names, crafted from the tail */
    {
        sbuf b = {malloc(good.len), good.len};
        memcpy(b.p, good.p, good.len);
        /* the last nack's consumer index sits just before the end record (13 bytes) */
        put_le(b.p + b.len - 13 - 4, 1, 4);
        fix_crc(&b);
        assert_int_equal(data_snapshot_load(ds, b.p, b.len), DATA_SNAPSHOT_ECORRUPT);
        free(b.p);
    }
    /* entries_added past 2^63 (a flipped top bit): the group's lag must not overflow (UBSan) */
    {
        sbuf b = {malloc(good.len), good.len};
        memcpy(b.p, good.p, good.len);
        put_le(b.p + o + 32, 0x8000000000000000ull, 8);
        fix_crc(&b);
        data_store *t = data_create();
        if (data_snapshot_load(t, b.p, b.len) == 0) rec_run(t, "XINFO GROUPS s", NULL);
        data_destroy(t);
        free(b.p);
    }
    /* the same reached by commands: ENTRIESADDED at the top, one more XADD, a read */
    {
        data_store *t = data_create();
        assert_reply(t, "XADD s 1-1 a b", "\"1-1\"");
        assert_reply(t, "XGROUP CREATE s g 0 ENTRIESREAD 9223372036854775807", "+OK");
        assert_reply(t, "XSETID s 1-1 ENTRIESADDED 9223372036854775807", "+OK");
        assert_reply(t, "XADD s 2-1 c d", "\"2-1\"");
        rec_run(t, "XREADGROUP GROUP g c STREAMS s >", NULL);
        rec_run(t, "XINFO GROUPS s", NULL);
        sbuf again = snap(t);
        data_store *u = data_create();
        assert_int_equal(data_snapshot_load(u, again.p, again.len), 0);
        rec_run(u, "XINFO GROUPS s", NULL);
        free(again.p);
        data_destroy(u);
        data_destroy(t);
    }
    /* random mutations of the record area (CRC fixed): never a crash; a loaded store works */
    for (int it = 0; it < 3000; it++) {
        sbuf b = {malloc(good.len), good.len};
        memcpy(b.p, good.p, good.len);
        int flips = 1 + rn(3);
        for (int f = 0; f < flips; f++)
            b.p[o + (size_t)rn((int)(good.len - 13 - o))] ^= (unsigned char)(1u << rn(8));
        fix_crc(&b);
        data_store *t = data_create();
        if (data_snapshot_load(t, b.p, b.len) == 0) {
            rec_run(t, "XINFO STREAM s FULL", NULL);
            rec_run(t, "XADD s * z z", NULL);
            rec_run(t, "XREADGROUP GROUP g c STREAMS s 0", NULL);
            sbuf again = snap(t);
            free(again.p);
        }
        data_destroy(t);
        free(b.p);
    }
    /* the good one loads */
    assert_int_equal(data_snapshot_load(ds, good.p, good.len), 0);
    assert_reply(ds, "XPENDING s g", "*4 :2 \"1-1\" \"2-1\" *1 *2 \"c\" \"2\"");
    free(good.p);
    data_destroy(src);
    data_destroy(ds);
}

/* The driver's side of blocking XREAD / XREADGROUP (data.h): when they may block, what
 * data_exec_block says to wait for, when a waiter would read (or must get an error), and the
 * stored retry arguments with XREAD's `$` resolved. */
static data_arg *split_args(const char *line, int *argc, char **store)
{
    static data_arg argv[REC_MAX_ARGS];
    *store = malloc(strlen(line) + 1);
    *argc = rec_split(line, *store, argv);
    return argv;
}

static int may_block(const char *line)
{
    char *store;
    int argc;
    data_arg *argv = split_args(line, &argc, &store);
    int r = data_cmd_may_block(data_cmd_lookup(argv[0].ptr, argv[0].len), argc, argv);
    free(store);
    return r;
}

static int wake_by(data_store *ds, const char *line, const char *key, const char **err)
{
    char *store;
    int argc;
    data_arg *argv = split_args(line, &argc, &store);
    *err = NULL;
    int r = data_block_stream_wake(ds, argc, argv, key, strlen(key), t_now_ms, err);
    free(store);
    return r;
}

static int wake(data_store *ds, const char *line, const char **err)
{
    return wake_by(ds, line, "s", err);
}

static void block_of(data_store *ds, const char *line, data_block *blk)
{
    char *store;
    int argc;
    data_arg *argv = split_args(line, &argc, &store);
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    (void)data_exec_block(ds, data_cmd_lookup(argv[0].ptr, argv[0].len), argc, argv, t_now_ms,
                          &rec_ops, &t_rec, blk);
    free(store);
}

static void stream_blocking(void **state)
{
    (void)state;
    data_store *ds = data_create();
    t_now_ms = 1000;
    assert_int_equal(may_block("XREAD STREAMS s $"), 0);
    assert_int_equal(may_block("XREAD COUNT 2 BLOCK 0 STREAMS s $"), 1);
    assert_int_equal(may_block("XREADGROUP GROUP g c STREAMS s >"), 0);
    assert_int_equal(may_block("XREADGROUP GROUP g c BLOCK 5 STREAMS s >"), 1);
    assert_int_equal(may_block("XREAD STREAMS block 0"), 0); /* a key named block */
    assert_int_equal(may_block("BLPOP l 0"), 1);

    /* nothing to read: block on the STREAMS keys, no reply; something: served at once */
    data_block blk;
    assert_reply(ds, "XADD s 5-1 a 1", "\"5-1\"");
    block_of(ds, "XREAD BLOCK 250 STREAMS s t $ 0", &blk);
    assert_string_equal(t_rec.buf, "");
    assert_int_equal(blk.blocked, 1);
    assert_int_equal(blk.type, DATA_BLOCK_STREAM);
    assert_int_equal(blk.first_key, 4);
    assert_int_equal(blk.n_keys, 2);
    assert_int_equal(blk.timeout_ms, 250);
    data_reply_timeout(&blk, &rec_ops, &t_rec);
    assert_string_equal(t_rec.buf, "(nil-array)");
    block_of(ds, "XREAD BLOCK 250 STREAMS s 0", &blk);
    assert_int_equal(blk.blocked, 0);
    assert_string_equal(t_rec.buf, "*1 *2 \"s\" *1 *2 \"5-1\" *2 \"a\" \"1\"");
    block_of(ds, "XREAD BLOCK x STREAMS s $", &blk); /* bad arguments: an error, no block */
    assert_int_equal(blk.blocked, 0);
    assert_string_equal(t_rec.buf, "-ERR timeout is not an integer or out of range");

    /* retry arguments: `$` becomes the stream's last id (0-0 for a missing key) */
    {
        char *store, scratch[200];
        int argc;
        data_arg *argv = split_args("XREAD BLOCK 0 STREAMS s t s $ $ 3-0", &argc, &store);
        data_arg out[REC_MAX_ARGS];
        assert_int_equal(data_block_retry_args(ds, argc, argv, t_now_ms, out, scratch, 200), argc);
        assert_memory_equal(out[4].ptr, "s", 1); /* keys and options as they were */
        assert_int_equal(out[7].len, 3);
        assert_memory_equal(out[7].ptr, "5-1", 3);
        assert_int_equal(out[8].len, 3);
        assert_memory_equal(out[8].ptr, "0-0", 3);
        assert_int_equal(out[9].len, 3);
        assert_memory_equal(out[9].ptr, "3-0", 3);
        assert_int_equal(data_block_retry_args(ds, argc, argv, t_now_ms, out, scratch, 40), -1);
        free(store);
    }

    /* wake-ups: XREAD by the key written, when its stream's last id is past the client's */
    const char *err;
    assert_int_equal(wake(ds, "XREAD BLOCK 0 STREAMS s 5-1", &err), DATA_WAKE_NONE);
    assert_int_equal(wake(ds, "XREAD BLOCK 0 STREAMS t s 0-0 5-0", &err), DATA_WAKE_READ);
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS t s 0-0 5-0", "t", &err), DATA_WAKE_NONE);
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS t s 0-0 5-0", "u", &err), DATA_WAKE_NONE);
    /* the retry: XREAD_WOKEN with the options and the waking key's stream alone */
    {
        char *store;
        int argc;
        data_arg *argv =
            split_args("XREAD COUNT 3 BLOCK 0 STREAMS t s s 0-0 5-0 4-0", &argc, &store);
        data_arg out[REC_MAX_ARGS];
        assert_int_equal(data_block_woken_args(argc, argv, "s", 1, out), 8);
        assert_memory_equal(out[0].ptr, "XREAD_WOKEN", 11);
        assert_memory_equal(out[3].ptr, "BLOCK", 5);
        assert_memory_equal(out[6].ptr, "s", 1);
        assert_int_equal(out[7].len, 3);
        assert_memory_equal(out[7].ptr, "5-0", 3); /* the first occurrence's id */
        assert_int_equal(data_block_woken_args(argc, argv, "x", 1, out), argc); /* not a key */
        free(store);
        /* a group reader too: XREADGROUP_WOKEN with the waking key alone */
        argv = split_args("XREADGROUP GROUP g c BLOCK 0 STREAMS t s > >", &argc, &store);
        assert_int_equal(data_block_woken_args(argc, argv, "s", 1, out), 9);
        assert_int_equal(out[0].len, 16);
        assert_memory_equal(out[0].ptr, "XREADGROUP_WOKEN", 16);
        assert_memory_equal(out[7].ptr, "s", 1);
        assert_memory_equal(out[8].ptr, ">", 1);
        free(store);
        argv = split_args("XREADGROUP_WOKEN GROUP g c BLOCK 0 STREAMS s >", &argc, &store);
        assert_int_equal(data_block_woken_args(argc, argv, "s", 1, out), argc);
        free(store);
        argv = split_args("BLPOP s 0", &argc, &store);
        assert_int_equal(data_block_woken_args(argc, argv, "s", 1, out), argc); /* as it was */
        assert_memory_equal(out[0].ptr, "BLPOP", 5);
        free(store);
    }
    /* an entry added and trimmed at once still wakes (and serves [s, []]); a last id raised by
     * XSETID alone does not (Redis signals no key on XSETID), an XADD after it does */
    assert_reply(ds, "XADD w 1-1 a 1", "\"1-1\"");
    assert_reply(ds, "XADD w MAXLEN 0 2-1 a 1", "\"2-1\"");
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS w 1-1", "w", &err), DATA_WAKE_READ);
    assert_reply(ds, "XREAD_WOKEN BLOCK 0 STREAMS w 1-1", "*1 *2 \"w\" *0");
    assert_reply(ds, "XREAD BLOCK 0 STREAMS w 1-1", "(nil-array)"); /* not woken: it blocks */
    assert_reply(ds, "XSETID w 9-0", "+OK");
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS w 2-1", "w", &err), DATA_WAKE_NONE);
    assert_reply(ds, "XADD w 10-1 b 2", "\"10-1\"");
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS w 2-1", "w", &err), DATA_WAKE_READ);
    assert_reply(ds, "XREAD_WOKEN BLOCK 0 STREAMS w 10-1", "(nil-array)"); /* nothing past */
    /* an XADD after XSETID ends XSETID's exception: added and trimmed at once, it wakes */
    assert_reply(ds, "XSETID w 20-0", "+OK");
    assert_reply(ds, "XADD w MAXLEN 0 21-1 c 3", "\"21-1\"");
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS w 10-1", "w", &err), DATA_WAKE_READ);
    assert_reply(ds, "SET t x", "+OK"); /* another type: still waiting, as Redis */
    assert_int_equal(wake_by(ds, "XREAD BLOCK 0 STREAMS t 0-0", "t", &err), DATA_WAKE_NONE);
    /* XREADGROUP when entries past the group's last id exist; errors when the group or key
     * went away */
    assert_reply(ds, "XGROUP CREATE s g $", "+OK");
    const char *rg = "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >";
    assert_int_equal(wake(ds, rg, &err), DATA_WAKE_NONE);
    assert_reply(ds, "XADD s 6-1 b 2", "\"6-1\"");
    assert_int_equal(wake(ds, rg, &err), DATA_WAKE_CONSUME);
    /* by the key written only: v (its group has nothing new) does not wake it for s */
    assert_reply(ds, "XGROUP CREATE v g $ MKSTREAM", "+OK");
    assert_int_equal(wake_by(ds, "XREADGROUP GROUP g alice BLOCK 0 STREAMS v s > >", "v", &err),
                     DATA_WAKE_NONE);
    assert_int_equal(wake_by(ds, "XREADGROUP GROUP g alice BLOCK 0 STREAMS v s > >", "s", &err),
                     DATA_WAKE_CONSUME);
    assert_reply(ds, "XREADGROUP GROUP g bob STREAMS s >",
                 "*1 *2 \"s\" *1 *2 \"6-1\" *2 \"b\" \"2\"");
    assert_int_equal(wake(ds, rg, &err), DATA_WAKE_NONE);
    /* an entry added and gone: Redis 7.0 still serves a woken group reader (the stream's last
     * id passed the group's): the retry, XREADGROUP_WOKEN, replies [s, []] and creates the
     * consumer; a first XREADGROUP in that state finds nothing and creates no one */
    assert_reply(ds, "XADD s 7-1 c 3", "\"7-1\"");
    assert_reply(ds, "XDEL s 7-1", ":1");
    assert_int_equal(wake(ds, rg, &err), DATA_WAKE_CONSUME);
    block_of(ds, rg, &blk);
    assert_int_equal(blk.blocked, 1);
    assert_string_equal(t_rec.buf, "");
    {
        char *store, scratch[200];
        int argc;
        data_arg *argv = split_args(rg, &argc, &store);
        data_arg out[REC_MAX_ARGS];
        assert_int_equal(data_block_retry_args(ds, argc, argv, t_now_ms, out, scratch, 200), argc);
        assert_int_equal(out[0].len, 16);
        assert_memory_equal(out[0].ptr, "XREADGROUP_WOKEN", 16);
        free(store);
    }
    assert_reply(ds, "XREADGROUP_WOKEN GROUP g alice BLOCK 0 STREAMS s >", "*1 *2 \"s\" *0");
    assert_reply(ds, "XINFO GROUPS s",
                 "*1 %6 \"name\" \"g\" \"consumers\" :2 \"pending\" :1 \"last-delivered-id\" "
                 "\"6-1\" \"entries-read\" :2 \"lag\" (nil)");
    assert_reply(ds, "XREADGROUP GROUP g carol BLOCK 0 STREAMS s >", "(nil-array)");
    assert_reply(ds, "XREADGROUP GROUP g carol STREAMS s >", "(nil-array)");
    assert_reply(ds, "XGROUP DESTROY s g", ":1");
    assert_int_equal(wake(ds, rg, &err), DATA_WAKE_ERROR);
    assert_string_equal(err, "NOGROUP the consumer group this client was blocked on no longer "
                             "exists");
    assert_reply(ds, "DEL s", ":1");
    assert_int_equal(wake(ds, rg, &err), DATA_WAKE_ERROR);
    assert_string_equal(err, "UNBLOCKED the stream key no longer exists");
    data_destroy(ds);
}

/* stream-node-max-entries: the leader's value travels in the entry (XADD_EFFECT / XTRIM_EFFECT),
 * so a replica with another setting builds the same chunks and trims the same entries. */
static void stream_node_max_entries(void **state)
{
    (void)state;
    data_store *leader = data_create(), *replica = data_create();
    t_now_ms = 1000;
    data_arg out[16];
    char scratch[64];
    char *store;
    int argc;
    data_arg *argv = split_args("XADD s 1-1 f v", &argc, &store);
    const data_cmd *xadd = data_cmd_lookup("xadd", 4);
    assert_int_equal(data_rewrite(leader, xadd, argc, argv, t_now_ms, out, 16, scratch, 64), 0);
    data_set_stream_node_max_entries(leader, 2);
    data_set_stream_node_max_entries(replica, 50); /* never used to apply */
    free(store);
    for (int i = 1; i <= 7; i++) {
        char line[64];
        snprintf(line, sizeof line, "XADD s %d-1 f v", i);
        argv = split_args(line, &argc, &store);
        int k = data_rewrite(leader, xadd, argc, argv, t_now_ms, out, 16, scratch, 64);
        assert_int_equal(k, argc + 1);
        assert_memory_equal(out[0].ptr, "XADD_EFFECT", 11);
        assert_memory_equal(out[1].ptr, "2", 1);
        for (data_store *ds = leader; ds; ds = ds == leader ? replica : NULL) {
            int dirty;
            rec_exec_argv(ds, k, out, &dirty);
            assert_int_equal(dirty, 1);
        }
        free(store);
    }
    argv = split_args("XTRIM s MAXLEN ~ 2", &argc, &store);
    int k = data_rewrite(leader, data_cmd_lookup("xtrim", 5), argc, argv, t_now_ms, out, 16,
                         scratch, 64);
    assert_int_equal(k, argc + 1);
    assert_memory_equal(out[0].ptr, "XTRIM_EFFECT", 12);
    for (data_store *ds = leader; ds; ds = ds == leader ? replica : NULL) {
        assert_string_equal(rec_exec_argv(ds, k, out, NULL), ":4"); /* chunks of 2: 7 -> 3 */
        assert_reply(ds, "XLEN s", ":3");
        assert_reply(ds, "XRANGE s - + COUNT 1", "*1 *2 \"5-1\" *2 \"f\" \"v\"");
    }
    free(store);
    /* the plain commands use 100 whatever the store's setting; the effects check n */
    assert_reply(replica, "XADD u 1-1 f v", "\"1-1\"");
    assert_reply(replica, "XADD_EFFECT 0 u 2-1 f v", "-ERR stream-node-max-entries must be 1..100");
    assert_reply(replica, "XADD_EFFECT 101 u 2-1 f v",
                 "-ERR stream-node-max-entries must be 1..100");
    assert_reply(replica, "XADD_EFFECT 2 u 2-1 f v g",
                 "-ERR wrong number of arguments for 'xadd' command");
    assert_reply(replica, "XTRIM_EFFECT 2 u FOO 1", "-ERR syntax error");
    data_destroy(leader);
    data_destroy(replica);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_ids_and_errors),
        cmocka_unit_test(stream_trimming),
        cmocka_unit_test(stream_trim_bounds),
        cmocka_unit_test(stream_groups_fixed),
        cmocka_unit_test(stream_idle_bounds),
        cmocka_unit_test(stream_group_bounds),
        cmocka_unit_test(stream_blocking),
        cmocka_unit_test(stream_node_max_entries),
        cmocka_unit_test(stream_commands_match_model),
        cmocka_unit_test(stream_groups_match_model),
        cmocka_unit_test(stream_snapshot_round_trip),
        cmocka_unit_test(stream_snapshot_rejects_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
