/* script_internal.h — state shared by the files of src/script. */
#ifndef SYNOD_SCRIPT_SCRIPT_INTERNAL_H
#define SYNOD_SCRIPT_SCRIPT_INTERNAL_H

#include <lua.h>
#include <stdint.h>

#include "script/script.h"

#define SCRIPT_VERSION     "7.0.15" /* redis.REDIS_VERSION: the Redis whose behaviour we follow */
#define SCRIPT_VERSION_NUM 0x0007000f

/* Script flags (shebang "#!lua flags=..." and FUNCTION's register_function flags). */
enum {
    SFLAG_NO_WRITES = 1u << 0,
    SFLAG_ALLOW_OOM = 1u << 1,
    SFLAG_ALLOW_STALE = 1u << 2,
    SFLAG_NO_CLUSTER = 1u << 3,
    SFLAG_ALLOW_CROSS_SLOT = 1u << 4,
    SFLAG_EVAL_COMPAT = 1u << 5, /* an EVAL script without a shebang: Redis's pre-7 rules */
};

#define SCRIPT_HOOK_EVERY     100000 /* Lua instructions between two checks of the bound */
#define SCRIPT_PRELUDE_EVENTS 32     /* call events a prelude run holds (script_prelude_done) */

/* One script invocation. */
typedef struct srun {
    const script_env *env;
    int resp;         /* 2 or 3: how redis.call replies are converted (redis.setresp) */
    int read_only;    /* write commands refused */
    int dirty;        /* the dataset changed */
    const char *name; /* for error messages: the sha (EVAL) or the function name (FCALL) */
    void *out_ctx;    /* the script_out's caller or ctx (the caller's connection, NULL if none) */
    uint32_t flags;   /* SFLAG_*: the script's or function's */
    int wrote;        /* a write command was called (not killable; OOM checks stop) */
    int is_function;  /* FCALL: FUNCTION KILL stops it, not SCRIPT KILL */
    int argc;         /* the command (FUNCTION STATS while it runs) */
    const data_arg *argv;
} srun;

struct script_engine {
    data_store *ds;
    lua_State *L;
    int ref_real_globals; /* registry refs */
    int ref_scripts;      /* sha -> {f = function, body = string, flags = number} */
    int ref_bodies;       /* body -> the same entries (spares a SHA1 per EVAL) */
    int ref_errh;         /* the error handler (adds source and line to errors) */
    int ref_sort;         /* sorts a reply table in place (determinism, see script.h) */
    int ref_ro;           /* weak set of read-only proxies */
    int ref_libs;     /* function libraries: name -> {code, funcs = {name -> {f, flags, desc}}} */
    int ref_fnidx;    /* function name -> library name */
    int ref_load_env; /* the environment library code runs in at FUNCTION LOAD */
    uint64_t n_scripts;
    uint64_t n_libs, n_funcs;
    uint64_t aux_gen;           /* the data store's aux generation the libraries were built from */
    uint64_t rng;               /* math.random state: seeded from the entry at each run */
    srun *run;                  /* the invocation in progress (NULL between runs) */
    script_call_hook call_hook; /* script_set_call_hook; NULL = none */
    script_call_hook call_done_hook; /* script_set_call_done_hook; NULL = none */
    void *call_hook_ctx;
    script_acl_hook acl_hook; /* script_set_acl_hook; NULL = none */
    void *acl_hook_ctx;
    uint64_t max_hooks;     /* script_set_max_instructions / SCRIPT_HOOK_EVERY; 0 = no bound */
    uint64_t hooks;         /* count hooks of the run in progress */
    script_busy_cb busy_cb; /* script_set_busy_hook; NULL = none */
    void *busy_ctx;
    uint64_t run_id; /* of the run in progress (script_run_info.run_id) */
    int busy_called; /* the busy hook saw the run in progress */
    int killed;      /* the run in progress was killed (SCRIPT KILL / FUNCTION KILL) */
    int prelude_hit; /* a prelude run reached its first data command: it stops there */
    int called_read; /* the last script_exec's run called a read-only data command */
    data_arg *argv;  /* redis.call's arguments, copied out of Lua (script_lua.c) */
    size_t argv_cap;
    char *abuf;
    size_t abuf_cap;

    uint64_t prelude_skips; /* preludes stopped without running Lua (script_pre.c) */
    int prelude_fast_off;   /* script_set_prelude_fast(se, 0): every prelude runs */
    /* function registration in progress (FUNCTION LOAD) */
    int loading;
    /* a prelude run's call events, held until script_prelude_done (at most
     * SCRIPT_PRELUDE_EVENTS: later ones are not counted); names and errors truncated */
    struct {
        int event, argc;
        char name[2][32];
        size_t name_len[2];
        char err[128];
        size_t err_len;
    } held_ev[SCRIPT_PRELUDE_EVENTS];
    int n_held_ev;
    struct sldb *ldb; /* a debugging session (script_ldb.c); NULL = none */
};

/* script_ldb.c: the debugger's side of a run. sldb_hook is the line / count hook while a
 * session is open; sldb_logging: redis.call logs its command (sldb_log_call) and the reply on
 * the stack's top (sldb_log_reply); redis.breakpoint() (1 if a session is open) and
 * redis.debug(...) (the whole stack). */
void sldb_hook(script_engine *se, lua_State *L, lua_Debug *ar);
int sldb_logging(const script_engine *se);
void sldb_log_call(script_engine *se, int argc, const data_arg *argv);
void sldb_log_reply(script_engine *se, lua_State *L, int resp3);
void sldb_log_error(script_engine *se, const char *p, size_t len, int dash); /* "<error> [-]p" */
int sldb_breakpoint(script_engine *se);
void sldb_debug(script_engine *se, lua_State *L);

/* script_lua.c */
int slua_init(script_engine *se);
/* Pushes a Lua error table {err = "CODE msg"}: msg "-CODE text" keeps its code, otherwise
 * "ERR " is prepended (Redis's luaPushError). */
void slua_push_error(lua_State *L, const char *msg);
/* Runs the function under the error handler (stack: function, then nargs arguments) as `name`,
 * and replies its result or error to out. */
void slua_call(script_engine *se, srun *r, int nargs, const script_out *out);
/* Makes t (at idx) read-only by returning a proxy on the stack. */
void slua_readonly_proxy(script_engine *se, int idx);
/* SHA1 of p as 40 lower-case hex digits + NUL. */
/* script_msgpack.c / script_struct.c: push the `cmsgpack` / `struct` library table */
int slua_open_cmsgpack(lua_State *L);
int slua_open_struct(lua_State *L);

void slua_sha1hex(char out[41], const char *p, size_t len);

/* script_pre.c: a script whose prelude would stop at once, at its first statement (docs/
 * scripting.md "The prelude"): its first call's needs, checked per call by sprelude_stops */
enum { SPRE_CMD_CONST, SPRE_CMD_KEY, SPRE_CMD_ARG };
typedef struct {
    int max_key, max_arg; /* the largest KEYS / ARGV index the call passes (0: none) */
    int cmd_from;         /* its command name: a constant naming a data command, or ... */
    int cmd_idx;          /* ... KEYS[cmd_idx] / ARGV[cmd_idx], looked up per call */
} sprelude_plan;
/* The compiled chunk on top of L (left there): 0 with *plan if its prelude stops at once
 * whenever sprelude_stops says so, or -1. */
int sprelude_analyse(lua_State *L, sprelude_plan *plan);
/* 1 if a call with these arguments (argv of EVAL / EVALSHA, numkeys keys) stops there. */
int sprelude_stops(const sprelude_plan *plan, int argc, const data_arg *argv, long long numkeys);

/* script_func.c */
int sfunc_exec(script_engine *se, int argc, const data_arg *argv, const script_env *env,
               const script_out *out);
int sfunc_route(script_engine *se, int argc, const data_arg *argv);
int sfunc_oom_policy(script_engine *se, int argc, const data_arg *argv);   /* script_oom_policy */
int sfunc_write_policy(script_engine *se, int argc, const data_arg *argv); /* ... write_policy */
void sfunc_sync(script_engine *se); /* rebuild the libraries if a snapshot replaced them */

/* script_eval.c: error reply helpers */
void sreply_error(const script_out *out, const char *msg);
void sreply_errorf(const script_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int sarg_is(const data_arg *a, const char *s);
int sflag_parse(const char *p, size_t len, uint32_t *flag);
int parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip, char *err,
                  size_t err_cap);

#endif
