/* script.h — Lua scripting and functions (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL) as Redis 7.0.
 *
 * The engine owns one Lua 5.1 state (Debian's liblua5.1, the version Redis embeds), sandboxed as
 * Redis does it: no os / io / package / loadfile / dofile / print, the global table and every
 * library table read-only, reading an undefined global an error. A script reaches the dataset
 * only through data_exec: redis.call converts each data reply into a Lua value, and the script's
 * result is converted back into a reply, following Redis's conversion rules both ways (RESP2 and,
 * after redis.setresp(3), RESP3).
 *
 * Determinism (DESIGN.md "Replicating effects"): a write script is replicated as the call and run
 * on every replica while its log entry is applied. Everything a script can observe comes from the
 * entry or the dataset: the time (TIME, expiries) is env.now_ms, math.random's generator is
 * seeded from env.seed, and while env.replicated is set, a script that may write is refused the
 * commands whose answer depends on node-local state (random draws: SPOP SRANDMEMBER RANDOMKEY
 * HRANDFIELD ZRANDMEMBER; hash-order cursors: SCAN SSCAN HSCAN ZSCAN; per-node encodings: OBJECT
 * MEMORY) and the replies whose order depends on hash layout (KEYS SMEMBERS SINTER SUNION SDIFF
 * HKEYS HVALS HGETALL) are sorted for it, as Redis before 5.0 sorted them for scripts (a read-only
 * script run in a logged MULTI has no effects to keep alike: it is served as Redis serves it). See
 * docs/scripting.md.
 *
 * The script cache (EVAL, SCRIPT LOAD) is a per-node cache: EVALSHA is rewritten into EVAL with
 * the body by the leader before it is logged (script_rewrite), so no replica ever needs its
 * cache to apply an entry. The function library (FUNCTION LOAD ...) is replicated state: its
 * changes are log entries, and it travels in the data snapshot (data_set_aux / data_get_aux).
 *
 * Not thread-safe; one engine per data store. Reply ownership as in data.h. */
#ifndef SYNOD_SCRIPT_SCRIPT_H
#define SYNOD_SCRIPT_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"

typedef struct script_engine script_engine;

/* NULL if the Lua state cannot be created (out of memory). */
script_engine *script_create(data_store *ds);
void script_destroy(script_engine *se);

/* Called for each command a script calls through redis.call / pcall, when the run has a caller
 * (script_out.ctx != NULL), as Redis counts them in INFO commandstats / errorstats and shows
 * them to MONITOR (src/server/stats.c): SCRIPT_CALL_RUN before it runs, SCRIPT_CALL_FAILED after
 * it if its reply is an error (err: the error, without '-'), SCRIPT_CALL_REJECTED instead of
 * running when the script may not run it (arity, not allowed from scripts, a write in a
 * read-only script, OOM, ACL, ...; err: the error). An unknown command is none of them.
 * SCRIPT_CALL_ERROR_REPLIED (argc 0) after the run replied an error that one of these produced
 * (raised by redis.call, or a pcall's error table returned): Redis counts that error once.
 * A prelude run's events (script_env.prelude_stop) wait for script_prelude_done. */
enum { SCRIPT_CALL_RUN, SCRIPT_CALL_FAILED, SCRIPT_CALL_REJECTED, SCRIPT_CALL_ERROR_REPLIED };
typedef void (*script_call_hook)(void *hook_ctx, void *out_ctx, int argc, const data_arg *argv,
                                 int event, const char *err, size_t err_len);
void script_set_call_hook(script_engine *se, script_call_hook fn, void *hook_ctx);
/* The prelude run just ended: its held call events go to the hook with out_ctx (the caller's
 * connection) if it answered the script (stopped = 0), and are dropped if it stopped at a data
 * command (the logged run calls the same commands again). */
void script_prelude_done(script_engine *se, void *out_ctx, int stopped);
/* Called after each such command has run (same arguments, same hook_ctx): SLOWLOG and the
 * latency histograms time it between the two. */
void script_set_call_done_hook(script_engine *se, script_call_hook fn);

/* Called when redis.call / pcall is refused by ACL and the run has a caller (out_ctx): the
 * denial (ACL_DENIED_*), the user and the object refused (the command's name, a key, a
 * channel), for the caller's node's ACL LOG. */
typedef void (*script_acl_hook)(void *hook_ctx, void *out_ctx, int reason, const char *user,
                                size_t ulen, const char *obj, size_t olen);
void script_set_acl_hook(script_engine *se, script_acl_hook fn, void *hook_ctx);

/* How a command reaches the store (script_route). Every entry point below also takes a
 * command prefixed with `ACL_AS user` (see script_env.acl_user). */
enum {
    SCRIPT_NONE = 0,  /* not a scripting command */
    SCRIPT_LOCAL = 1, /* answered by the node that has the client (HELP, KILL, errors) */
    SCRIPT_READ = 2,  /* a read: EVAL_RO, no-writes scripts, FCALL_RO, FUNCTION LIST, ... */
    SCRIPT_WRITE = 3, /* through the log: EVAL, EVALSHA, FCALL, SCRIPT LOAD, FUNCTION LOAD ... */
};
int script_route(script_engine *se, int argc, const data_arg *argv);

/* Where a scripting command's reply goes. `raw` appends one complete RESP element (the few a
 * script can return that data_reply_ops cannot say: RESP3 booleans, big numbers, verbatim
 * strings); NULL drops them (a replica's apply answers nobody). resp3: the caller's protocol. */
typedef struct {
    const data_reply_ops *ops;
    void *ctx;
    void (*raw)(void *ctx, const char *p, size_t len);
    int resp3;
    /* the connection the run is for, to the hooks (stats, MONITOR, ACL LOG), when it is not
     * ctx: a follower applying a script entry of one of its clients, whose reply is the
     * leader's (NULL: ctx) */
    void *caller;
} script_out;

/* What a run may observe. replicated: 1 while a log entry is applied (writes allowed,
 * nondeterministic commands refused); 0 for a read served by one node (writes refused). */
typedef struct {
    int64_t now_ms;
    uint64_t seed;
    int replicated;
    /* the ACL user every redis.call / pcall is checked against (NULL: no check). Set from an
     * `ACL_AS user <scripting command>` prefix, which the server adds for restricted users so
     * that the entry names the user and every replica checks alike. */
    const char *acl_user;
    size_t acl_user_len;
    /* The leader was over maxmemory with nothing to evict when it logged the call (Redis's
     * pre-command OOM state, decided once and carried by the entry so that every replica agrees):
     * a script without a shebang fails its first deny-oom command if it wrote nothing before,
     * one with a shebang is refused unless it has allow-oom or no-writes. */
    int oom;
    /* Non-NULL: a prelude run (docs/scripting.md "Script timeouts"): the script runs on the node
     * that has the client, before anything is logged, only until its first data command; there
     * it stops without a reply and *prelude_stop is set (the caller then logs the call as
     * usual). A script that ends first (or fails, or is killed: it is a killable read run) has
     * its reply emitted: it touched no data, so that reply is final. */
    int *prelude_stop;
    /* min-replicas-to-write is not met (the leader's judgement when it served the call): a write
     * command fails with -NOREPLICAS (a script without shebang, run as a read then) */
    int noreplicas;
} script_env;

/* Did the last script_exec's run call a read-only data command? (Client-side caching tracks a
 * script's declared keys then, as Redis does.) */
int script_called_read(const script_engine *se);

/* Preludes stopped without starting Lua: EVAL / EVALSHA of a script whose first statement is
 * a data command called with constants, KEYS[n] and ARGV[n] (src/script/script_pre.c). On by
 * default; off (0), every prelude runs (tests compare the two). */
uint64_t script_prelude_skips(const script_engine *se);
void script_set_prelude_fast(script_engine *se, int on);

/* EVAL / EVALSHA / FCALL (after an ACL_AS prefix): a call that may run a prelude. */
int script_is_call(int argc, const data_arg *argv);
/* The function libraries' code, sorted by library name, in a malloc'd array *out (free it):
 * the bytes stay valid until the libraries change. Returns how many. */
size_t script_library_codes(script_engine *se, data_arg **out);

/* Is the script such a call runs in this node's cache (EVAL: its body; EVALSHA: its SHA1)?
 * FCALL: 0 (the function library is replicated state: a follower runs an FCALL's prelude only
 * after a ReadIndex gate, node.c fcall_gate). A follower holds the prelude's reply of a script
 * it has not cached and relays the call even if it ended there, so that the leader's cache,
 * which SCRIPT EXISTS answers from, has every script; an EVALSHA it lacks goes to the leader to
 * run its prelude (docs/scripting.md, "The prelude"). */
int script_is_cached(script_engine *se, int argc, const data_arg *argv);
/* Does such a call carry what it runs (EVAL's body): 0 for EVALSHA and FCALL. */
int script_has_body(int argc, const data_arg *argv);
/* FCALL (after an ACL_AS prefix): its prelude reads the function library. */
int script_is_fcall(int argc, const data_arg *argv);

/* Before a SCRIPT_WRITE command is proposed: EVALSHA / EVALSHA_RO become EVAL / EVAL_RO with the
 * script body (out[0..argc), argv's other arguments shared; the body points into the engine's
 * cache, valid until the next script_* call). EVAL and SCRIPT LOAD bodies are compiled and cached
 * here too, so a pipelined EVALSHA right behind them finds them. Returns the new argc (in rw),
 * 0 to log argv unchanged, or -1 after replying an error to `out` (NOSCRIPT, a compile error):
 * nothing is to be logged then. */
int script_rewrite(script_engine *se, int argc, const data_arg *argv, data_arg *rw, int rw_cap,
                   const script_out *out);

/* Executes one scripting command (argv[0] = EVAL, FCALL, SCRIPT, FUNCTION, ...), emitting exactly
 * one reply to out. Returns 1 if the dataset or the function library changed. */
int script_exec(script_engine *se, int argc, const data_arg *argv, const script_env *env,
                const script_out *out);

/* The bound on one run: a script that executes more Lua instructions than this stops with an
 * error (its writes so far stay, as when Redis kills a script). The bound is a count, not a
 * time, so every replica stops a runaway write script at the same instruction: an endless loop
 * logged as an EVAL cannot hang the cluster, nor the replay of its log after a restart.
 * Default SCRIPT_MAX_INSTRUCTIONS; 0 = no bound. */
#define SCRIPT_MAX_INSTRUCTIONS 5000000000ull
void script_set_max_instructions(script_engine *se, uint64_t n);

/* Script timeouts (busy-reply-threshold). Every SCRIPT_HOOK_EVERY Lua instructions of a run the
 * engine calls the busy hook (if set) with the run's description; the host may serve other
 * clients from it (-BUSY, SCRIPT KILL, FUNCTION KILL, FUNCTION STATS) and returns 1 to have the
 * run killed. A kill is honoured only for a run that is killable (a read on one node:
 * env.replicated == 0) and has called no write command: a replicated run ends the same way on
 * every replica, so nothing local may stop it midway. The killed run stops at its next
 * instruction with "Script killed by user with SCRIPT KILL..." (a pcall cannot catch it for
 * ever). A run for which the hook was called gets a last call with done = 1. */
typedef struct {
    uint64_t run_id;      /* a new value for every run */
    int killable;         /* a read on one node: SCRIPT KILL / FUNCTION KILL may stop it */
    int wrote;            /* a write command was called (Redis's UNKILLABLE case) */
    int is_function;      /* FCALL / FCALL_RO (FUNCTION KILL), else EVAL (SCRIPT KILL) */
    int done;             /* the run ended */
    const char *name;     /* the sha1 (EVAL) or the function name */
    int argc;             /* the command that runs it (FUNCTION STATS) */
    const data_arg *argv; /* valid during the call only */
} script_run_info;
typedef int (*script_busy_cb)(void *ctx, const script_run_info *ri);
void script_set_busy_hook(script_engine *se, script_busy_cb cb, void *ctx);

/* maxmemory (docs/scripting.md "Out of memory"): how a scripting command is treated when the
 * leader is over maxmemory and cannot evict, as Redis 7.0. */
enum {
    SCRIPT_OOM_OK = 0,   /* runs (no-writes, allow-oom, not a script run, NOSCRIPT...) */
    SCRIPT_OOM_DENY = 1, /* refused before it runs (a declared write script, FUNCTION LOAD) */
    SCRIPT_OOM_FIRST_WRITE = 2, /* a script without shebang: runs with script_env.oom set */
};
int script_oom_policy(script_engine *se, int argc, const data_arg *argv);
/* Whether a scripting command writes, as min-replicas-to-write judges it (Redis's rules): a
 * script without shebang only where it calls a write command (FIRST), a shebang without
 * no-writes, a function without no-writes, FUNCTION LOAD / DELETE / FLUSH / RESTORE: DECLARED. */
enum { SCRIPT_WRITES_NONE = 0, SCRIPT_WRITES_FIRST = 1, SCRIPT_WRITES_DECLARED = 2 };
int script_write_policy(script_engine *se, int argc, const data_arg *argv);

/* Statistics for INFO (used_memory_lua, number_of_cached_scripts, functions). */
typedef struct {
    uint64_t lua_memory_bytes;
    uint64_t cached_scripts;
    uint64_t libraries, functions;
} script_stats;
void script_get_stats(script_engine *se, script_stats *out);

/* The Lua debugger (SCRIPT DEBUG YES, redis-cli --ldb: script_ldb.c). Between begin and end, an
 * EVAL of `body` runs with a session open: it stops before its first line, and the debugger
 * talks to the client through io, blocking (read: bytes read, <= 0 once the client is gone;
 * write: best effort; now_ms: a monotonic clock, the engine has none). A run with no stop for
 * timeout_ms (0: 5 s) stops as if at a breakpoint.
 * end sends "<endsession>": the caller then writes the EVAL's reply. */
typedef struct {
    long (*read)(void *ctx, char *buf, size_t cap);
    void (*write)(void *ctx, const char *p, size_t len);
    int64_t (*now_ms)(void *ctx);
    void *ctx;
} script_ldb_io;
void script_ldb_begin(script_engine *se, const char *body, size_t len, const script_ldb_io *io,
                      int64_t timeout_ms);
void script_ldb_end(script_engine *se);

#endif
