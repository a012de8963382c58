/* script_func.c — FUNCTION (LOAD LIST DELETE FLUSH DUMP RESTORE STATS KILL HELP) and FCALL /
 * FCALL_RO, as Redis 7.0.
 *
 * The library is replicated state: FUNCTION LOAD / DELETE / FLUSH / RESTORE are log entries,
 * applied on every replica, and after each change the libraries' code (sorted by name) is
 * stored in the data store's aux blob, which the data snapshot carries. A node that loads a
 * snapshot rebuilds its libraries from that blob (sfunc_sync) before the next function command.
 * Loading a library runs its code; that is deterministic (only redis.register_function and
 * redis.log are reachable then, and a bounded instruction count stops a runaway load the same
 * way everywhere).
 *
 * Library code runs in its own environment: at load time only `redis` (register_function, log,
 * the versions) is visible, as in Redis; when a function runs, the same environment shows the
 * globals EVAL scripts see (without KEYS / ARGV). */
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "script/script_internal.h"
#include "util/assert.h"
#include "util/crc32c.h"
#include "util/log.h"
#include "util/strconv.h"

#define LOAD_MAX_HOOKS 1000 /* x 100000 instructions: the bound on running a library's code */
#define DUMP_MAGIC     "SYNF"
#define DUMP_VERSION   1

/* --- the functions' environment ------------------------------------------------------------- */

static int fenv_index(lua_State *L)
{
    script_engine *se = lua_touserdata(L, lua_upvalueindex(1));
    const char *k = lua_tostring(L, 2);
    if (se->loading) {
        if (k && strcmp(k, "redis") == 0) {
            lua_pushvalue(L, lua_upvalueindex(3));
            return 1;
        }
    } else if (!k || (strcmp(k, "KEYS") != 0 && strcmp(k, "ARGV") != 0)) {
        lua_pushvalue(L, 2);
        lua_rawget(L, lua_upvalueindex(2));
        if (!lua_isnil(L, -1)) return 1;
    }
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      k ? k : "?");
}

static int ro_error(lua_State *L)
{
    return luaL_error(L, "Attempt to modify a readonly table");
}

/* The load-time `redis` table: a missing field is an error, as for the globals. */
static int loadredis_index(lua_State *L)
{
    const char *k = lua_tostring(L, 2);
    return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                      k ? k : "?");
}

static int valid_name(const char *p, size_t n)
{
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

/* Function names are case-insensitive (as Redis's function dict): tables are keyed by the
 * lower-case name, the entry keeps the name as registered. */
static void push_lower(lua_State *L, const char *p, size_t n)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n; i++)
        luaL_addchar(&b, (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]));
    luaL_pushresult(&b);
}

static int reg_fail(lua_State *L, const char *msg)
{
    slua_push_error(L, msg);
    return lua_error(L);
}

/* redis.register_function(name, callback) or redis.register_function{function_name = ...,
 * callback = ..., flags = {...}, description = ...}: into the registry table synod_load_tbl. */
static int l_register_function(lua_State *L)
{
    script_engine *se = lua_touserdata(L, lua_upvalueindex(1));
    if (!se->loading)
        return reg_fail(L, "redis.register_function can only be called on FUNCTION LOAD command");
    int argc = lua_gettop(L);
    if (argc < 1 || argc > 2)
        return reg_fail(L, "wrong number of arguments to redis.register_function");
    uint32_t flags = 0;
    int has_desc = 0;
    lua_settop(L, 2);
    /* stack: 1 arg1, 2 arg2, then 3 name, 4 callback, 5 description */
    if (argc == 2) {
        if (!lua_isstring(L, 1))
            return reg_fail(L, "first argument to redis.register_function must be a string");
        if (!lua_isfunction(L, 2))
            return reg_fail(L, "second argument to redis.register_function must be a function");
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 2);
        lua_pushnil(L);
    } else {
        if (!lua_istable(L, 1))
            return reg_fail(L, "calling redis.register_function with a single argument is only "
                               "applicable to Lua table (representing named arguments).");
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                return reg_fail(L, "named argument key given to redis.register_function is not a "
                                   "string");
            const char *key = lua_tostring(L, -2);
            if (strcasecmp(key, "function_name") == 0) {
                if (!lua_isstring(L, -1))
                    return reg_fail(L, "function_name argument given to redis.register_function "
                                       "must be a string");
                lua_replace(L, 3);
            } else if (strcasecmp(key, "description") == 0) {
                if (!lua_isstring(L, -1))
                    return reg_fail(L, "description argument given to redis.register_function "
                                       "must be a string");
                lua_replace(L, 5);
                has_desc = 1;
            } else if (strcasecmp(key, "callback") == 0) {
                if (!lua_isfunction(L, -1))
                    return reg_fail(L, "callback argument given to redis.register_function must "
                                       "be a function");
                lua_replace(L, 4);
            } else if (strcasecmp(key, "flags") == 0) {
                if (!lua_istable(L, -1))
                    return reg_fail(L, "flags argument to redis.register_function must be a "
                                       "table representing function flags");
                for (int j = 1;; j++) {
                    lua_rawgeti(L, -1, j);
                    if (lua_isnil(L, -1)) {
                        lua_pop(L, 1);
                        break;
                    }
                    size_t fl;
                    const char *f = lua_isstring(L, -1) ? lua_tolstring(L, -1, &fl) : NULL;
                    uint32_t bit;
                    if (!f || sflag_parse(f, fl, &bit) < 0)
                        return reg_fail(L, "unknown flag given");
                    flags |= bit;
                    lua_pop(L, 1);
                }
                lua_pop(L, 1);
            } else {
                return reg_fail(L, "unknown argument given to redis.register_function");
            }
        }
        if (lua_isnil(L, 3))
            return reg_fail(L, "redis.register_function must get a function name argument");
        if (lua_isnil(L, 4))
            return reg_fail(L, "redis.register_function must get a callback argument");
    }
    (void)has_desc;
    size_t nl;
    const char *name = lua_tolstring(L, 3, &nl);
    if (!valid_name(name, nl))
        return reg_fail(L, "Library names can only contain letters, numbers, or underscores(_) "
                           "and must be at least one character long");
    lua_getfield(L, LUA_REGISTRYINDEX, "synod_load_tbl"); /* index 6 */
    push_lower(L, name, nl);                              /* index 7 */
    lua_pushvalue(L, 7);
    lua_rawget(L, 6);
    if (!lua_isnil(L, -1)) return reg_fail(L, "Function already exists in the library");
    lua_pop(L, 1);
    lua_pushvalue(L, 7);
    lua_createtable(L, 0, 4);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "f");
    lua_pushnumber(L, flags);
    lua_setfield(L, -2, "flags");
    lua_pushvalue(L, 5);
    lua_setfield(L, -2, "desc");
    lua_rawset(L, 6);
    return 0;
}

static int l_noop_log(lua_State *L)
{
    (void)L;
    return 0;
}

static int ensure_env(script_engine *se)
{
    lua_State *L = se->L;
    if (se->ref_load_env) return 0;
    /* the load-time redis table */
    lua_newtable(L);
    lua_pushlightuserdata(L, se);
    lua_pushcclosure(L, l_register_function, 1);
    lua_setfield(L, -2, "register_function");
    lua_pushcfunction(L, l_noop_log); /* logging while loading: nothing to say */
    lua_setfield(L, -2, "log");
    static const char *const lv[] = {"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"};
    for (int i = 0; i < 4; i++) {
        lua_pushnumber(L, i);
        lua_setfield(L, -2, lv[i]);
    }
    lua_pushstring(L, SCRIPT_VERSION);
    lua_setfield(L, -2, "REDIS_VERSION");
    lua_pushnumber(L, SCRIPT_VERSION_NUM);
    lua_setfield(L, -2, "REDIS_VERSION_NUM");
    lua_newtable(L); /* its metatable: missing fields are errors, writes refused */
    lua_pushcfunction(L, loadredis_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    int lr = lua_gettop(L);
    /* the environment */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushlightuserdata(L, se);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_real_globals);
    lua_pushvalue(L, lr);
    lua_pushcclosure(L, fenv_index, 3);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, ro_error);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    se->ref_load_env = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    return 0;
}

/* --- libraries ---------------------------------------------------------------------------------
 */

#define LIBMETA_MAX 512 /* bytes of the shebang's words */

typedef struct {
    const char *engine, *name, *code; /* engine and name point into buf */
    size_t engine_len, name_len, code_len;
    char buf[2 * LIBMETA_MAX];
} libmeta;

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* One word of the shebang line, quoted as Redis's sdssplitargs reads it ("..." with \n \xHH
 * escapes, '...'). *len = (size_t)-1 at the end; -1 for unbalanced quotes or a word too long. */
static int meta_token(const char **sp, const char *end, char *out, size_t cap, size_t *len)
{
    const char *s = *sp;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v'))
        s++;
    if (s == end) {
        *sp = s;
        *len = (size_t)-1;
        return 0;
    }
    size_t n = 0;
    int q = 0; /* 0, '"' or '\'' */
    for (;;) {
        if (n + 1 >= cap) return -1;
        if (s == end) {
            if (q) return -1;
            break;
        }
        char c = *s;
        if (!q) {
            if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') break;
            if (c == '"' || c == '\'') {
                q = c;
                s++;
                continue;
            }
            out[n++] = c;
            s++;
            continue;
        }
        if (c == q) { /* a closing quote must end the word */
            s++;
            if (s < end && *s != ' ' && *s != '\t' && *s != '\r') return -1;
            q = 0;
            break;
        }
        if (c == '\\' && s + 1 < end) {
            char e = s[1];
            if (q == '"' && e == 'x' && s + 3 < end && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
                out[n++] = (char)(hexval(s[2]) * 16 + hexval(s[3]));
                s += 4;
                continue;
            }
            if (q == '"') {
                out[n++] = e == 'n'   ? '\n'
                           : e == 'r' ? '\r'
                           : e == 't' ? '\t'
                           : e == 'b' ? '\b'
                           : e == 'a' ? '\a'
                                      : e;
                s += 2;
                continue;
            }
            if (e == '\'') {
                out[n++] = '\'';
                s += 2;
                continue;
            }
        }
        out[n++] = c;
        s++;
    }
    *sp = s;
    *len = n;
    return 0;
}

/* "#!lua name=<name>\n<code>" (Redis's rules; the code keeps the newline: line numbers). */
static int parse_meta(const char *p, size_t len, libmeta *m, char *err, size_t cap)
{
    if (len < 2 || p[0] != '#' || p[1] != '!') {
        snprintf(err, cap, "ERR Missing library metadata");
        return -1;
    }
    const char *nl = memchr(p, '\n', len);
    if (!nl) {
        snprintf(err, cap, "ERR Invalid library metadata");
        return -1;
    }
    memset(m, 0, sizeof *m);
    const char *s = p, *end = nl;
    int part = 0;
    size_t used = 0;
    char tok[LIBMETA_MAX];
    while (s < end) {
        size_t wl;
        if (meta_token(&s, end, tok, sizeof tok, &wl) < 0) {
            snprintf(err, cap, "ERR Invalid library metadata");
            return -1;
        }
        if (wl == (size_t)-1) break; /* no more tokens */
        if (part++ == 0) {
            if (wl < 2) wl = 2;
            memcpy(m->buf + used, tok + 2, wl - 2);
            m->engine = m->buf + used;
            m->engine_len = wl - 2;
            used += wl - 2;
            continue;
        }
        if (wl >= 5 && strncasecmp(tok, "name=", 5) == 0) {
            if (m->name) {
                snprintf(err, cap,
                         "ERR Invalid metadata value, name argument was given multiple times");
                return -1;
            }
            memcpy(m->buf + used, tok + 5, wl - 5);
            m->name = m->buf + used;
            m->name_len = wl - 5;
            used += wl - 5;
            continue;
        }
        snprintf(err, cap, "ERR Invalid metadata value given: %.*s", (int)(wl > 128 ? 128 : wl),
                 tok);
        return -1;
    }
    if (part == 0) {
        snprintf(err, cap, "ERR Invalid library metadata");
        return -1;
    }
    if (!m->name) {
        snprintf(err, cap, "ERR Library name was not given");
        return -1;
    }
    if (!valid_name(m->name, m->name_len)) {
        snprintf(err, cap,
                 "ERR Library names can only contain letters, numbers, or "
                 "underscores(_) and must be at least one character long");
        return -1;
    }
    if (m->engine_len != 3 || strncasecmp(m->engine, "lua", 3) != 0) {
        snprintf(err, cap, "ERR Engine '%.*s' not found",
                 (int)(m->engine_len > 64 ? 64 : m->engine_len), m->engine);
        return -1;
    }
    m->code = nl;
    m->code_len = len - (size_t)(nl - p);
    return 0;
}

static void load_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_getfield(L, LUA_REGISTRYINDEX, "synod_load_hooks");
    int n = (int)lua_tonumber(L, -1) + 1;
    lua_pop(L, 1);
    lua_pushnumber(L, n);
    lua_setfield(L, LUA_REGISTRYINDEX, "synod_load_hooks");
    if (n > LOAD_MAX_HOOKS) luaL_error(L, "FUNCTION LOAD timeout");
}

/* Loads one library into the tables libs (stack index li) and fnidx (fi): replace allows an
 * existing library of that name to be swapped. 0, or -1 with err. */
static int lib_load(script_engine *se, const char *p, size_t len, int replace, int li, int fi,
                    char *err, size_t cap, char *name_out, size_t name_cap)
{
    lua_State *L = se->L;
    libmeta m;
    if (parse_meta(p, len, &m, err, cap) < 0) return -1;
    snprintf(name_out, name_cap, "%.*s", (int)m.name_len, m.name);
    lua_pushlstring(L, m.name, m.name_len);
    lua_rawget(L, li);
    int old = lua_gettop(L); /* the library it replaces, or nil */
    if (!lua_isnil(L, old) && !replace) {
        snprintf(err, cap, "ERR Library '%.*s' already exists", (int)m.name_len, m.name);
        lua_pop(L, 1);
        return -1;
    }
    /* m.code starts at the shebang's newline, so Lua parses it as text, bytecode too: a syntax
     * error at its ESC, as Redis's Lua (which never loads binary chunks) */
    SYN_ASSERT(m.code_len == 0 || m.code[0] == '\n');
    if (luaL_loadbuffer(L, m.code, m.code_len, "@user_function")) {
        snprintf(err, cap, "ERR Error compiling function: %s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return -1;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_load_env);
    lua_setfenv(L, -2);
    lua_newtable(L); /* registered functions (register_function finds it in the registry) */
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "synod_load_tbl");
    lua_insert(L, -2);
    int ft = lua_gettop(L) - 1;
    se->loading = 1;
    lua_pushnumber(L, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, "synod_load_hooks");
    lua_sethook(L, load_hook, LUA_MASKCOUNT, 100000);
    int rc = lua_pcall(L, 0, 0, 0);
    lua_sethook(L, NULL, 0, 0);
    se->loading = 0;
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, "synod_load_tbl");
    if (rc) {
        const char *msg = "ERR unknown error";
        if (lua_istable(L, -1)) {
            lua_getfield(L, -1, "err");
            if (lua_isstring(L, -1)) msg = lua_tostring(L, -1);
        } else if (lua_isstring(L, -1)) {
            lua_pushfstring(L, "ERR %s", lua_tostring(L, -1));
            msg = lua_tostring(L, -1);
        }
        snprintf(err, cap, "ERR Error registering functions: %s", msg);
        lua_settop(L, old - 1);
        return -1;
    }
    lua_pushnil(L);
    if (!lua_next(L, ft)) {
        snprintf(err, cap, "ERR No functions registered");
        lua_settop(L, old - 1);
        return -1;
    }
    lua_pop(L, 2);
    /* no name collision with another library's functions */
    lua_pushnil(L);
    while (lua_next(L, ft)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawget(L, fi);
        int taken = 0;
        if (!lua_isnil(L, -1)) {
            size_t ol;
            const char *owner = lua_tolstring(L, -1, &ol);
            taken = !(ol == m.name_len && memcmp(owner, m.name, ol) == 0);
        }
        lua_pop(L, 1);
        if (taken) {
            lua_pushvalue(L, -1);
            lua_rawget(L, ft);
            lua_getfield(L, -1, "name");
            snprintf(err, cap, "ERR Function %s already exists", lua_tostring(L, -1));
            lua_settop(L, old - 1);
            return -1;
        }
    }
    /* link: the old library's functions go, the new ones come */
    if (!lua_isnil(L, old)) {
        lua_getfield(L, old, "funcs");
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, fi);
        }
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    while (lua_next(L, ft)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushlstring(L, m.name, m.name_len);
        lua_rawset(L, fi);
    }
    lua_pushlstring(L, m.name, m.name_len);
    lua_createtable(L, 0, 2);
    lua_pushlstring(L, p, len);
    lua_setfield(L, -2, "code");
    lua_pushvalue(L, ft);
    lua_setfield(L, -2, "funcs");
    lua_rawset(L, li);
    lua_settop(L, old - 1);
    return 0;
}

/* The library names in libs (stack index li), sorted, as strings kept alive by the table. */
typedef struct {
    const char *p;
    size_t n;
} sstr;

static int sstr_cmp(const void *a, const void *b)
{
    const sstr *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static sstr *lib_names(lua_State *L, int li, size_t *count)
{
    size_t n = 0, cap = 16;
    sstr *v = malloc(cap * sizeof *v);
    SYN_ASSERT(v != NULL);
    lua_pushnil(L);
    while (lua_next(L, li)) {
        lua_pop(L, 1);
        if (n == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            SYN_ASSERT(v != NULL);
        }
        v[n].p = lua_tolstring(L, -1, &v[n].n);
        n++;
    }
    qsort(v, n, sizeof *v, sstr_cmp);
    *count = n;
    return v;
}

size_t script_library_codes(script_engine *se, data_arg **out)
{
    lua_State *L = se->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    int li = lua_gettop(L);
    size_t n;
    sstr *names = lib_names(L, li, &n);
    data_arg *v = malloc((n ? n : 1) * sizeof(*v));
    SYN_ASSERT(v != NULL);
    for (size_t i = 0; i < n; i++) {
        lua_pushlstring(L, names[i].p, names[i].n);
        lua_rawget(L, li);
        lua_getfield(L, -1, "code");
        v[i].ptr = lua_tolstring(L, -1, &v[i].len); /* referenced by the library table */
        lua_pop(L, 2);
    }
    free(names);
    lua_pop(L, 1);
    *out = v;
    return n;
}

static void put32(luaL_Buffer *b, uint32_t v)
{
    char c[4] = {(char)(v >> 24), (char)(v >> 16), (char)(v >> 8), (char)v};
    luaL_addlstring(b, c, 4);
}

/* Pushes the libraries' code as one string: "SYNF" u8 version, then (u32 len, code) per
 * library sorted by name, then the CRC-32C of what precedes (big-endian). */
static void dump_libs(script_engine *se)
{
    lua_State *L = se->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    int li = lua_gettop(L);
    size_t n;
    sstr *names = lib_names(L, li, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, DUMP_MAGIC, 4);
    luaL_addchar(&b, (char)DUMP_VERSION);
    for (size_t i = 0; i < n; i++) {
        lua_pushlstring(L, names[i].p, names[i].n);
        lua_rawget(L, li);
        lua_getfield(L, -1, "code");
        size_t cl;
        const char *code = lua_tolstring(L, -1, &cl);
        lua_pop(L, 2);
        /* the code string stays referenced by the library table */
        put32(&b, (uint32_t)cl);
        luaL_addlstring(&b, code, cl);
    }
    free(names);
    luaL_pushresult(&b);
    size_t len;
    const char *p = lua_tolstring(L, -1, &len);
    uint32_t crc = crc32c(0, p, len);
    char c[4] = {(char)(crc >> 24), (char)(crc >> 16), (char)(crc >> 8), (char)crc};
    lua_pushlstring(L, c, 4);
    lua_concat(L, 2);
    lua_remove(L, li);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks a dump's framing; fills at most max code pieces. Number of libraries, or -1. */
static int parse_dump(const char *p, size_t len, sstr *out, size_t max)
{
    const unsigned char *u = (const unsigned char *)p;
    if (len < 9 || memcmp(p, DUMP_MAGIC, 4) != 0 || u[4] != DUMP_VERSION) return -1;
    if (crc32c(0, p, len - 4) != get32(u + len - 4)) return -1;
    size_t off = 5, end = len - 4;
    int n = 0;
    while (off < end) {
        if (end - off < 4) return -1;
        uint32_t l = get32(u + off);
        off += 4;
        if (l > end - off) return -1;
        if ((size_t)n < max) out[n] = (sstr){p + off, l};
        n++;
        off += l;
    }
    return n;
}

static void count_libs(script_engine *se)
{
    lua_State *L = se->L;
    se->n_libs = se->n_funcs = 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        se->n_libs++;
        lua_getfield(L, -1, "funcs");
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            se->n_funcs++;
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* After a change: the blob the snapshot carries, and the counters. */
static void publish(script_engine *se)
{
    dump_libs(se);
    size_t len;
    const char *p = lua_tolstring(se->L, -1, &len);
    (void)data_set_aux(se->ds, p, len);
    lua_pop(se->L, 1);
    (void)data_get_aux(se->ds, NULL, &se->aux_gen);
    count_libs(se);
}

/* Builds fresh tables from the code pieces (each loaded with replace off); on success they
 * become the library. 0, or -1 with err (nothing changed). */
static int rebuild(script_engine *se, const sstr *codes, size_t n, char *err, size_t cap)
{
    lua_State *L = se->L;
    lua_newtable(L);
    int li = lua_gettop(L);
    lua_newtable(L);
    int fi = lua_gettop(L);
    char name[128];
    for (size_t i = 0; i < n; i++) {
        if (lib_load(se, codes[i].p, codes[i].n, 0, li, fi, err, cap, name, sizeof name) < 0) {
            lua_pop(L, 2);
            return -1;
        }
    }
    lua_rawseti(L, LUA_REGISTRYINDEX, se->ref_fnidx);
    lua_rawseti(L, LUA_REGISTRYINDEX, se->ref_libs);
    return 0;
}

void sfunc_sync(script_engine *se)
{
    uint64_t gen;
    size_t len;
    const char *p = data_get_aux(se->ds, &len, &gen);
    if (gen == se->aux_gen) return;
    ensure_env(se);
    se->aux_gen = gen;
    int n = len ? parse_dump(p, len, NULL, 0) : 0;
    sstr *codes = NULL;
    char err[512] = "";
    if (n > 0) {
        codes = malloc((size_t)n * sizeof *codes);
        SYN_ASSERT(codes != NULL);
        (void)parse_dump(p, len, codes, (size_t)n);
    }
    if (n < 0 || rebuild(se, codes, n > 0 ? (size_t)n : 0, err, sizeof err) < 0) {
        /* the blob came from a checksummed snapshot written by this code: a library that no
         * longer loads is reported, and the library is left empty rather than half built */
        syn_log(SYN_LOG_WARN, "function library from the snapshot not loaded: %s",
                n < 0 ? "malformed" : err);
        (void)rebuild(se, NULL, 0, err, sizeof err);
    }
    free(codes);
    count_libs(se);
}

/* --- commands -----------------------------------------------------------------------------------
 */

static int glob_match(const char *p, size_t pl, const char *s, size_t sl)
{
    while (pl) {
        switch (*p) {
        case '*':
            while (pl > 1 && p[1] == '*')
                p++, pl--;
            if (pl == 1) return 1;
            for (size_t i = 0; i <= sl; i++)
                if (glob_match(p + 1, pl - 1, s + i, sl - i)) return 1;
            return 0;
        case '?':
            if (!sl) return 0;
            s++, sl--;
            break;
        case '[': {
            if (!sl) return 0;
            p++, pl--;
            int neg = pl && *p == '^';
            if (neg) p++, pl--;
            int hit = 0;
            while (pl && *p != ']') {
                if (*p == '\\' && pl >= 2) {
                    p++, pl--;
                    if (*p == *s) hit = 1;
                } else if (pl >= 3 && p[1] == '-') {
                    char a = p[0], b = p[2];
                    if (a > b) {
                        char t = a;
                        a = b, b = t;
                    }
                    if (*s >= a && *s <= b) hit = 1;
                    p += 2, pl -= 2;
                } else if (*p == *s) {
                    hit = 1;
                }
                p++, pl--;
            }
            if (neg) hit = !hit;
            if (!hit) return 0;
            s++, sl--;
            if (!pl) return 0;
            break;
        }
        case '\\':
            if (pl >= 2) p++, pl--;
            /* fall through */
        default:
            if (!sl || *p != *s) return 0;
            s++, sl--;
        }
        p++, pl--;
    }
    return sl == 0;
}

static void reply_cstr(const script_out *o, const char *s)
{
    o->ops->bulk(o->ctx, s, strlen(s));
}

static void list_cmd(script_engine *se, int argc, const data_arg *argv, const script_out *out)
{
    lua_State *L = se->L;
    int with_code = 0;
    const data_arg *pat = NULL;
    for (int i = 2; i < argc; i++) {
        if (!with_code && sarg_is(&argv[i], "withcode")) {
            with_code = 1;
            continue;
        }
        if (!pat && sarg_is(&argv[i], "libraryname")) {
            if (i >= argc - 1) {
                sreply_error(out, "ERR library name argument was not given");
                return;
            }
            pat = &argv[++i];
            continue;
        }
        sreply_errorf(out, "ERR Unknown argument %.*s",
                      (int)(argv[i].len > 128 ? 128 : argv[i].len), argv[i].ptr);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    int li = lua_gettop(L);
    size_t n;
    sstr *names = lib_names(L, li, &n);
    size_t shown = 0;
    for (size_t i = 0; i < n; i++)
        if (!pat || glob_match(pat->ptr, pat->len, names[i].p, names[i].n)) shown++;
    out->ops->array(out->ctx, shown);
    for (size_t i = 0; i < n; i++) {
        if (pat && !glob_match(pat->ptr, pat->len, names[i].p, names[i].n)) continue;
        lua_pushlstring(L, names[i].p, names[i].n);
        lua_rawget(L, li);
        int lib = lua_gettop(L);
        out->ops->map(out->ctx, with_code ? 4 : 3);
        reply_cstr(out, "library_name");
        out->ops->bulk(out->ctx, names[i].p, names[i].n);
        reply_cstr(out, "engine");
        reply_cstr(out, "LUA");
        reply_cstr(out, "functions");
        lua_getfield(L, lib, "funcs");
        int ft = lua_gettop(L);
        size_t nf;
        sstr *fnames = lib_names(L, ft, &nf);
        out->ops->array(out->ctx, nf);
        for (size_t j = 0; j < nf; j++) {
            lua_pushlstring(L, fnames[j].p, fnames[j].n);
            lua_rawget(L, ft);
            out->ops->map(out->ctx, 3);
            reply_cstr(out, "name");
            lua_getfield(L, -1, "name");
            size_t nl;
            const char *nm = lua_tolstring(L, -1, &nl);
            out->ops->bulk(out->ctx, nm, nl);
            lua_pop(L, 1);
            reply_cstr(out, "description");
            lua_getfield(L, -1, "desc");
            if (lua_isstring(L, -1)) {
                size_t dl;
                const char *d = lua_tolstring(L, -1, &dl);
                out->ops->bulk(out->ctx, d, dl);
            } else {
                out->ops->null(out->ctx);
            }
            lua_pop(L, 1);
            reply_cstr(out, "flags");
            lua_getfield(L, -1, "flags");
            uint32_t fl = (uint32_t)lua_tonumber(L, -1);
            lua_pop(L, 1);
            static const char *const fn[] = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
                                             "allow-cross-slot-keys"};
            size_t k = 0;
            for (int b = 0; b < 5; b++)
                k += (fl >> b) & 1;
            out->ops->set(out->ctx, k);
            for (int b = 0; b < 5; b++)
                if ((fl >> b) & 1) out->ops->status(out->ctx, fn[b], strlen(fn[b]));
            lua_pop(L, 1);
        }
        free(fnames);
        lua_pop(L, 1);
        if (with_code) {
            reply_cstr(out, "library_code");
            lua_getfield(L, lib, "code");
            size_t cl;
            const char *c = lua_tolstring(L, -1, &cl);
            out->ops->bulk(out->ctx, c, cl);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    free(names);
    lua_pop(L, 1);
}

static int load_cmd(script_engine *se, int argc, const data_arg *argv, const script_out *out)
{
    int replace = 0, pos = 2;
    while (pos < argc - 1) {
        const data_arg *a = &argv[pos++];
        if (sarg_is(a, "replace")) {
            replace = 1;
            continue;
        }
        sreply_errorf(out, "ERR Unknown option given: %.*s", (int)(a->len > 128 ? 128 : a->len),
                      a->ptr);
        return 0;
    }
    if (pos >= argc) {
        sreply_error(out, "ERR Function code is missing");
        return 0;
    }
    lua_State *L = se->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_fnidx);
    int li = lua_gettop(L) - 1;
    char err[512], name[128];
    int rc = lib_load(se, argv[pos].ptr, argv[pos].len, replace, li, li + 1, err, sizeof err, name,
                      sizeof name);
    lua_pop(L, 2);
    if (rc < 0) {
        sreply_error(out, err);
        return 0;
    }
    publish(se);
    out->ops->bulk(out->ctx, name, strlen(name));
    return 1;
}

static int delete_cmd(script_engine *se, const data_arg *name, const script_out *out)
{
    lua_State *L = se->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    lua_pushlstring(L, name->ptr, name->len);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 2);
        sreply_error(out, "ERR Library not found");
        return 0;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_fnidx);
    lua_getfield(L, -2, "funcs");
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, -5);
    }
    lua_pop(L, 3);
    lua_pushlstring(L, name->ptr, name->len);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    publish(se);
    out->ops->status(out->ctx, "OK", 2);
    return 1;
}

static int restore_cmd(script_engine *se, int argc, const data_arg *argv, const script_out *out)
{
    enum { R_APPEND, R_REPLACE, R_FLUSH } policy = R_APPEND;
    if (argc > 4) {
        sreply_errorf(out,
                      "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                      "FUNCTION HELP.",
                      (int)argv[1].len, argv[1].ptr);
        return 0;
    }
    if (argc == 4) {
        if (sarg_is(&argv[3], "flush"))
            policy = R_FLUSH;
        else if (sarg_is(&argv[3], "replace"))
            policy = R_REPLACE;
        else if (!sarg_is(&argv[3], "append")) {
            sreply_error(out, "ERR Wrong restore policy given, value should be either FLUSH, "
                              "APPEND or REPLACE.");
            return 0;
        }
    }
    int nr = parse_dump(argv[2].ptr, argv[2].len, NULL, 0);
    if (nr < 0) {
        sreply_error(out, "ERR DUMP payload version or checksum are wrong");
        return 0;
    }
    lua_State *L = se->L;
    dump_libs(se); /* the current code, kept alive on the stack while the pieces point into it */
    size_t cl;
    const char *cur = lua_tolstring(L, -1, &cl);
    int nc = policy == R_FLUSH ? 0 : parse_dump(cur, cl, NULL, 0);
    SYN_ASSERT(nc >= 0);
    sstr *codes = malloc(((size_t)nr + (size_t)nc + 1) * sizeof *codes);
    SYN_ASSERT(codes != NULL);
    (void)parse_dump(argv[2].ptr, argv[2].len, codes, (size_t)nr);
    char err[512];
    size_t n = (size_t)nr;
    int rc = 0;
    if (nc > 0) {
        sstr *curv = malloc((size_t)nc * sizeof *curv);
        SYN_ASSERT(curv != NULL);
        (void)parse_dump(cur, cl, curv, (size_t)nc);
        for (int i = 0; i < nc && rc == 0; i++) {
            libmeta cm;
            if (parse_meta(curv[i].p, curv[i].n, &cm, err, sizeof err) < 0) continue;
            int clash = 0;
            for (int j = 0; j < nr; j++) {
                libmeta rm;
                if (parse_meta(codes[j].p, codes[j].n, &rm, err, sizeof err) == 0 &&
                    rm.name_len == cm.name_len && memcmp(rm.name, cm.name, cm.name_len) == 0)
                    clash = 1;
            }
            if (clash && policy == R_APPEND) {
                snprintf(err, sizeof err, "ERR Library %.*s already exists", (int)cm.name_len,
                         cm.name);
                rc = -1;
            } else if (!clash) {
                codes[n++] = curv[i];
            }
        }
        free(curv);
    }
    if (rc == 0) rc = rebuild(se, codes, n, err, sizeof err);
    free(codes);
    lua_pop(L, 1);
    if (rc < 0) {
        sreply_error(out, err);
        return 0;
    }
    publish(se);
    out->ops->status(out->ctx, "OK", 2);
    return 1;
}

static const char *const function_help[] = {
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using "
    "FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a "
    "restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
    "abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
    "replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance "
    "of failure",
    "      in case of functions name collision with another library).",
};

static void help(const script_out *out)
{
    size_t n = sizeof function_help / sizeof function_help[0];
    out->ops->array(out->ctx, n + 3);
    const char *head = "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:";
    out->ops->status(out->ctx, head, strlen(head));
    for (size_t i = 0; i < n; i++)
        out->ops->status(out->ctx, function_help[i], strlen(function_help[i]));
    out->ops->status(out->ctx, "HELP", 4);
    out->ops->status(out->ctx, "    Prints this help.", 21);
}

static int function_cmd(script_engine *se, int argc, const data_arg *argv, const script_out *out)
{
    const data_arg *sub = &argv[1];
    if (sarg_is(sub, "load") && argc >= 3) return load_cmd(se, argc, argv, out);
    if (sarg_is(sub, "list")) {
        list_cmd(se, argc, argv, out);
        return 0;
    }
    if (sarg_is(sub, "delete") && argc == 3) return delete_cmd(se, &argv[2], out);
    if (sarg_is(sub, "flush") && argc <= 3) {
        if (argc == 3 && !sarg_is(&argv[2], "sync") && !sarg_is(&argv[2], "async")) {
            sreply_error(out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
            return 0;
        }
        char err[64];
        (void)rebuild(se, NULL, 0, err, sizeof err);
        lua_gc(se->L, LUA_GCCOLLECT, 0);
        publish(se);
        out->ops->status(out->ctx, "OK", 2);
        return 1;
    }
    if (sarg_is(sub, "dump") && argc == 2) {
        dump_libs(se);
        size_t len;
        const char *p = lua_tolstring(se->L, -1, &len);
        out->ops->bulk(out->ctx, p, len);
        lua_pop(se->L, 1);
        return 0;
    }
    if (sarg_is(sub, "restore") && argc >= 3) return restore_cmd(se, argc, argv, out);
    if (sarg_is(sub, "stats") && argc == 2) {
        out->ops->map(out->ctx, 2);
        reply_cstr(out, "running_script");
        out->ops->null(out->ctx);
        reply_cstr(out, "engines");
        out->ops->map(out->ctx, 1);
        reply_cstr(out, "LUA");
        out->ops->map(out->ctx, 2);
        reply_cstr(out, "libraries_count");
        out->ops->integer(out->ctx, (long long)se->n_libs);
        reply_cstr(out, "functions_count");
        out->ops->integer(out->ctx, (long long)se->n_funcs);
        return 0;
    }
    if (sarg_is(sub, "kill") && argc == 2) {
        sreply_error(out, "NOTBUSY No scripts in execution right now.");
        return 0;
    }
    if (sarg_is(sub, "help") && argc == 2) {
        help(out);
        return 0;
    }
    sreply_errorf(out,
                  "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                  "FUNCTION HELP.",
                  (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
    return 0;
}

/* Pushes the function's entry {f, flags, desc} or nil. */
static void find_function(script_engine *se, const data_arg *name)
{
    lua_State *L = se->L;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_fnidx);
    push_lower(L, name->ptr, name->len);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, se->ref_libs);
    lua_insert(L, -2);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    lua_getfield(L, -1, "funcs");
    lua_remove(L, -2);
    push_lower(L, name->ptr, name->len);
    lua_rawget(L, -2);
    lua_remove(L, -2);
}

static int fcall_cmd(script_engine *se, int argc, const data_arg *argv, const script_env *env,
                     const script_out *out, int ro)
{
    lua_State *L = se->L;
    find_function(se, &argv[1]);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        sreply_error(out, "ERR Function not found");
        return 0;
    }
    long long numkeys = 0;
    int bad = !syn_string2ll(argv[2].ptr, argv[2].len, &numkeys); /* Redis: "01", "\t1" bad */
    const char *err = bad ? "ERR Bad number of keys provided"
                      : numkeys > argc - 3
                          ? "ERR Number of keys can't be greater than number of args"
                      : numkeys < 0 ? "ERR Number of keys can't be negative"
                                    : NULL;
    lua_getfield(L, -1, "flags");
    uint32_t flags = (uint32_t)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!err && ro && !(flags & SFLAG_NO_WRITES))
        err = "ERR Can not execute a script with write flag using *_ro command.";
    if (err) {
        lua_pop(L, 1);
        sreply_error(out, err);
        return 0;
    }
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(argv[1].len > 100 ? 100 : argv[1].len), argv[1].ptr);
    if (env->oom && !(flags & (SFLAG_ALLOW_OOM | SFLAG_NO_WRITES))) {
        lua_pop(L, 1); /* Redis's check as the run starts (the gate refused it on the leader) */
        sreply_error(out, "OOM allow-oom flag is not set on the script, can not run it when used "
                          "memory > 'maxmemory'");
        return 0;
    }
    srun r = {env, 2, 0, 0, name, out->caller ? out->caller : out->ctx, flags, 0, 1, argc, argv};
    r.read_only = ro || (flags & SFLAG_NO_WRITES) || !env->replicated;
    lua_getfield(L, -1, "f");
    lua_remove(L, -2);
    lua_createtable(L, (int)numkeys, 0);
    for (long long i = 0; i < numkeys; i++) {
        lua_pushlstring(L, argv[3 + i].ptr, argv[3 + i].len);
        lua_rawseti(L, -2, (int)i + 1);
    }
    lua_createtable(L, argc - 3 - (int)numkeys, 0);
    for (int i = 3 + (int)numkeys; i < argc; i++) {
        lua_pushlstring(L, argv[i].ptr, argv[i].len);
        lua_rawseti(L, -2, i - 2 - (int)numkeys);
    }
    slua_call(se, &r, 2, out);
    return r.dirty;
}

int sfunc_route(script_engine *se, int argc, const data_arg *argv)
{
    const data_arg *a = &argv[0];
    if (sarg_is(a, "fcall_ro")) return argc < 3 ? SCRIPT_LOCAL : SCRIPT_READ;
    if (sarg_is(a, "fcall")) {
        if (argc < 3) return SCRIPT_LOCAL;
        sfunc_sync(se);
        find_function(se, &argv[1]);
        uint32_t flags = 0;
        if (!lua_isnil(se->L, -1)) {
            lua_getfield(se->L, -1, "flags");
            flags = (uint32_t)lua_tonumber(se->L, -1);
            lua_pop(se->L, 1);
        }
        lua_pop(se->L, 1);
        return (flags & SFLAG_NO_WRITES) ? SCRIPT_READ : SCRIPT_WRITE;
    }
    if (sarg_is(a, "function")) {
        if (argc < 2) return SCRIPT_LOCAL;
        const data_arg *s = &argv[1];
        /* wrong arity is answered where it is (Redis's arity error, not logged) */
        if (sarg_is(s, "load") || sarg_is(s, "restore"))
            return argc >= 3 ? SCRIPT_WRITE : SCRIPT_LOCAL;
        if (sarg_is(s, "delete")) return argc == 3 ? SCRIPT_WRITE : SCRIPT_LOCAL;
        if (sarg_is(s, "flush")) return SCRIPT_WRITE;
        if (sarg_is(s, "list")) return SCRIPT_READ;
        if (sarg_is(s, "dump") || sarg_is(s, "stats"))
            return argc == 2 ? SCRIPT_READ : SCRIPT_LOCAL;
        return SCRIPT_LOCAL;
    }
    return SCRIPT_NONE;
}

int sfunc_oom_policy(script_engine *se, int argc, const data_arg *argv)
{
    const data_arg *a = &argv[0];
    if (sarg_is(a, "fcall") || sarg_is(a, "fcall_ro")) {
        if (argc < 3) return SCRIPT_OOM_OK;
        sfunc_sync(se);
        find_function(se, &argv[1]);
        int found = !lua_isnil(se->L, -1);
        uint32_t flags = 0;
        if (found) {
            lua_getfield(se->L, -1, "flags");
            flags = (uint32_t)lua_tonumber(se->L, -1);
            lua_pop(se->L, 1);
        }
        lua_pop(se->L, 1);
        /* a function always declares its flags (Redis: no-writes implies allow-oom) */
        return found && !(flags & (SFLAG_NO_WRITES | SFLAG_ALLOW_OOM)) ? SCRIPT_OOM_DENY
                                                                       : SCRIPT_OOM_OK;
    }
    if (sarg_is(a, "function") && argc >= 3 &&
        (sarg_is(&argv[1], "load") || sarg_is(&argv[1], "restore")))
        return SCRIPT_OOM_DENY; /* deny-oom commands in Redis */
    return SCRIPT_OOM_OK;
}

int sfunc_write_policy(script_engine *se, int argc, const data_arg *argv)
{
    const data_arg *a = &argv[0];
    if (sarg_is(a, "fcall")) {
        if (argc < 3) return SCRIPT_WRITES_NONE;
        sfunc_sync(se);
        find_function(se, &argv[1]);
        uint32_t flags = SFLAG_NO_WRITES; /* unknown: answered with its error */
        if (!lua_isnil(se->L, -1)) {
            lua_getfield(se->L, -1, "flags");
            flags = (uint32_t)lua_tonumber(se->L, -1);
            lua_pop(se->L, 1);
        }
        lua_pop(se->L, 1);
        return (flags & SFLAG_NO_WRITES) ? SCRIPT_WRITES_NONE : SCRIPT_WRITES_DECLARED;
    }
    /* Redis's write commands among FUNCTION's subcommands */
    if (sarg_is(a, "function") && argc >= 2 &&
        (sarg_is(&argv[1], "load") || sarg_is(&argv[1], "restore") || sarg_is(&argv[1], "delete") ||
         sarg_is(&argv[1], "flush")))
        return SCRIPT_WRITES_DECLARED;
    return SCRIPT_WRITES_NONE;
}

int sfunc_exec(script_engine *se, int argc, const data_arg *argv, const script_env *env,
               const script_out *out)
{
    const data_arg *a = &argv[0];
    ensure_env(se);
    sfunc_sync(se);
    int ro = sarg_is(a, "fcall_ro");
    if (ro || sarg_is(a, "fcall")) {
        if (argc < 3) {
            sreply_errorf(out, "ERR wrong number of arguments for '%s' command",
                          ro ? "fcall_ro" : "fcall");
            return 0;
        }
        return fcall_cmd(se, argc, argv, env, out, ro);
    }
    if (sarg_is(a, "function") && argc >= 2) return function_cmd(se, argc, argv, out);
    sreply_errorf(out, "ERR unknown command '%.*s'", (int)(a->len > 128 ? 128 : a->len), a->ptr);
    return 0;
}
