/* test_script.c — the scripting engine against the data layer: conversions both ways (RESP2 and
 * RESP3), the sandbox, determinism of replicated runs (same entry time and seed on stores with
 * different hash seeds give the same dataset), the EVALSHA rewrite, and functions (load, call,
 * dump/restore, rebuilt from a snapshot). Replies render as in test_data_recorder.h; RESP3
 * elements sent raw (booleans ...) render as their bytes without CRLF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "script/script.h"
#include "util/crc32c.h"
#include "test_data_recorder.h"

typedef struct {
    data_store *ds;
    script_engine *se;
} eng;

static eng eng_new(uint64_t hash_seed)
{
    eng e;
    e.ds = data_create();
    assert_non_null(e.ds);
    assert_int_equal(data_set_hash_seed(e.ds, hash_seed, hash_seed * 3 + 1), 0);
    e.se = script_create(e.ds);
    assert_non_null(e.se);
    return e;
}

static void eng_free(eng *e)
{
    script_destroy(e->se);
    data_destroy(e->ds);
}

static void raw(void *ctx, const char *p, size_t n)
{
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r'))
        n--;
    rec_put(ctx, p, n);
}

static int t_resp3;          /* the caller's protocol */
static int t_replicated = 1; /* run as an applied entry */
static uint64_t t_seed = 42;

/* Runs a scripting command line in env (its time, seed and replicated flag set here): the
 * rendered reply. */
static const char *sx_in(eng *e, const char *line, script_env env)
{
    static data_arg argv[REC_MAX_ARGS];
    static char store[1 << 16];
    assert_true(strlen(line) < sizeof store);
    int argc = rec_split(line, store, argv);
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    env.now_ms = t_now_ms;
    env.seed = t_seed;
    script_out out = {&rec_ops, &t_rec, raw, t_resp3, NULL};
    (void)script_exec(e->se, argc, argv, &env, &out);
    return t_rec.buf;
}

/* Runs a scripting command line: the rendered reply. */
static const char *sx(eng *e, const char *line)
{
    return sx_in(e, line, (script_env){.replicated = t_replicated});
}

#define assert_script(e, line, want)                                                               \
    do {                                                                                           \
        const char *got_ = sx((e), (line));                                                        \
        if (strcmp(got_, (want)) != 0)                                                             \
            fail_msg("%s:%d: %s\n   got: %s\n  want: %s", __FILE__, __LINE__, (line), got_,        \
                     (want));                                                                      \
    } while (0)

/* "-ERR msg script: <sha>, on @user_script:1." -> compare the part before " script: " */
#define assert_script_err(e, line, want_prefix)                                                    \
    do {                                                                                           \
        const char *got_ = sx((e), (line));                                                        \
        if (strncmp(got_, (want_prefix), strlen(want_prefix)) != 0)                                \
            fail_msg("%s:%d: %s\n   got: %s\n  want: %s...", __FILE__, __LINE__, (line), got_,     \
                     (want_prefix));                                                               \
    } while (0)

static void redis_to_lua_and_back(void **state)
{
    (void)state;
    eng e = eng_new(1);
    t_resp3 = 0;
    assert_reply(e.ds, "HSET h f v", ":1");
    assert_script(&e, "EVAL \"return redis.call('hgetall', 'h')\" 0", "*2 \"f\" \"v\"");
    assert_script(&e, "EVAL \"return redis.call('set', 'k', 'v')\" 0", "+OK");
    assert_script(&e, "EVAL \"return redis.call('get', 'nokey')\" 0", "(nil)");
    assert_script(&e, "EVAL \"return type(redis.call('get', 'nokey'))\" 0", "\"boolean\"");
    assert_script(&e, "EVAL \"return redis.pcall('incr', 'h')\" 0",
                  "-WRONGTYPE Operation against a key holding the wrong kind of value");
    assert_script(&e, "EVAL \"return redis.call('incr', 'n') + 0.5\" 0", ":1");
    assert_script(&e, "EVAL \"return 3.99\" 0", ":3");
    assert_script(&e, "EVAL \"return -3.99\" 0", ":-3");
    assert_script(&e, "EVAL \"return {1, 'a', {2, {3}}, true, false}\" 0",
                  "*5 :1 \"a\" *2 :2 *1 :3 :1 (nil)");
    assert_script(&e, "EVAL \"return {1, 2, nil, 4}\" 0", "*2 :1 :2");
    assert_script(&e, "EVAL \"return {ok = 'fine'}\" 0", "+fine");
    assert_script(&e, "EVAL \"return {err = 'BAD thing'}\" 0", "-BAD thing");
    assert_script(&e, "EVAL \"return redis.error_reply('My Error')\" 0", "-My Error");
    assert_script(&e, "EVAL \"return redis.status_reply('FINE')\" 0", "+FINE");
    assert_script(&e, "EVAL \"return {double = 1.5}\" 0", ",1.5");
    assert_script(&e, "EVAL \"return KEYS[1] .. ARGV[2]\" 1 a b c", "\"ac\"");
    /* a double reply converted as RESP2 sends it (a string) */
    assert_reply(e.ds, "ZADD z 1.5 m", ":1");
    assert_script(&e, "EVAL \"return redis.call('zscore', 'z', 'm')\" 0", "\"1.5\"");
    /* RESP3 inside the script */
    assert_script(&e, "EVAL \"redis.setresp(3); return redis.call('hgetall', 'h')\" 0",
                  "%1 \"f\" \"v\"");
    assert_script(&e, "EVAL \"redis.setresp(3); return redis.call('zscore', 'z', 'm').double\" 0",
                  ":1");
    assert_script(&e, "EVAL \"redis.setresp(3); return type(redis.call('get', 'nokey'))\" 0",
                  "\"nil\"");
    assert_script(&e, "EVAL \"redis.setresp(3); return true\" 0", ":1");
    t_resp3 = 1;
    assert_script(&e, "EVAL \"redis.setresp(3); return true\" 0", "#t");
    assert_script(&e, "EVAL \"redis.setresp(3); return false\" 0", "#f");
    assert_script(&e, "EVAL \"return {big_number = '123'}\" 0", "(123");
    assert_script(&e, "EVAL \"return {set = {a = true}}\" 0", "~1 \"a\"");
    t_resp3 = 0;
    assert_script(&e, "EVAL \"return {set = {a = true}}\" 0", "~1 \"a\"");
    assert_script_err(&e, "EVAL \"redis.setresp(4)\" 0", "-ERR RESP version must be 2 or 3.");
    /* redis.call errors raise, with the script's sha and line */
    assert_script(&e, "EVAL \"return redis.call('incr', 'h')\" 0",
                  "-WRONGTYPE Operation against a key holding the wrong kind of value script: "
                  "8b0ab7376b00abdc7d1e9c407abb98f4dab69fc2, on @user_script:1.");
    assert_script_err(&e, "EVAL \"return redis.call('nosuch')\" 0",
                      "-ERR Unknown Redis command called from script");
    assert_script_err(&e, "EVAL \"return redis.call('get')\" 0",
                      "-ERR Wrong number of args calling Redis command from script");
    assert_script_err(&e, "EVAL \"return redis.call('eval', 'return 1', 0)\" 0",
                      "-ERR This Redis command is not allowed from script");
    assert_script_err(&e, "EVAL \"return redis.call({})\" 0",
                      "-ERR Lua redis lib command arguments must be strings or integers");
    assert_script(&e, "EVAL \"return redis.call('time')[1]\" 0", "\"1700000000\"");
    eng_free(&e);
}

static void sandbox(void **state)
{
    (void)state;
    eng e = eng_new(1);
    assert_script_err(&e, "EVAL \"return a\" 0",
                      "-ERR user_script:1: Script attempted to access nonexistent global variable "
                      "'a'");
    assert_script_err(&e, "EVAL \"a = 1\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    static const char *const gone[] = {"os",      "io",      "loadfile", "dofile",
                                       "require", "print",   "debug",    "getfenv",
                                       "setfenv", "package", "module"};
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
        char line[128], want[160];
        snprintf(line, sizeof line, "EVAL \"return %s\" 0", gone[i]);
        snprintf(want, sizeof want,
                 "-ERR user_script:1: Script attempted to access nonexistent global variable "
                 "'%s'",
                 gone[i]);
        assert_script_err(&e, line, want);
    }
    assert_script_err(&e, "EVAL \"redis.call = nil\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"cjson.encode = nil\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"string.upper = nil\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"getmetatable('').__index.upper = nil\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"getmetatable(_G).__index = {}\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"setmetatable(_G, {})\" 0",
                      "-ERR Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"rawset(_G, 'x', 1)\" 0",
                      "-ERR Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"rawset(redis, 'call', 1)\" 0",
                      "-ERR Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"return loadstring('y = 1')()\" 0",
                      "-ERR [string \"y = 1\"]:1: Attempt to modify a readonly table");
    /* the libraries still work, and nothing leaked into the next script */
    assert_script(&e, "EVAL \"return ('abc'):upper() .. cjson.encode({1}) .. bit.tohex(255, 2)\" 0",
                  "\"ABC[1]ff\"");
    assert_script(&e, "EVAL \"return string.upper('x')\" 0", "\"X\"");
    assert_script(&e, "EVAL \"local t = {} ; t.x = 1 ; return t.x\" 0", ":1");
    assert_script(&e, "EVAL \"return redis.REDIS_VERSION\" 0", "\"7.0.15\"");
    /* read-only runs refuse writes */
    assert_script_err(&e, "EVAL_RO \"return redis.call('set', 'a', 'b')\" 0",
                      "-ERR Write commands are not allowed from read-only scripts.");
    assert_script_err(&e, "EVAL \"#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')\" 0",
                      "-ERR Write commands are not allowed from read-only scripts.");
    assert_script(&e, "EVAL_RO \"#!lua\nreturn 1\" 0",
                  "-ERR Can not execute a script with write flag using *_ro command.");
    assert_script(&e, "EVAL \"#!lua flags=bogus\nreturn 1\" 0",
                  "-ERR Unexpected flag in script shebang: bogus");
    assert_script(&e, "EVAL \"return 1\" 2 a",
                  "-ERR Number of keys can't be greater than number "
                  "of args");
    assert_script(&e, "EVAL \"return 1\" -1", "-ERR Number of keys can't be negative");
    assert_script_err(&e, "EVAL \"return (\" 0",
                      "-ERR Error compiling script (new function): user_script:1:");
    eng_free(&e);
}

/* The dataset as sorted text (stores with different hash seeds iterate differently). */
static char *digest(data_store *ds)
{
    const char *keys = rec_run(ds, "KEYS *", NULL);
    char *k = strdup(keys);
    char *out = calloc(1, 1 << 16);
    char *save = NULL;
    char *names[256];
    int n = 0;
    for (char *t = strtok_r(k, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (t[0] == '"' && n < 256) names[n++] = t;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *x = names[i];
                names[i] = names[j], names[j] = x;
            }
    for (int i = 0; i < n; i++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "TYPE %s", names[i]);
        char type[32];
        const char *ty = rec_run(ds, cmd, NULL);
        size_t tl = strlen(ty) < sizeof type - 1 ? strlen(ty) : sizeof type - 1;
        memcpy(type, ty, tl);
        type[tl] = '\0';
        if (strcmp(type, "+string") == 0)
            snprintf(cmd, sizeof cmd, "GET %s", names[i]);
        else if (strcmp(type, "+list") == 0)
            snprintf(cmd, sizeof cmd, "LRANGE %s 0 -1", names[i]);
        else if (strcmp(type, "+set") == 0)
            snprintf(cmd, sizeof cmd, "SMEMBERS %s", names[i]);
        else
            snprintf(cmd, sizeof cmd, "TYPE %s", names[i]);
        char *v = strdup(rec_run(ds, cmd, NULL));
        if (strcmp(type, "+set") == 0) rec_sort_tokens(v);
        snprintf(cmd, sizeof cmd, "PEXPIRETIME %s", names[i]);
        strcat(out, names[i]);
        strcat(out, "=");
        strcat(out, v);
        strcat(out, " ");
        strcat(out, rec_run(ds, cmd, NULL));
        strcat(out, "\n");
        free(v);
    }
    free(k);
    return out;
}

/* A write script that reads the clock, draws random numbers and depends on hash-ordered replies
 * applies identically on replicas whose stores iterate in different orders. */
static const char *const det_script =
    "EVAL \"local m = redis.call('smembers', KEYS[1]) "
    "redis.call('rpush', 'order', unpack(m)) "
    "redis.call('rpush', 'sorted', unpack(redis.call('sort', KEYS[1], 'by', 'nosort', 'limit', 0, "
    "200))) "
    "redis.call('set', 'mp', cmsgpack.pack({a = 1, b = {1, 2}, c = 'x', [7] = m[1]}) .. "
    "struct.pack('>dI3', math.random(), 70000)) "
    "local h = redis.call('hkeys', KEYS[2]) "
    "redis.call('set', 'first_field', h[1]) "
    "redis.call('set', 'r', tostring(math.random()) .. ':' .. math.random(1000)) "
    "redis.call('set', 't', redis.call('time')[1], 'ex', 100) "
    "return redis.call('incr', 'calls')\" 2 s h";

static void determinism(void **state)
{
    (void)state;
    eng a = eng_new(1), b = eng_new(987654321);
    for (int i = 0; i < 2; i++) {
        eng *e = i ? &b : &a;
        for (int m = 0; m < 300; m++) { /* beyond the intset: a hash table per store */
            char line[64];
            snprintf(line, sizeof line, "SADD s m%d", m);
            assert_reply(e->ds, line, ":1");
            snprintf(line, sizeof line, "HSET h f%d v", m);
            assert_reply(e->ds, line, ":1");
        }
    }
    /* the stores really order them differently */
    char *sa = strdup(rec_run(a.ds, "SMEMBERS s", NULL));
    assert_string_not_equal(sa, rec_run(b.ds, "SMEMBERS s", NULL));
    free(sa);
    t_replicated = 1;
    t_seed = 7;
    char *ra = strdup(sx(&a, det_script));
    assert_string_equal(ra, sx(&b, det_script));
    free(ra);
    char *da = digest(a.ds), *db = digest(b.ds);
    if (strcmp(da, db) != 0) { /* the first line that differs */
        char *la = da, *lb = db;
        for (;;) {
            char *ea = strchr(la, '\n'), *eb = strchr(lb, '\n');
            if (!ea || !eb || ea - la != eb - lb || memcmp(la, lb, (size_t)(ea - la)) != 0) {
                if (ea) *ea = '\0';
                if (eb) *eb = '\0';
                fail_msg("replicas differ:\n%.200s\n%.200s", la, lb);
            }
            la = ea + 1, lb = eb + 1;
        }
    }
    /* the same seed gives the same draw; another seed another draw */
    char *r1 = strdup(rec_run(a.ds, "GET r", NULL));
    (void)sx(&a, det_script);
    assert_string_equal(r1, rec_run(a.ds, "GET r", NULL));
    t_seed = 8;
    (void)sx(&a, det_script);
    assert_string_not_equal(r1, rec_run(a.ds, "GET r", NULL));
    free(r1);
    assert_reply(a.ds, "PEXPIRETIME t", ":1700000100000");
    free(da);
    free(db);
    /* commands whose answer is node-local are refused in applied runs, fine in reads */
    assert_script_err(&a, "EVAL \"return redis.call('srandmember', 's')\" 0",
                      "-ERR This Redis command is not allowed from write scripts");
    assert_script_err(&a, "EVAL \"return redis.call('randomkey')\" 0",
                      "-ERR This Redis command is not allowed from write scripts");
    assert_script_err(&a, "EVAL \"return redis.call('spop', 's')\" 0",
                      "-ERR This Redis command is not allowed from write scripts");
    assert_script_err(&a, "EVAL \"return redis.call('hscan', 'h', 0)\" 0",
                      "-ERR This Redis command is not allowed from write scripts"); /* L3 */
    /* HVALS sorted too, not in insertion order (mutant L4) */
    assert_script(&a,
                  "EVAL \"for i = 1, 12 do redis.call('hset', 'hv', 'f' .. i, 'v' .. i) end "
                  "return redis.call('hvals', 'hv')\" 0",
                  "*12 \"v1\" \"v10\" \"v11\" \"v12\" \"v2\" \"v3\" \"v4\" \"v5\" \"v6\" \"v7\" "
                  "\"v8\" \"v9\"");
    /* TIME is the entry's: seconds and microseconds (mutant L7) */
    int64_t now_was = t_now_ms;
    t_now_ms = 1700000000123ll;
    assert_script(&a, "EVAL \"return redis.call('time')\" 0", "*2 \"1700000000\" \"123000\"");
    t_now_ms = now_was;
    t_replicated = 0;
    assert_script(&a, "EVAL_RO \"return redis.call('scard', 's')\" 0", ":300");
    assert_script(&a, "EVAL_RO \"return type(redis.call('srandmember', 's'))\" 0", "\"string\"");
    /* EVALSHA: the leader's rewrite carries the body; an applied EVALSHA never uses the cache */
    t_replicated = 1;
    assert_script(&a, "SCRIPT LOAD \"return 'hi'\"",
                  "\"2f31ba2bb6d6a0f42cc159d2e2dad55440778de3\"");
    static data_arg argv[4];
    argv[0] = (data_arg){"EVALSHA", 7};
    argv[1] = (data_arg){"2f31ba2bb6d6a0f42cc159d2e2dad55440778de3", 40};
    argv[2] = (data_arg){"0", 1};
    data_arg rw[4];
    script_out out = {&rec_ops, &t_rec, raw, 0, NULL};
    assert_int_equal(script_rewrite(a.se, 3, argv, rw, 4, &out), 3);
    assert_int_equal(rw[0].len, 4);
    assert_memory_equal(rw[1].ptr, "return 'hi'", 11);
    assert_script(&a, "EVALSHA 2f31ba2bb6d6a0f42cc159d2e2dad55440778de3 0",
                  "-NOSCRIPT No matching script. Please use EVAL.");
    assert_script(&b, "EVAL \"return 'hi'\" 0", "\"hi\"");
    t_replicated = 0;
    assert_script(&a, "EVALSHA 2f31ba2bb6d6a0f42cc159d2e2dad55440778de3 0", "\"hi\"");
    assert_script(&a, "SCRIPT EXISTS 2f31ba2bb6d6a0f42cc159d2e2dad55440778de3 00", "*2 :1 :0");
    argv[1] = (data_arg){"0000000000000000000000000000000000000000", 40};
    t_rec.len = 0;
    assert_int_equal(script_rewrite(a.se, 3, argv, rw, 4, &out), -1);
    assert_string_equal(t_rec.buf, "-NOSCRIPT No matching script. Please use EVAL.");
    t_replicated = 1;
    eng_free(&a);
    eng_free(&b);
}

/* A runaway script stops at the instruction bound, at the same point on every replica, even
 * when it catches errors with pcall; its writes so far stay, and the engine works on. */
static void instruction_bound(void **state)
{
    (void)state;
    eng a = eng_new(1), b = eng_new(2);
    t_replicated = 1;
    const char *loop = "EVAL \"redis.call('incr', 'n'); local i = 0; while true do i = i + 1; "
                       "if i % 1000 == 0 then redis.call('set', 'i', i) end end\" 0";
    const char *trap = "EVAL \"while true do pcall(function() while true do end end) end\" 0";
    for (int k = 0; k < 2; k++) {
        eng *e = k ? &b : &a;
        script_set_max_instructions(e->se, 1000000);
        assert_script_err(e, loop, "-ERR Script exceeded the limit of 1000000 Lua instructions");
        assert_script_err(e, trap, "-ERR Script exceeded the limit of 1000000 Lua instructions");
        assert_script(e, "EVAL \"return redis.call('incr', 'n')\" 0", ":2");
    }
    char *ia = strdup(rec_run(a.ds, "GET i", NULL));
    assert_string_equal(ia, rec_run(b.ds, "GET i", NULL)); /* stopped at the same point */
    assert_string_not_equal(ia, "(nil)");
    free(ia);
    eng_free(&a);
    eng_free(&b);
}

/* The busy hook asks for a kill at every call: only a read run that wrote nothing stops, and it
 * stops with Redis's message even under pcall; a replicated run (an applied entry) ends alike on
 * every replica whatever the hook says; the hook sees each run end. */
static int t_hook_calls, t_hook_done, t_hook_wrote;
static int kill_always(void *ctx, const script_run_info *ri)
{
    (void)ctx;
    t_hook_calls++;
    t_hook_done += ri->done;
    t_hook_wrote |= ri->wrote;
    return 1;
}

static void busy_kill(void **state)
{
    (void)state;
    eng a = eng_new(1), b = eng_new(2);
    const char *spin = "local i = 0 while i < 3000000 do i = i + 1 end";
    char line[512];
    for (int k = 0; k < 2; k++) {
        eng *e = k ? &b : &a;
        script_set_busy_hook(e->se, kill_always, NULL);
        /* read runs: killed, also through pcall */
        t_replicated = 0;
        t_hook_calls = t_hook_done = 0;
        snprintf(line, sizeof line, "EVAL_RO \"%s return 1\" 0", spin);
        assert_script_err(e, line, "-ERR Script killed by user with SCRIPT KILL... script: ");
        assert_true(t_hook_calls >= 2 && t_hook_done == 1);
        assert_script_err(e,
                          "EVAL_RO \"while true do pcall(function() while true do end end) "
                          "end\" 0",
                          "-ERR Script killed by user with SCRIPT KILL...");
        /* replicated runs: never killed, the same result on both stores */
        t_replicated = 1;
        t_hook_calls = t_hook_done = t_hook_wrote = 0;
        snprintf(line, sizeof line,
                 "EVAL \"%s redis.call('incr', 'n') %s return redis.call('incr', 'n')\" 0", spin,
                 spin);
        assert_script(e, line, ":2");
        assert_true(t_hook_calls >= 3 && t_hook_done == 1 && t_hook_wrote);
        script_set_busy_hook(e->se, NULL, NULL);
    }
    assert_string_equal(rec_run(a.ds, "GET n", NULL), "\"2\"");
    assert_string_equal(rec_run(b.ds, "GET n", NULL), "\"2\"");
    eng_free(&a);
    eng_free(&b);
}

/* script_env.oom (the leader was out of memory when it logged the call): Redis 7.0's rules. */
static void oom_rules(void **state)
{
    (void)state;
    eng e = eng_new(1);
    t_replicated = 1;
    data_arg shebang[3] = {{"eval", 4}, {"#!lua\nreturn 1", 14}, {"0", 1}};
    data_arg legacy[3] = {{"eval", 4}, {"return 1", 8}, {"0", 1}};
    data_arg ro[3] = {{"eval", 4}, {"#!lua flags=no-writes\nreturn 1", 30}, {"0", 1}};
    data_arg ro_cmd[3] = {{"eval_ro", 7}, {"return 1", 8}, {"0", 1}};
    assert_int_equal(script_oom_policy(e.se, 3, shebang), SCRIPT_OOM_DENY);
    assert_int_equal(script_oom_policy(e.se, 3, legacy), SCRIPT_OOM_FIRST_WRITE);
    assert_int_equal(script_oom_policy(e.se, 3, ro), SCRIPT_OOM_OK);
    assert_int_equal(script_oom_policy(e.se, 3, ro_cmd), SCRIPT_OOM_OK);
    /* an EVALSHA_RO of a cached script without shebang is a read (mutant E5) */
    assert_script(&e, "SCRIPT LOAD \"return 1\"", "\"e0e1f9fabfc9d4800c877a703b823ac0578ff8db\"");
    data_arg sha_ro[3] = {
        {"evalsha_ro", 10}, {"e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 40}, {"0", 1}};
    assert_int_equal(script_write_policy(e.se, 3, sha_ro), SCRIPT_WRITES_NONE);
    sha_ro[0] = (data_arg){"evalsha", 7};
    assert_int_equal(script_write_policy(e.se, 3, sha_ro), SCRIPT_WRITES_FIRST);
    assert_script(&e,
                  "FUNCTION LOAD \"#!lua name=oomlib\nredis.register_function{function_name='rf', "
                  "callback=function() return 1 end, flags={'no-writes'}}\n"
                  "redis.register_function('wf', function() return 2 end)\"",
                  "\"oomlib\"");
    static data_arg argv[REC_MAX_ARGS];
    static char store[4096];
    const char *lines[] = {
        "EVAL \"redis.call('set', 'x', '1')\" 0",
        "EVAL \"return redis.pcall('incr', 'x')\" 0",
        "EVAL \"redis.call('del', 'y') return redis.call('set', 'x', '2')\" 0",
        "EVAL \"return redis.call('get', 'x')\" 0",
        "EVAL \"#!lua\nreturn 1\" 0",
        "EVAL \"#!lua flags=allow-oom\nreturn redis.call('set', 'x', '3')\" 0",
        "FCALL rf 0", /* no-writes implies allow-oom (mutant F4) */
        "FCALL wf 0",
    };
    const char *want[] = {
        "-OOM command not allowed when used memory > 'maxmemory'. script: ",
        "-OOM command not allowed when used memory > 'maxmemory'.",
        "+OK",
        "\"2\"",
        "-OOM allow-oom flag is not set on the script, can not run it when used memory > "
        "'maxmemory'",
        "+OK",
        ":1",
        "-OOM allow-oom flag is not set on the script",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int argc = rec_split(lines[i], store, argv);
        t_rec.len = 0;
        t_rec.buf[0] = '\0';
        script_env env = {t_now_ms, t_seed, 1, NULL, 0, 1, NULL, 0};
        script_out out = {&rec_ops, &t_rec, raw, 0, NULL};
        (void)script_exec(e.se, argc, argv, &env, &out);
        if (strncmp(t_rec.buf, want[i], strlen(want[i])) != 0)
            fail_msg("%s\n   got: %s\n  want: %s", lines[i], t_rec.buf, want[i]);
    }
    eng_free(&e);
}

static int snap_write(void *ctx, const void *p, size_t n)
{
    rec_t *r = ctx;
    assert_true(r->len + n < REC_MAX);
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return 0;
}

static char t_dump[8192];
static size_t t_dump_len;
static void capture_bulk(void *ctx, const char *p, size_t n)
{
    (void)ctx;
    assert_true(n < sizeof t_dump);
    memcpy(t_dump, p, n);
    t_dump_len = n;
}

static void functions(void **state)
{
    (void)state;
    eng a = eng_new(1);
    t_replicated = 1;
    assert_script(&a,
                  "FUNCTION LOAD \"#!lua name=lib\nredis.register_function('incr2', "
                  "function(k, a) return redis.call('incrby', k[1], 2) end)\n"
                  "redis.register_function{function_name='get2', callback=function(k) return "
                  "redis.call('get', k[1]) end, flags={'no-writes'}}\"",
                  "\"lib\"");
    assert_script(&a, "FCALL incr2 1 x", ":2");
    assert_script(&a, "FCALL_RO get2 1 x", "\"2\"");
    assert_script(&a, "FCALL_RO incr2 1 x",
                  "-ERR Can not execute a script with write flag using *_ro command.");
    assert_script(&a, "FCALL nope 0", "-ERR Function not found");
    assert_script(&a,
                  "FUNCTION LOAD \"#!lua name=lib\nredis.register_function('x', function() "
                  "end)\"",
                  "-ERR Library 'lib' already exists");
    assert_script(&a,
                  "FUNCTION LOAD \"#!lua name=other\nredis.register_function('incr2', "
                  "function() end)\"",
                  "-ERR Function incr2 already exists");
    assert_script(&a, "FUNCTION LOAD \"#!lua name=bad\nlocal s = string\"",
                  "-ERR Error registering functions: ERR user_function:2: Script attempted to "
                  "access nonexistent global variable 'string'");
    assert_script(&a, "FUNCTION LOAD \"#!lua name=loop\nwhile true do end\"",
                  "-ERR Error registering functions: ERR FUNCTION LOAD timeout");
    assert_script(&a, "FUNCTION LIST",
                  "*1 %3 \"library_name\" \"lib\" \"engine\" \"LUA\" "
                  "\"functions\" *2 %3 \"name\" \"get2\" \"description\" "
                  "(nil) \"flags\" ~1 +no-writes %3 \"name\" \"incr2\" "
                  "\"description\" (nil) \"flags\" ~0");
    /* the library travels in the data snapshot and is rebuilt by another engine */
    rec_t *img = calloc(1, sizeof *img);
    assert_int_equal(data_snapshot_save(a.ds, snap_write, img), 0);
    eng b = eng_new(5);
    assert_int_equal(data_snapshot_load(b.ds, img->buf, img->len), 0);
    assert_script(&b, "FCALL incr2 1 x", ":4");
    /* SCRIPT FLUSH starts a new Lua state: the library is rebuilt in it, scripts are gone */
    assert_script(&b, "SCRIPT LOAD \"return 1\"", "\"e0e1f9fabfc9d4800c877a703b823ac0578ff8db\"");
    assert_script(&b, "SCRIPT FLUSH", "+OK");
    assert_script(&b, "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "*1 :0");
    assert_script(&b, "FCALL incr2 1 x", ":6");
    assert_script(&b, "FUNCTION FLUSH", "+OK");
    assert_int_equal(data_snapshot_load(b.ds, img->buf, img->len), 0);
    assert_script(&b, "FCALL incr2 1 x", ":4");
    assert_script_err(&b, "EVAL \"return loadstring(string.dump(function() return 1 end))\" 0",
                      "(nil)");
    /* DUMP from a, RESTORE into b after a FLUSH */
    t_replicated = 0;
    static data_arg av[4];
    av[0] = (data_arg){"FUNCTION", 8};
    av[1] = (data_arg){"DUMP", 4};
    data_reply_ops ops = rec_ops;
    ops.bulk = capture_bulk;
    script_env env = {t_now_ms, 1, 0, NULL, 0, 0, NULL, 0};
    script_out out = {&ops, &t_rec, raw, 0, NULL};
    t_dump_len = 0;
    (void)script_exec(a.se, 2, av, &env, &out);
    assert_true(t_dump_len > 9);
    t_replicated = 1;
    assert_script(&b, "FUNCTION FLUSH", "+OK");
    assert_script(&b, "FCALL incr2 1 x", "-ERR Function not found");
    assert_script(&b, "FUNCTION RESTORE garbage",
                  "-ERR DUMP payload version or checksum are wrong");
    av[1] = (data_arg){"RESTORE", 7};
    av[2] = (data_arg){t_dump, t_dump_len};
    out.ops = &rec_ops;
    t_rec.len = 0;
    env.replicated = 1;
    assert_int_equal(script_exec(b.se, 3, av, &env, &out), 1);
    assert_string_equal(t_rec.buf, "+OK");
    assert_script(&b, "FCALL incr2 1 x", ":6");
    t_rec.len = 0;
    assert_int_equal(script_exec(b.se, 3, av, &env, &out), 0); /* APPEND: it exists */
    assert_string_equal(t_rec.buf, "-ERR Library lib already exists");
    av[3] = (data_arg){"REPLACE", 7};
    t_rec.len = 0;
    assert_int_equal(script_exec(b.se, 4, av, &env, &out), 1);
    assert_string_equal(t_rec.buf, "+OK");
    /* damaged payloads: a code byte (F2), the version with a right checksum (F1), a piece
     * length 4 over its end with a right checksum (F7) */
    static char bad[sizeof t_dump];
    for (int k = 0; k < 3; k++) {
        memcpy(bad, t_dump, t_dump_len);
        size_t n = t_dump_len;
        if (k == 0) bad[12] ^= 1;
        if (k == 1) bad[4]++;
        if (k == 2) { /* the one library's length (big-endian at 5) */
            uint32_t l = (uint32_t)(n - 13 + 4);
            bad[5] = (char)(l >> 24), bad[6] = (char)(l >> 16);
            bad[7] = (char)(l >> 8), bad[8] = (char)l;
        }
        if (k > 0) {
            uint32_t c = crc32c(0, bad, n - 4);
            bad[n - 4] = (char)(c >> 24), bad[n - 3] = (char)(c >> 16);
            bad[n - 2] = (char)(c >> 8), bad[n - 1] = (char)c;
        }
        av[2] = (data_arg){bad, n};
        t_rec.len = 0;
        assert_int_equal(script_exec(b.se, 4, av, &env, &out), 0);
        assert_string_equal(t_rec.buf, "-ERR DUMP payload version or checksum are wrong");
    }
    free(img);
    eng_free(&a);
    eng_free(&b);
}

/* Runs EVAL `script` 0 with binary ARGV: the rendered reply. */
static const char *sx_args(eng *e, const char *script, int nargs, const data_arg *args)
{
    data_arg argv[8] = {{"EVAL", 4}, {script, strlen(script)}, {"0", 1}};
    assert_true(nargs <= 5);
    for (int i = 0; i < nargs; i++)
        argv[3 + i] = args[i];
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    script_env env = {t_now_ms, t_seed, t_replicated, NULL, 0, 0, NULL, 0};
    script_out out = {&rec_ops, &t_rec, raw, t_resp3, NULL};
    (void)script_exec(e->se, 3 + nargs, argv, &env, &out);
    return t_rec.buf;
}

#define HEX_OF(expr)                                                                               \
    "EVAL \"return (string.gsub(" expr ", '.', function(c) return string.format('%02x', "          \
    "c:byte()) end))\" 0"

/* cmsgpack and struct: byte-exact encodings (the values redis-server 7.0.15 gives), round trips,
 * errors, then random and mutated input under ASan: every call ends in a value or a Lua error,
 * and two engines with different hash seeds (two replicas) reply identically. */
static void msgpack_struct(void **state)
{
    (void)state;
    eng e = eng_new(1), f = eng_new(77);
    assert_script(&e, HEX_OF("cmsgpack.pack(1.5, 0.1, -33, 2^40, 200, true, nil)"),
                  "\"ca3fc00000cb3fb999999999999ad0dfcf0000010000000000ccc8c3c0\"");
    assert_script(&e, HEX_OF("cmsgpack.pack({1, 2, nil, 4}, {}, {a=1}, string.rep('x', 40))"),
                  "\"83010102020404"
                  "90"
                  "81a16101"
                  "d928"
                  "78787878787878787878787878787878"
                  "787878787878787878787878787878787878787878787878\"");
    assert_script(&e, HEX_OF("cmsgpack.pack({{{{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}}})"),
                  "\"91919191919191919191919191919191c0\"");
    assert_script(&e, HEX_OF("struct.pack('!4 b i >h <d s c0', 1, -2, 3, 1, 'ab', 'z')"),
                  "\"01000000feffffff00030000000000000000f03f6162007a\"");
    assert_script(&e,
                  "EVAL \"return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, {4}}, true))}\" 0",
                  "*4 :1 \"two\" *2 :3 *1 :4 :1");
    assert_script(&e, "EVAL \"return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}\" 0",
                  "*3 :-1 :2 :3");
    assert_script(&e, "EVAL \"return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}\" 0",
                  "*2 :-1 :2");
    assert_script(&e,
                  "EVAL \"return {struct.unpack('!4 b i >h <d s b c0', "
                  "struct.pack('!4 b i >h <d s b c0', 1, -2, 3, 1, 'ab', 1, 'z'))}\" 0",
                  "*7 :1 :-2 :3 :1 \"ab\" \"z\" :26");
    assert_script_err(&e, "EVAL \"return struct.unpack('s c0', 'ab\\\\0z')\" 0",
                      "-ERR user_script:1: format 'c0' needs a previous size");
    assert_script(&e, "EVAL \"return struct.size('!8 b d i3')\" 0", ":21");
    assert_script_err(&e, "EVAL \"return cmsgpack.unpack('\\x92\\x01')\" 0",
                      "-ERR user_script:1: Missing bytes in input.");
    assert_script_err(&e, "EVAL \"return cmsgpack.unpack('\\xc1')\" 0",
                      "-ERR user_script:1: Bad data format in input.");
    assert_script_err(&e, "EVAL \"return struct.unpack('i', 'ab')\" 0",
                      "-ERR user_script:1: bad argument #2 to 'unpack' (data string too short)");
    assert_script_err(&e, "EVAL \"return struct.pack('i40', 1)\" 0",
                      "-ERR user_script:1: integral size 40 is larger than limit of 32");
    assert_script_err(&e, "EVAL \"cmsgpack.pack = nil\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");
    assert_script_err(&e, "EVAL \"struct.pack = nil\" 0",
                      "-ERR user_script:1: Attempt to modify a readonly table");

    /* fuzz: ARGV[1] random bytes (often msgpack type bytes or a mutated valid encoding), ARGV[2]
     * a random struct format; the script counts the calls that returned normally */
    static const char fuzz[] =
        "local ok = 0 local d, fmt = ARGV[1], ARGV[2] "
        "local function try(f, ...) if pcall(f, ...) then ok = ok + 1 end end "
        "try(cmsgpack.unpack, d) try(cmsgpack.unpack_one, d, #d % 5) "
        "try(cmsgpack.unpack_limit, d, #d % 4, #d % 3) "
        "try(function() return cmsgpack.unpack(cmsgpack.pack(d, {d, fmt}, #d)) end) "
        "try(struct.unpack, fmt, d) try(struct.unpack, fmt, d, 2) try(struct.size, fmt) "
        "try(struct.pack, fmt, #d, d, -#d, d, 2^70, 1.5, d, 3) "
        "try(struct.pack, fmt, d, d, d) "
        "try(function() return cmsgpack.pack(cmsgpack.unpack_one(d)) end) "
        "return ok";
    static const unsigned char valid[] = {0x93, 0x01, 0xa2, 'h',  'i',  0x82, 0xa1, 'a',  0xcb,
                                          0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0xa1,
                                          'b',  0xdc, 0x00, 0x02, 0xc3, 0xd1, 0x80, 0x00};
    static const char fmt_chars[] = "<>!xbBhHlLTiIscfd 0123456789z48";
    uint64_t seed = (uint64_t)time(NULL);
    const char *env_seed = getenv("SCRIPT_FUZZ_SEED");
    if (env_seed) seed = strtoull(env_seed, NULL, 10);
    printf("msgpack_struct fuzz seed %llu (SCRIPT_FUZZ_SEED replays)\n", (unsigned long long)seed);
    uint64_t x = seed * 2654435761u + 1;
    unsigned char buf[64];
    char fmt[16];
    for (int iter = 0; iter < 1500; iter++) {
        size_t n = 0, fl = 0;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        n = x % sizeof buf;
        if (iter % 2 == 0) {
            memcpy(buf, valid, sizeof valid); /* a valid encoding, cut and mutated */
            n = x % (sizeof valid + 1);
            for (int m = 0; m < 3; m++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                if (n) buf[x % n] = (unsigned char)(x >> 32);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] =
                    (x & 1) ? (unsigned char)(0x80 + (x >> 8) % 0x80) : (unsigned char)(x >> 8);
            }
        }
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        fl = x % sizeof fmt;
        for (size_t i = 0; i < fl; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            fmt[i] = fmt_chars[x % (sizeof fmt_chars - 1)];
        }
        data_arg args[2] = {{(const char *)buf, n}, {fmt, fl}};
        char got[64];
        snprintf(got, sizeof got, "%s", sx_args(&e, fuzz, 2, args));
        if (got[0] != ':') fail_msg("seed %llu iter %d: %s", (unsigned long long)seed, iter, got);
        const char *other = sx_args(&f, fuzz, 2, args);
        if (strcmp(got, other) != 0)
            fail_msg("seed %llu iter %d: replicas differ: %s vs %s", (unsigned long long)seed, iter,
                     got, other);
    }
    eng_free(&e);
    eng_free(&f);
}

/* Runs line as a prelude (script_env.prelude_stop): the reply ("" if none) and *stop. */
static const char *sx_prelude(eng *e, const char *line, int *stop)
{
    *stop = 0;
    const char *got = sx_in(e, line, (script_env){.prelude_stop = stop});
    script_prelude_done(e->se, NULL, *stop);
    return got;
}

/* A prelude that stops at once without starting Lua (script_pre.c) ends exactly as the run it
 * replaces: every case runs as a prelude with the shortcut off, then on, and must give the same
 * reply and stop; the shortcut is taken where expected (skip) and only there. */
static void prelude_shortcut(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        int skip;
    } cases[] = {
        /* the rate limiter: KEYS[1] and ARGV[1] given, or not (an error, answered unlogged) */
        {"EVAL \"local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('PEXPIRE', "
         "KEYS[1], ARGV[1]) end return c\" 1 rl:1 1000",
         1},
        {"EVAL \"local c = redis.call('INCR', KEYS[1]) if c == 1 then redis.call('PEXPIRE', "
         "KEYS[1], ARGV[1]) end return c\" 0",
         0},
        {"EVAL \"return redis.call('GET', KEYS[1])\" 1 k", 1}, /* a tail call */
        {"EVAL \"return redis.call('GET', KEYS[2])\" 1 k", 0},
        {"EVAL \"return redis.call('GET', KEYS[2])\" 2 k j", 1},
        {"EVAL \"redis.pcall('SET', KEYS[1], ARGV[1]) return 1\" 1 k", 0},
        {"EVAL \"redis.pcall('SET', KEYS[1], ARGV[1]) return 1\" 1 k v", 1},
        {"EVAL \"redis.call('SET', KEYS[1], ARGV[1], 'EX', 10)\" 1 k v", 1},
        {"EVAL \"return redis.call('INCR', KEYS[1], KEYS[1])\" 1 k", 1}, /* arity: at apply */
        {"EVAL \"return redis.call('INCRBY', KEYS[1], 5)\" 1 k", 1},
        {"EVAL \"local a = KEYS[1] return redis.call('INCR', a)\" 1 k", 1},
        {"EVAL \"return redis.call(ARGV[1], KEYS[1])\" 1 k get", 1},
        {"EVAL \"return redis.call(ARGV[1], KEYS[1])\" 1 k nosuchcommand", 0},
        {"EVAL \"return redis.call(ARGV[1], KEYS[1])\" 1 k ping", 0},
        {"EVAL \"return redis.call(ARGV[1], KEYS[1])\" 1 k", 0},
        {"EVAL \"return redis.call(KEYS[1])\" 1 time", 0},
        {"EVAL \"return redis.call(KEYS[1])\" 1 dbsize", 1},
        {"EVAL \"#!lua\nreturn redis.call('INCR', KEYS[1])\" 1 k", 1},
        /* not a plan: the prelude runs */
        {"EVAL \"return redis.call('ping')\" 0", 0},
        {"EVAL \"return redis.call('nosuchcommand', KEYS[1])\" 1 k", 0},
        {"EVAL \"return redis.call(1, KEYS[1])\" 1 k", 0},
        {"EVAL \"return redis.call()\" 0", 0},
        {"EVAL \"return redis.call(unpack(KEYS))\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', KEYS[1.5])\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', KEYS[0])\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', nosuchglobal)\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', nosuchglobal[1])\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', _G.KEYS[1])\" 1 k", 0},
        {"EVAL \"return nosuchglobal.call('INCR', KEYS[1])\" 1 k", 0},
        {"EVAL \"local x = tonumber(ARGV[1]) return redis.call('INCRBY', KEYS[1], x)\" 1 k 2", 0},
        {"EVAL \"local t = {} return redis.call('INCR', KEYS[1])\" 1 k", 0},
        {"EVAL \"return redis.sha1hex('INCR', KEYS[1])\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', KEYS[1] .. 'x')\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', true)\" 0", 0},
        {"EVAL \"return 1\" 0", 0},
        {"EVAL \"return redis.call('INCR', KEYS[1])\" -1 k", 0}, /* numkeys errors */
        {"EVAL \"return redis.call('INCR', KEYS[1])\" 2 k", 0},
        {"EVAL \"return redis.call('INCR', ARGV[1])\" 1 k", 0},
        {"EVAL \"return redis.call('INCR', ARGV[1])\" 0 k", 1},
    };
    eng e = eng_new(1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char slow[4096];
        int slow_stop, fast_stop;
        script_set_prelude_fast(e.se, 0);
        uint64_t skips = script_prelude_skips(e.se);
        snprintf(slow, sizeof slow, "%s", sx_prelude(&e, cases[i].line, &slow_stop));
        assert_int_equal(script_prelude_skips(e.se), skips);
        script_set_prelude_fast(e.se, 1);
        const char *fast = sx_prelude(&e, cases[i].line, &fast_stop);
        if (strcmp(slow, fast) != 0 || slow_stop != fast_stop)
            fail_msg("case %zu: %s\n  prelude: stop %d reply %s\n  shortcut: stop %d reply %s", i,
                     cases[i].line, slow_stop, slow, fast_stop, fast);
        if (script_prelude_skips(e.se) - skips != (uint64_t)cases[i].skip)
            fail_msg("case %zu: %s: shortcut taken %d times, want %d", i, cases[i].line,
                     (int)(script_prelude_skips(e.se) - skips), cases[i].skip);
    }
    /* EVALSHA of a loaded limiter: the shortcut, then the replicated run as usual */
    const char *body = "\"local c = redis.call('INCR', KEYS[1]) return c\"";
    char line[512], sha[41];
    snprintf(line, sizeof line, "SCRIPT LOAD %s", body);
    const char *loaded = sx(&e, line); /* "<sha>", quoted */
    assert_int_equal(strlen(loaded), 42);
    snprintf(sha, sizeof sha, "%.40s", loaded + 1);
    snprintf(line, sizeof line, "EVALSHA %s 1 k", sha);
    uint64_t skips = script_prelude_skips(e.se);
    int stop;
    assert_string_equal(sx_prelude(&e, line, &stop), "");
    assert_int_equal(stop, 1);
    assert_int_equal(script_prelude_skips(e.se), skips + 1);
    snprintf(line, sizeof line, "EVAL %s 1 k", body);
    assert_script(&e, line, ":1");
    assert_script(&e, line, ":2");
    eng_free(&e);
}

/* --- the debugger (script_ldb.c) over a fake connection ------------------------------------- */

typedef struct {
    const char *in; /* what the client sends, consumed as read */
    size_t in_len, in_pos;
    size_t chunk; /* bytes per read (0: all there is) */
    char out[1 << 16];
    size_t out_len;
} fake_conn;

/* One read gives at most one command (up to the next '|': the debugger drops what follows a
 * command in its buffer, as Redis's, and redis-cli sends one at a time), or f->chunk bytes. */
static long fake_read(void *ctx, char *buf, size_t cap)
{
    fake_conn *f = ctx;
    if (f->in_pos < f->in_len && f->in[f->in_pos] == '|') f->in_pos++;
    const char *bar = memchr(f->in + f->in_pos, '|', f->in_len - f->in_pos);
    size_t n = (bar ? (size_t)(bar - f->in) : f->in_len) - f->in_pos;
    if (f->chunk && n > f->chunk) n = f->chunk;
    if (n > cap) n = cap;
    memcpy(buf, f->in + f->in_pos, n);
    f->in_pos += n;
    return (long)n; /* 0 once it is all read: the client went away */
}

static void fake_write(void *ctx, const char *p, size_t len)
{
    fake_conn *f = ctx;
    size_t room = sizeof f->out - 1 - f->out_len;
    if (len > room) len = room;
    memcpy(f->out + f->out_len, p, len);
    f->out_len += len;
    f->out[f->out_len] = '\0';
}

static int64_t fake_now_ms(void *ctx)
{
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A session of `body` (EVAL body 1 k) with the client sending `in`; returns EVAL's reply, the
 * debugger's output in f->out. */
static const char *ldb_run(eng *e, fake_conn *f, const char *body, const char *in,
                           int64_t timeout_ms)
{
    f->in = in;
    f->in_len = strlen(in);
    f->in_pos = f->out_len = 0;
    f->out[0] = '\0';
    script_ldb_io io = {fake_read, fake_write, fake_now_ms, f};
    script_ldb_begin(e->se, body, strlen(body), &io, timeout_ms);
    static data_arg argv[4];
    argv[0] = (data_arg){"EVAL", 4};
    argv[1] = (data_arg){body, strlen(body)};
    argv[2] = (data_arg){"1", 1};
    argv[3] = (data_arg){"k", 1};
    t_rec.len = 0;
    t_rec.buf[0] = '\0';
    script_env env = {.now_ms = t_now_ms, .seed = 1, .replicated = 1};
    script_out out = {&rec_ops, &t_rec, raw, 0, NULL};
    (void)script_exec(e->se, 4, argv, &env, &out);
    script_ldb_end(e->se);
    return t_rec.buf;
}

#define CMD1(c) "*1\r\n$1\r\n" c "\r\n|"

static void assert_has(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("missing %s in:\n%s", needle, hay);
}

static void assert_string_starts(const char *s, const char *prefix)
{
    if (strncmp(s, prefix, strlen(prefix)) != 0) fail_msg("%s\ndoes not start with %s", s, prefix);
}

/* Stops, logs and commands: what redis-cli shows is checked line by line against redis-server
 * 7.0 in compat/test_compat_ldb.py; here the session's edges run under the sanitizers: the
 * client gone, an endless loop stopped by the timeout, aborts, malformed and split commands,
 * long values cut at maxlen, nested tables, and random input. */
static void debugger(void **state)
{
    (void)state;
    eng e = eng_new(1);
    static fake_conn f;
    const char *body = "local a = {1, {x = {y = {}}}, 'two'}\nredis.debug(a, nil, 1.5)\n"
                       "local n = redis.call('incr', KEYS[1])\nreturn n\n";
    /* step, print, a redis command, the end: "<endsession>" before the reply */
    assert_string_equal(ldb_run(&e, &f, body, CMD1("s") CMD1("p") CMD1("s") CMD1("s") CMD1("c"), 0),
                        ":1");
    assert_has(f.out, "+* Stopped at 1, stop reason = step over\r\n+-> 1   local a =");
    assert_has(f.out, "+<debug> line 2: {1; {[\"x\"]={[\"y\"]={}}}; \"two\"}, nil, 1.5\r\n");
    assert_has(f.out, "+<value> a = {1; {[\"x\"]={[\"y\"]={}}}; \"two\"}\r\n");
    assert_has(f.out, "+<redis> incr k\r\n+<reply> 1\r\n");
    static const char end[] = "*1\r\n+<endsession>\r\n";
    assert_true(f.out_len > sizeof end && !strcmp(f.out + f.out_len - (sizeof end - 1), end));
    /* the client goes away at the first stop: the script runs to its end */
    assert_string_equal(ldb_run(&e, &f, body, "", 0), ":2");
    /* a command split over many reads, then "abort" */
    assert_string_starts(
        ldb_run(&e, &f, body, "*2\r\n$1\r\nb\r\n$1\r\n3\r\n|" CMD1("c") CMD1("a"), 0),
        "-ERR script aborted for user request");
    /* malformed commands end the session with an error; the key was not incremented */
    static const char *const bad[] = {"$1\r\nx\r\n",       "*0\r\n",          "*2000\r\n",
                                      "*1\r\n$0\r\n\r\n",  "*1\r\n$5000\r\n", "*1\r\nx1\r\n",
                                      "*1\r\n$1\r\nab\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_string_starts(ldb_run(&e, &f, body, bad[i], 0), "-ERR protocol error");
    assert_string_equal(rec_run(e.ds, "GET k", NULL), "\"2\"");
    f.chunk = 1;
    assert_string_equal(
        ldb_run(&e, &f, body, CMD1("s") "*2\r\n$1\r\nr\r\n$4\r\nping\r\n|" CMD1("c"), 0), ":3");
    assert_has(f.out, "+<redis> ping\r\n+<reply> \"+PONG\"\r\n");
    f.chunk = 0;
    /* a line break in what is logged (a command's argument) becomes a space: each log entry
     * is one simple string */
    assert_string_equal(
        ldb_run(&e, &f, "return redis.call('set', 'nl', 'a\\r\\nb')\n", CMD1("s") CMD1("c"), 0),
        "+OK");
    assert_has(f.out, "+<redis> set nl a  b\r\n+<reply> \"+OK\"\r\n");
    /* a client that sends over 1 MB without completing a command is stopped (the bound on the
     * debugger's buffer): the digits of a never-ending array length, in 1 KB reads */
    static char flood[(1 << 20) + 4096];
    flood[0] = '*';
    memset(flood + 1, '9', sizeof flood - 2);
    f.chunk = 1024;
    assert_string_starts(ldb_run(&e, &f, body, flood, 0), "-ERR max client buffer reached");
    f.chunk = 0;
    /* an endless loop without a stop: stopped after the timeout, then aborted */
    const char *loop = "local i = 0\nwhile true do\n  i = i + 1\nend\n";
    assert_string_starts(ldb_run(&e, &f, loop, CMD1("c") CMD1("a"), 20),
                         "-ERR script aborted for user request");
    assert_has(f.out, "stop reason = timeout reached, infinite loop?");
    /* ... and when the client is gone by then, it is stopped with an error */
    assert_string_starts(ldb_run(&e, &f, loop, CMD1("c"), 20),
                         "-ERR timeout during Lua debugging with client closing connection");
    /* a value longer than maxlen is cut, with a hint once; maxlen 0: whole */
    const char *longv = "local s = string.rep('x', 1000)\nreturn #s\n";
    assert_string_equal(ldb_run(&e, &f, longv,
                                CMD1("s") "*2\r\n$1\r\np\r\n$1\r\ns\r\n|"
                                          "*2\r\n$1\r\nm\r\n$1\r\n0\r\n|"
                                          "*2\r\n$1\r\np\r\n$1\r\ns\r\n|" CMD1("c"),
                                0),
                        ":1000");
    assert_has(f.out, "xxx ...\r\n+<hint> The above reply was trimmed.");
    /* random bytes as the client's commands: an error or a run, never a crash */
    uint64_t seed = (uint64_t)time(NULL);
    const char *env_seed = getenv("SCRIPT_FUZZ_SEED");
    if (env_seed) seed = strtoull(env_seed, NULL, 10);
    printf("debugger: random input seed %llu (SCRIPT_FUZZ_SEED replays)\n",
           (unsigned long long)seed);
    uint64_t x = seed | 1;
    static char junk[512];
    for (int round = 0; round < 300; round++) {
        size_t n = 0;
        while (n < sizeof junk - 1) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            static const char alphabet[] = "*$\r\n0123456789-sbcplwmetra |";
            junk[n++] = (x >> 32) % 4 ? alphabet[(x >> 8) % (sizeof alphabet - 1)] : (char)x;
            if ((x >> 20) % 64 == 0) break;
        }
        junk[n] = '\0';
        (void)ldb_run(&e, &f, body, junk, 10);
    }
    eng_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redis_to_lua_and_back),
        cmocka_unit_test(sandbox),
        cmocka_unit_test(determinism),
        cmocka_unit_test(functions),
        cmocka_unit_test(instruction_bound),
        cmocka_unit_test(msgpack_struct),
        cmocka_unit_test(busy_kill),
        cmocka_unit_test(oom_rules),
        cmocka_unit_test(prelude_shortcut),
        cmocka_unit_test(debugger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
