/* script_eval.c — the engine's entry points, EVAL / EVALSHA / EVAL_RO / EVALSHA_RO and SCRIPT
 * (LOAD EXISTS FLUSH KILL HELP), with the script cache and the shebang flags. */
#include <lauxlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "script/script_internal.h"
#include "util/assert.h"
#include "util/strconv.h"

int sarg_is(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

void sreply_error(const script_out *out, const char *msg)
{
    out->ops->error(out->ctx, msg, strlen(msg));
}

void sreply_errorf(const script_out *out, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    for (int i = 0; i < n; i++) /* an error is one line */
        if (buf[i] == '\r' || buf[i] == '\n') buf[i] = ' ';
    out->ops->error(out->ctx, buf, (size_t)n);
}

static void reply_help(const script_out *out, const char *cmd, const char *const *lines, size_t n)
{
    char head[128];
    int k = snprintf(head, sizeof head,
                     "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    out->ops->array(out->ctx, n + 3);
    out->ops->status(out->ctx, head, (size_t)k);
    for (size_t i = 0; i < n; i++)
        out->ops->status(out->ctx, lines[i], strlen(lines[i]));
    out->ops->status(out->ctx, "HELP", 4);
    out->ops->status(out->ctx, "    Prints this help.", 21);
}

/* --- shebang ---------------------------------------------------------------------------------- */

static const struct {
    const char *name;
    uint32_t flag;
} flag_names[] = {
    {"no-writes", SFLAG_NO_WRITES},
    {"allow-oom", SFLAG_ALLOW_OOM},
    {"allow-stale", SFLAG_ALLOW_STALE},
    {"no-cluster", SFLAG_NO_CLUSTER},
    {"allow-cross-slot-keys", SFLAG_ALLOW_CROSS_SLOT},
};

int sflag_parse(const char *p, size_t len, uint32_t *flag)
{
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++) {
        if (strlen(flag_names[i].name) == len && memcmp(flag_names[i].name, p, len) == 0) {
            *flag = flag_names[i].flag;
            return 0;
        }
    }
    return -1;
}

/* "#!lua flags=a,b" on the first line (Redis 7.0's rules). 0 with *flags and *skip (bytes of
 * the shebang line without its newline, so line numbers stay right), or -1 with err. A body
 * without a shebang gets SFLAG_EVAL_COMPAT. */
int parse_shebang(const char *body, size_t len, uint32_t *flags, size_t *skip, char *err,
                  size_t err_cap)
{
    *flags = 0;
    *skip = 0;
    if (len < 2 || body[0] != '#' || body[1] != '!') {
        *flags = SFLAG_EVAL_COMPAT;
        return 0;
    }
    const char *nl = memchr(body, '\n', len);
    if (!nl) {
        snprintf(err, err_cap, "ERR Invalid script shebang");
        return -1;
    }
    const char *p = body, *end = nl; /* the first word keeps its "#!", as Redis prints it */
    int part = 0;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p == end) break;
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        size_t wl = (size_t)(p - w);
        if (part++ == 0) {
            if (wl != 5 || memcmp(w, "#!lua", 5) != 0) {
                snprintf(err, err_cap, "ERR Unexpected engine in script shebang: %.*s", (int)wl, w);
                return -1;
            }
            continue;
        }
        if (wl >= 6 && memcmp(w, "flags=", 6) == 0) {
            const char *f = w + 6, *fe = p;
            while (f < fe) {
                const char *c = memchr(f, ',', (size_t)(fe - f));
                if (!c) c = fe;
                uint32_t fl;
                if (c > f) {
                    if (sflag_parse(f, (size_t)(c - f), &fl) < 0) {
                        snprintf(err, err_cap, "ERR Unexpected flag in script shebang: %.*s",
                                 (int)(c - f), f);
                        return -1;
                    }
                    *flags |= fl;
                }
                f = c + 1;
            }
            continue;
        }
        snprintf(err, err_cap, "ERR Unknown lua shebang option: %.*s", (int)wl, w);
        return -1;
    }
    if (part == 0) {
        snprintf(err, err_cap, "ERR Invalid engine in script shebang");
        return -1;
    }
    *skip = (size_t)(nl - body);
    return 0;
}

/* --- the script cache ---------------------------------------------------------------------------
 */

/* A cache entry (scripts[sha] and bodies[body]) is a table of five slots (raw integer keys: no
 * string to intern per call); ENTRY_PRE is nil without a plan (script_pre.c) */
enum { ENTRY_F = 1, ENTRY_BODY, ENTRY_FLAGS, ENTRY_SHA, ENTRY_PRE, ENTRY_SLOTS = ENTRY_PRE };

/* Pushes the cache entry of sha (40 hex digits, any case) or nil. */
static void cache_get(script_engine *se, const char *sha, size_t len)
{
    lua_State *L = se->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_scripts);
    if (len != 40) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return;
    }
    char low[40];
    for (int i = 0; i < 40; i++)
        low[i] = (char)(sha[i] >= 'A' && sha[i] <= 'Z' ? sha[i] + 32 : sha[i]);
    lua_pushlstring(L, low, 40);
    lua_rawget(L, -2);
    lua_remove(L, -2);
}

/* Compiles and caches body (or finds it cached): pushes its entry and returns 0, or replies
 * the error to out (if given) and returns -1. sha_out gets its SHA1. */
static int cache_add(script_engine *se, const char *body, size_t len, char sha_out[41],
                     const script_out *out)
{
    lua_State *L = se->L;
    /* every applied EVAL (EVALSHA is logged as EVAL) comes here: a known body's entry is
     * found by the body itself (Lua hashes a sample of a string, then compares it whole) */
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_bodies);
    lua_pushlstring(L, body, len);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_istable(L, -1)) {
        lua_rawgeti(L, -1, ENTRY_SHA);
        SYN_ASSERT(lua_objlen(L, -1) == 40);
        memcpy(sha_out, lua_tostring(L, -1), 40);
        sha_out[40] = '\0';
        lua_pop(L, 1);
        return 0;
    }
    lua_pop(L, 1);
    slua_sha1hex(sha_out, body, len);
    cache_get(se, sha_out, 40);
    if (!lua_isnil(L, -1)) return 0;
    lua_pop(L, 1);
    uint32_t flags;
    size_t skip;
    char err[256];
    if (parse_shebang(body, len, &flags, &skip, err, sizeof err) < 0) {
        if (out) sreply_error(out, err);
        return -1;
    }
    if (len > skip && body[skip] == LUA_SIGNATURE[0]) {
        if (out)
            sreply_error(out, "ERR Error compiling script (new function): binary code "
                              "loading is not allowed");
        return -1;
    }
    if (luaL_loadbuffer(L, body + skip, len - skip, "@user_script")) {
        if (out)
            sreply_errorf(out, "ERR Error compiling script (new function): %s",
                          lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    sprelude_plan plan;
    int has_plan = sprelude_analyse(L, &plan) == 0;
    lua_createtable(L, ENTRY_SLOTS, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, ENTRY_F);
    if (has_plan) {
        lua_pushlstring(L, (const char *)&plan, sizeof plan);
        lua_rawseti(L, -2, ENTRY_PRE);
    }
    lua_pushlstring(L, body, len);
    lua_rawseti(L, -2, ENTRY_BODY);
    lua_pushnumber(L, flags);
    lua_rawseti(L, -2, ENTRY_FLAGS);
    lua_pushlstring(L, sha_out, 40);
    lua_rawseti(L, -2, ENTRY_SHA);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_scripts);
    lua_pushlstring(L, sha_out, 40);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_bodies); /* the same entry, by body */
    lua_pushlstring(L, body, len);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    se->n_scripts++;
    return 0;
}

static uint32_t entry_flags(lua_State *L)
{
    lua_rawgeti(L, -1, ENTRY_FLAGS);
    uint32_t f = (uint32_t)lua_tonumber(L, -1);
    lua_pop(L, 1);
    return f;
}

/* --- EVAL ------------------------------------------------------------------------------------ */

static int parse_numkeys(const data_arg *a, int argc, long long *out, const script_out *o)
{
    long long v;
    if (!syn_string2ll(a->ptr, a->len, &v)) goto bad; /* Redis's rules: no "\t1", "01", "-0" */
    if (v > argc - 3) {
        sreply_error(o, "ERR Number of keys can't be greater than number of args");
        return -1;
    }
    if (v < 0) {
        sreply_error(o, "ERR Number of keys can't be negative");
        return -1;
    }
    *out = v;
    return 0;
bad:
    sreply_error(o, "ERR value is not an integer or out of range");
    return -1;
}

static void push_array(lua_State *L, const data_arg *a, long long n)
{
    lua_createtable(L, (int)n, 0);
    for (long long i = 0; i < n; i++) {
        lua_pushlstring(L, a[i].ptr, a[i].len);
        lua_rawseti(L, -2, (int)i + 1);
    }
}

/* The cache entry on top of the stack has a plan (script_pre.c) that says this prelude would
 * stop at its first statement, at a data command, having done nothing. */
static int prelude_stops_at_once(script_engine *se, int argc, const data_arg *argv,
                                 long long numkeys)
{
    lua_State *L = se->L;
    lua_rawgeti(L, -1, ENTRY_PRE);
    size_t len = 0;
    const char *p = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    sprelude_plan plan;
    int stops = p && len == sizeof plan;
    if (stops) {
        memcpy(&plan, p, sizeof plan);
        stops = sprelude_stops(&plan, argc, argv, numkeys);
    }
    lua_pop(L, 1);
    return stops;
}

static int eval_cmd(script_engine *se, int argc, const data_arg *argv, const script_env *env,
                    const script_out *out, int sha_mode, int ro_cmd)
{
    lua_State *L = se->L;
    long long numkeys;
    if (parse_numkeys(&argv[2], argc, &numkeys, out) < 0) return 0;
    char sha[41];
    if (sha_mode) {
        /* the cache is per node: an applied entry never runs from it (script_rewrite turned
         * EVALSHA into EVAL before logging; what is still EVALSHA fails alike everywhere) */
        if (env->replicated)
            lua_pushnil(L);
        else
            cache_get(se, argv[1].ptr, argv[1].len);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            sreply_error(out, "NOSCRIPT No matching script. Please use EVAL.");
            return 0;
        }
        for (int i = 0; i < 40; i++)
            sha[i] = (char)(argv[1].ptr[i] >= 'A' && argv[1].ptr[i] <= 'Z' ? argv[1].ptr[i] + 32
                                                                           : argv[1].ptr[i]);
        sha[40] = '\0';
    } else if (cache_add(se, argv[1].ptr, argv[1].len, sha, out) < 0) {
        return 0;
    }
    uint32_t flags = entry_flags(L);
    if (!(flags & SFLAG_EVAL_COMPAT) && !(flags & SFLAG_NO_WRITES) && ro_cmd) {
        lua_pop(L, 1);
        sreply_error(out, "ERR Can not execute a script with write flag using *_ro command.");
        return 0;
    }
    if (env->oom && !(flags & (SFLAG_EVAL_COMPAT | SFLAG_ALLOW_OOM | SFLAG_NO_WRITES))) {
        lua_pop(L, 1); /* Redis's check as the run starts (the gate refused it on the leader) */
        sreply_error(out, "OOM allow-oom flag is not set on the script, can not run it when used "
                          "memory > 'maxmemory'");
        return 0;
    }
    if (env->prelude_stop && !se->prelude_fast_off &&
        prelude_stops_at_once(se, argc, argv, numkeys)) {
        lua_pop(L, 1); /* as if it ran to its first statement: no reply, the call is logged */
        *env->prelude_stop = 1;
        se->prelude_skips++;
        return 0;
    }
    srun r = {env, 2, 0, 0, sha, out->caller ? out->caller : out->ctx, flags, 0, 0, argc, argv};
    /* a run served as a read because min-replicas-to-write is not met is refused its writes by
     * that rule instead (-NOREPLICAS) */
    r.read_only = ro_cmd || (flags & SFLAG_NO_WRITES) || (!env->replicated && !env->noreplicas);
    /* KEYS and ARGV are globals of EVAL scripts */
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_real_globals);
    push_array(L, argv + 3, numkeys);
    lua_setfield(L, -2, "KEYS");
    push_array(L, argv + 3 + numkeys, argc - 3 - numkeys);
    lua_setfield(L, -2, "ARGV");
    lua_pop(L, 1);
    lua_rawgeti(L, -1, ENTRY_F);
    lua_remove(L, -2);
    slua_call(se, &r, 0, out);
    return r.dirty;
}

/* --- SCRIPT ------------------------------------------------------------------------------------
 */

static const char *const script_help[] = {
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
};

static void script_cmd(script_engine *se, int argc, const data_arg *argv, const script_out *out)
{
    lua_State *L = se->L; /* replaced by SCRIPT FLUSH */
    const data_arg *sub = &argv[1];
    if (argc == 2 && sarg_is(sub, "help")) {
        reply_help(out, "SCRIPT", script_help, sizeof script_help / sizeof script_help[0]);
    } else if (sarg_is(sub, "flush")) {
        if (argc > 3 || (argc == 3 && !sarg_is(&argv[2], "sync") && !sarg_is(&argv[2], "async"))) {
            sreply_error(out, "ERR SCRIPT FLUSH only support SYNC|ASYNC option");
            return;
        }
        /* as Redis: a new Lua VM (whatever scripts left behind goes with the old one); the
         * function library is rebuilt in it from the data store's copy */
        lua_State *old = se->L;
        se->L = NULL;
        se->ref_load_env = 0;
        se->n_scripts = 0;
        SYN_ASSERT(slua_init(se) == 0); /* only out of memory fails */
        lua_close(old);
        se->aux_gen = UINT64_MAX;
        sfunc_sync(se);
        out->ops->status(out->ctx, "OK", 2);
    } else if (sarg_is(sub, "exists") && argc >= 3) {
        out->ops->array(out->ctx, (size_t)(argc - 2));
        for (int i = 2; i < argc; i++) {
            cache_get(se, argv[i].ptr, argv[i].len);
            out->ops->integer(out->ctx, !lua_isnil(L, -1));
            lua_pop(L, 1);
        }
    } else if (sarg_is(sub, "load") && argc == 3) {
        char sha[41];
        if (cache_add(se, argv[2].ptr, argv[2].len, sha, out) < 0) return;
        lua_pop(L, 1);
        out->ops->bulk(out->ctx, sha, 40);
    } else if (sarg_is(sub, "kill") && argc == 2) {
        sreply_error(out, "NOTBUSY No scripts in execution right now.");
    } else if (sarg_is(sub, "debug") && argc == 3) {
        /* the connection's SCRIPT DEBUG is the server's (server/ldb.c); here only inside EXEC,
         * where Redis too finds EXEC's reply begun */
        sreply_error(out, "ERR SCRIPT DEBUG must be called outside a pipeline");
    } else {
        sreply_errorf(out,
                      "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                      "SCRIPT HELP.",
                      (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
    }
}

/* --- entry points ----------------------------------------------------------------------------- */

script_engine *script_create(data_store *ds)
{
    script_engine *se = calloc(1, sizeof *se);
    if (!se) return NULL;
    se->ds = ds;
    script_set_max_instructions(se, SCRIPT_MAX_INSTRUCTIONS);
    if (slua_init(se) < 0) {
        script_destroy(se);
        return NULL;
    }
    return se;
}

void script_set_acl_hook(script_engine *se, script_acl_hook fn, void *hook_ctx)
{
    se->acl_hook = fn;
    se->acl_hook_ctx = hook_ctx;
}

/* `ACL_AS user <scripting command>` (script_env.acl_user) */
static int acl_prefixed(int argc, const data_arg *argv)
{
    return argc >= 3 && sarg_is(&argv[0], "acl_as");
}

void script_prelude_done(script_engine *se, void *out_ctx, int stopped)
{
    int n = se->n_held_ev;
    se->n_held_ev = 0;
    if (stopped || !se->call_hook || !out_ctx) return;
    for (int i = 0; i < n; i++) {
        data_arg argv[2];
        int k = se->held_ev[i].argc < 2 ? se->held_ev[i].argc : 2;
        for (int j = 0; j < k; j++)
            argv[j] = (data_arg){se->held_ev[i].name[j], se->held_ev[i].name_len[j]};
        se->call_hook(se->call_hook_ctx, out_ctx, se->held_ev[i].argc, argv, se->held_ev[i].event,
                      se->held_ev[i].err, se->held_ev[i].err_len);
    }
}

void script_set_call_done_hook(script_engine *se, script_call_hook fn)
{
    se->call_done_hook = fn;
}

void script_set_call_hook(script_engine *se, script_call_hook fn, void *hook_ctx)
{
    se->call_hook = fn;
    se->call_hook_ctx = hook_ctx;
}

void script_destroy(script_engine *se)
{
    if (!se) return;
    if (se->L) lua_close(se->L);
    free(se->argv);
    free(se->abuf);
    free(se);
}

int script_route(script_engine *se, int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_route(se, argc - 2, argv + 2);
    const data_arg *a = &argv[0];
    if (sarg_is(a, "eval") || sarg_is(a, "evalsha")) {
        if (argc < 3) return SCRIPT_LOCAL;
        uint32_t flags = SFLAG_EVAL_COMPAT;
        if (sarg_is(a, "eval")) {
            size_t skip;
            char err[128];
            if (parse_shebang(argv[1].ptr, argv[1].len, &flags, &skip, err, sizeof err) < 0)
                return SCRIPT_LOCAL; /* answered with the error where it is */
        } else {
            cache_get(se, argv[1].ptr, argv[1].len);
            if (!lua_isnil(se->L, -1)) flags = entry_flags(se->L);
            lua_pop(se->L, 1);
        }
        return (flags & SFLAG_NO_WRITES) ? SCRIPT_READ : SCRIPT_WRITE;
    }
    if (sarg_is(a, "eval_ro") || sarg_is(a, "evalsha_ro"))
        return argc < 3 ? SCRIPT_LOCAL : SCRIPT_READ;
    if (sarg_is(a, "script")) {
        if (argc < 2) return SCRIPT_LOCAL;
        /* wrong arity is answered where it is (Redis's arity error, not logged) */
        if (sarg_is(&argv[1], "load")) return argc == 3 ? SCRIPT_WRITE : SCRIPT_LOCAL;
        if (sarg_is(&argv[1], "flush")) return SCRIPT_WRITE;
        if (sarg_is(&argv[1], "exists")) return argc >= 3 ? SCRIPT_READ : SCRIPT_LOCAL;
        return SCRIPT_LOCAL;
    }
    return sfunc_route(se, argc, argv);
}

int script_rewrite(script_engine *se, int argc, const data_arg *argv, data_arg *rw, int rw_cap,
                   const script_out *out)
{
    if (acl_prefixed(argc, argv)) {
        if (rw && rw_cap < 3) return 0;
        int k =
            script_rewrite(se, argc - 2, argv + 2, rw ? rw + 2 : NULL, rw ? rw_cap - 2 : 0, out);
        if (k <= 0) return k;
        rw[0] = argv[0];
        rw[1] = argv[1];
        return k + 2;
    }
    lua_State *L = se->L;
    char sha[41];
    if ((sarg_is(&argv[0], "eval") || sarg_is(&argv[0], "eval_ro")) && argc >= 3) {
        if (cache_add(se, argv[1].ptr, argv[1].len, sha, out) < 0) return -1;
        lua_pop(L, 1);
        return 0;
    }
    if (sarg_is(&argv[0], "script") && argc == 3 && sarg_is(&argv[1], "load")) {
        if (cache_add(se, argv[2].ptr, argv[2].len, sha, out) < 0) return -1;
        lua_pop(L, 1);
        return 0;
    }
    int ro = sarg_is(&argv[0], "evalsha_ro");
    if (!(ro || sarg_is(&argv[0], "evalsha")) || argc < 3) return 0;
    cache_get(se, argv[1].ptr, argv[1].len);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        if (out) sreply_error(out, "NOSCRIPT No matching script. Please use EVAL.");
        return -1;
    }
    if (argc > rw_cap) {
        lua_pop(L, 1);
        return 0; /* logged as it is: replicas answer NOSCRIPT (eval_cmd) */
    }
    lua_rawgeti(L, -1, ENTRY_BODY);
    size_t len;
    const char *body = lua_tolstring(L, -1, &len);
    lua_pop(L, 2); /* still referenced by the cache */
    rw[0] = ro ? (data_arg){"eval_ro", 7} : (data_arg){"eval", 4};
    rw[1] = (data_arg){body, len};
    for (int i = 2; i < argc; i++)
        rw[i] = argv[i];
    return argc;
}

int script_exec(script_engine *se, int argc, const data_arg *argv, const script_env *env,
                const script_out *out)
{
    SYN_ASSERT(argc > 0);
    if (acl_prefixed(argc, argv)) {
        script_env as = *env;
        as.acl_user = argv[1].ptr;
        as.acl_user_len = argv[1].len;
        return script_exec(se, argc - 2, argv + 2, &as, out);
    }
    const data_arg *a = &argv[0];
    lua_State *L0 = se->L;
    int top = lua_gettop(L0);
    int dirty = 0;
    int db = data_selected(se->ds); /* a SELECT inside does not outlive the script (Redis 7) */
    se->called_read = 0;
    int sha = sarg_is(a, "evalsha") || sarg_is(a, "evalsha_ro");
    int ro = sarg_is(a, "eval_ro") || sarg_is(a, "evalsha_ro");
    if (sha || ro || sarg_is(a, "eval")) {
        if (argc < 3) {
            char name[16];
            snprintf(name, sizeof name, "%.*s", (int)a->len, a->ptr);
            for (char *p = name; *p; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            sreply_errorf(out, "ERR wrong number of arguments for '%s' command", name);
        } else {
            dirty = eval_cmd(se, argc, argv, env, out, sha, ro);
        }
    } else if (sarg_is(a, "script") && argc >= 2) {
        script_cmd(se, argc, argv, out);
    } else {
        dirty = sfunc_exec(se, argc, argv, env, out);
    }
    SYN_ASSERT(se->L != L0 || lua_gettop(se->L) == top); /* SCRIPT FLUSH makes a new state */
    data_select(se->ds, db);
    return dirty;
}

int script_called_read(const script_engine *se)
{
    return se->called_read;
}

uint64_t script_prelude_skips(const script_engine *se)
{
    return se->prelude_skips;
}

void script_set_prelude_fast(script_engine *se, int on)
{
    se->prelude_fast_off = !on;
}

int script_is_call(int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_is_call(argc - 2, argv + 2);
    return argc >= 1 && (sarg_is(&argv[0], "eval") || sarg_is(&argv[0], "evalsha") ||
                         sarg_is(&argv[0], "fcall"));
}

int script_is_cached(script_engine *se, int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_is_cached(se, argc - 2, argv + 2);
    if (argc < 2) return 0;
    lua_State *L = se->L;
    if (sarg_is(&argv[0], "evalsha")) {
        cache_get(se, argv[1].ptr, argv[1].len);
    } else if (sarg_is(&argv[0], "eval")) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_bodies);
        lua_pushlstring(L, argv[1].ptr, argv[1].len);
        lua_rawget(L, -2);
        lua_remove(L, -2);
    } else {
        return 0; /* FCALL: the library is replicated state, this node's may be behind */
    }
    int found = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return found;
}

int script_has_body(int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_has_body(argc - 2, argv + 2);
    return argc >= 1 && sarg_is(&argv[0], "eval");
}

int script_is_fcall(int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_is_fcall(argc - 2, argv + 2);
    return argc >= 1 && sarg_is(&argv[0], "fcall");
}

void script_set_busy_hook(script_engine *se, script_busy_cb cb, void *ctx)
{
    se->busy_cb = cb;
    se->busy_ctx = ctx;
}

/* The flags of the script an EVAL-family call would run (SFLAG_EVAL_COMPAT without a
 * shebang): 1, or 0 if it is not one or would not run (a shebang's error, NOSCRIPT). */
static int eval_flags(script_engine *se, int argc, const data_arg *argv, uint32_t *flags)
{
    const data_arg *a = &argv[0];
    int sha = sarg_is(a, "evalsha") || sarg_is(a, "evalsha_ro");
    if (!sha && !sarg_is(a, "eval") && !sarg_is(a, "eval_ro")) return 0;
    if (argc < 3) return 0;
    *flags = SFLAG_EVAL_COMPAT;
    if (!sha) {
        size_t skip;
        char err[128];
        return parse_shebang(argv[1].ptr, argv[1].len, flags, &skip, err, sizeof err) == 0;
    }
    cache_get(se, argv[1].ptr, argv[1].len);
    int found = !lua_isnil(se->L, -1);
    if (found) *flags = entry_flags(se->L);
    lua_pop(se->L, 1);
    return found;
}

int script_oom_policy(script_engine *se, int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_oom_policy(se, argc - 2, argv + 2);
    const data_arg *a = &argv[0];
    uint32_t flags;
    if (!eval_flags(se, argc, argv, &flags)) return sfunc_oom_policy(se, argc, argv);
    /* Redis: a shebang's flags replace the command's; no-writes implies allow-oom. A script
     * without one (EVAL_RO's too) is judged at its first deny-oom command. */
    if (flags & SFLAG_EVAL_COMPAT)
        return sarg_is(a, "eval") || sarg_is(a, "evalsha") ? SCRIPT_OOM_FIRST_WRITE : SCRIPT_OOM_OK;
    return (flags & (SFLAG_NO_WRITES | SFLAG_ALLOW_OOM)) ? SCRIPT_OOM_OK : SCRIPT_OOM_DENY;
}

int script_write_policy(script_engine *se, int argc, const data_arg *argv)
{
    if (acl_prefixed(argc, argv)) return script_write_policy(se, argc - 2, argv + 2);
    const data_arg *a = &argv[0];
    uint32_t flags;
    if (!eval_flags(se, argc, argv, &flags)) return sfunc_write_policy(se, argc, argv);
    if (sarg_is(a, "eval_ro") || sarg_is(a, "evalsha_ro") || (flags & SFLAG_NO_WRITES))
        return SCRIPT_WRITES_NONE;
    return (flags & SFLAG_EVAL_COMPAT) ? SCRIPT_WRITES_FIRST : SCRIPT_WRITES_DECLARED;
}

void script_set_max_instructions(script_engine *se, uint64_t n)
{
    se->max_hooks = n ? (n + SCRIPT_HOOK_EVERY - 1) / SCRIPT_HOOK_EVERY : 0;
}

void script_get_stats(script_engine *se, script_stats *out)
{
    out->lua_memory_bytes =
        (uint64_t)lua_gc(se->L, LUA_GCCOUNT, 0) * 1024u + (uint64_t)lua_gc(se->L, LUA_GCCOUNTB, 0);
    out->cached_scripts = se->n_scripts;
    out->libraries = se->n_libs;
    out->functions = se->n_funcs;
}
