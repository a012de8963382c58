/* script_msgpack.c — the sandbox's `cmsgpack` library: MessagePack encode/decode with the
 * observable behaviour of Redis 7.0's lua-cmsgpack 0.4.0 (written here from the MessagePack spec
 * and black-box comparison with redis-server, not from its source).
 *
 *   cmsgpack.pack(v1, ...)            the encodings of each value, concatenated
 *   cmsgpack.unpack(s)                every value encoded in s
 *   cmsgpack.unpack_one(s [, off])    next offset (-1 at the end), then one value
 *   cmsgpack.unpack_limit(s, n [, off]) next offset (-1 at the end), then up to n values
 *
 * Encoding rules (Redis's): a number equal to an int64 is the smallest integer form, else a
 * float32 when that holds it exactly, else a float64; a table whose keys are exactly 1..n is an
 * array (so {} is an empty array), else a map in lua_next order; tables nested deeper than
 * MP_MAX_NESTING, functions, userdata and threads encode as nil. Decoding turns str into
 * strings, reads a uint64 as an int64 (as Redis does) and rejects bin, ext and 0xc1 ("Bad data
 * format in input.").
 *
 * Both are pure functions of their arguments, so replicas running the same script agree, with
 * one caveat shared with pairs(): a map's order follows lua_next, which for keys that are tables
 * or functions depends on addresses. Output is capped at MP_MAX_OUT bytes (shared references can
 * make a small table expand exponentially), a Lua error like every other bad input. */
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "script/script_internal.h"

#define MP_MAX_NESTING 16                  /* tables below this depth encode as nil */
#define MP_MAX_OUT     ((size_t)512 << 20) /* bytes of one pack() result */

/* ---- encoding ---- */

typedef struct {
    lua_State *L;
    int slot; /* stack index of the userdata holding the bytes (kept alive through errors) */
    unsigned char *p;
    size_t len, cap;
} mp_out;

static void out_reserve(mp_out *o, size_t n)
{
    if (n <= o->cap - o->len) return;
    if (n > MP_MAX_OUT || o->len > MP_MAX_OUT - n)
        luaL_error(o->L, "MessagePack pack output larger than %d bytes", (int)MP_MAX_OUT);
    size_t cap = o->cap * 2;
    while (cap - o->len < n)
        cap *= 2;
    unsigned char *p = lua_newuserdata(o->L, cap);
    memcpy(p, o->p, o->len);
    lua_replace(o->L, o->slot);
    o->p = p;
    o->cap = cap;
}

static void out_bytes(mp_out *o, const void *p, size_t n)
{
    out_reserve(o, n);
    memcpy(o->p + o->len, p, n);
    o->len += n;
}

/* a type byte followed by the low `n` bytes of v, big-endian */
static void out_be(mp_out *o, unsigned char type, uint64_t v, int n)
{
    unsigned char b[9];
    b[0] = type;
    for (int i = 0; i < n; i++)
        b[1 + i] = (unsigned char)(v >> (8 * (n - 1 - i)));
    out_bytes(o, b, (size_t)n + 1);
}

static void out_int(mp_out *o, int64_t v)
{
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u <= 0x7f)
            out_be(o, (unsigned char)u, 0, 0);
        else if (u <= 0xff)
            out_be(o, 0xcc, u, 1);
        else if (u <= 0xffff)
            out_be(o, 0xcd, u, 2);
        else if (u <= 0xffffffffu)
            out_be(o, 0xce, u, 4);
        else
            out_be(o, 0xcf, u, 8);
    } else {
        uint64_t u = (uint64_t)v;
        if (v >= -32)
            out_be(o, (unsigned char)(u & 0xff), 0, 0);
        else if (v >= INT8_MIN)
            out_be(o, 0xd0, u, 1);
        else if (v >= INT16_MIN)
            out_be(o, 0xd1, u, 2);
        else if (v >= INT32_MIN)
            out_be(o, 0xd2, u, 4);
        else
            out_be(o, 0xd3, u, 8);
    }
}

static void out_number(mp_out *o, lua_Number d)
{
    /* integral and inside int64's range: [-2^63, 2^63) */
    if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
        out_int(o, (int64_t)d);
        return;
    }
    float f = (float)d; /* inf and values float holds exactly take 5 bytes; NaN never compares */
    if (!isnan(d) && (double)f == d) {
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        out_be(o, 0xca, u, 4);
    } else {
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        out_be(o, 0xcb, u, 8);
    }
}

static void out_header(mp_out *o, size_t n, unsigned char fix, unsigned fixmax, unsigned char t8,
                       unsigned char t16, unsigned char t32)
{
    if (n <= fixmax)
        out_be(o, (unsigned char)(fix | n), 0, 0);
    else if (t8 && n <= 0xff)
        out_be(o, t8, n, 1);
    else if (n <= 0xffff)
        out_be(o, t16, n, 2);
    else
        out_be(o, t32, n, 4);
}

/* the table at the top: are its keys exactly 1..n? *n_out: how many keys */
static int table_is_array(lua_State *L, size_t *n_out)
{
    size_t count = 0;
    lua_Number max = 0;
    int array = 1;
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        count++;
        lua_Number k;
        if (lua_type(L, -1) == LUA_TNUMBER && (k = lua_tonumber(L, -1)) > 0 && k == floor(k)) {
            if (k > max) max = k;
        } else {
            array = 0;
        }
    }
    *n_out = count;
    return array && max == (lua_Number)count;
}

static void out_value(mp_out *o, int depth);

static void out_table(mp_out *o, int depth)
{
    lua_State *L = o->L;
    luaL_checkstack(L, 3, "MessagePack pack");
    size_t n;
    if (table_is_array(L, &n)) {
        out_header(o, n, 0x90, 15, 0, 0xdc, 0xdd);
        for (size_t i = 1; i <= n; i++) {
            lua_rawgeti(L, -1, (int)i);
            out_value(o, depth + 1);
            lua_pop(L, 1);
        }
        return;
    }
    out_header(o, n, 0x80, 15, 0, 0xde, 0xdf);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pushvalue(L, -2);
        out_value(o, depth + 1); /* key */
        lua_pop(L, 1);
        out_value(o, depth + 1); /* value */
        lua_pop(L, 1);
    }
}

/* the value at the top of the stack, at nesting `depth` (the top-level values are 0) */
static void out_value(mp_out *o, int depth)
{
    lua_State *L = o->L;
    switch (lua_type(L, -1)) {
    case LUA_TBOOLEAN: out_be(o, lua_toboolean(L, -1) ? 0xc3 : 0xc2, 0, 0); break;
    case LUA_TNUMBER: out_number(o, lua_tonumber(L, -1)); break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        out_header(o, len, 0xa0, 31, 0xd9, 0xda, 0xdb);
        out_bytes(o, s, len);
        break;
    }
    case LUA_TTABLE:
        if (depth < MP_MAX_NESTING) {
            out_table(o, depth);
            break;
        }
        out_be(o, 0xc0, 0, 0); /* too deep */
        break;
    default: out_be(o, 0xc0, 0, 0); break;
    }
}

static int mp_pack(lua_State *L)
{
    int nargs = lua_gettop(L);
    if (nargs == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
    mp_out o = {L, nargs + 1, NULL, 0, 64};
    o.p = lua_newuserdata(L, o.cap);
    for (int i = 1; i <= nargs; i++) {
        lua_pushvalue(L, i);
        out_value(&o, 0);
        lua_pop(L, 1);
    }
    lua_pushlstring(L, (const char *)o.p, o.len);
    return 1;
}

/* ---- decoding ---- */

typedef struct {
    lua_State *L;
    const unsigned char *p;
    size_t left;
} mp_in;

static void in_need(mp_in *in, size_t n)
{
    if (in->left < n) luaL_error(in->L, "Missing bytes in input.");
}

static uint64_t in_be(mp_in *in, int n)
{
    in_need(in, (size_t)n);
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | in->p[i];
    in->p += n;
    in->left -= (size_t)n;
    return v;
}

static int64_t sign_extend(uint64_t v, int n)
{
    uint64_t sign = (uint64_t)1 << (8 * n - 1);
    return (int64_t)((v ^ sign) - sign);
}

static void in_value(mp_in *in);

/* Redis's messages when the Lua stack (LUAI_MAXCSTACK slots) runs out: deep nesting or many
 * top-level values; an array asks for two slots, so its message wins for nested arrays */
static const char too_many[] =
    "too many return values at once; use unpack_one or unpack_limit instead.";

static void in_string(mp_in *in, size_t len)
{
    in_need(in, len);
    lua_pushlstring(in->L, (const char *)in->p, len);
    in->p += len;
    in->left -= len;
}

static void in_array(mp_in *in, uint64_t n)
{
    lua_State *L = in->L;
    luaL_checkstack(L, 2, "in function mp_decode_to_lua_array");
    lua_newtable(L);
    for (uint64_t i = 1; i <= n; i++) {
        lua_pushnumber(L, (lua_Number)i);
        in_value(in);
        lua_settable(L, -3);
    }
}

static void in_map(mp_in *in, uint64_t n)
{
    lua_State *L = in->L;
    lua_newtable(L);
    for (uint64_t i = 0; i < n; i++) {
        in_value(in); /* key */
        in_value(in); /* value */
        lua_settable(L, -3);
    }
}

/* decodes one value onto the stack, or raises a Lua error */
static void in_value(mp_in *in)
{
    lua_State *L = in->L;
    luaL_checkstack(L, 1, too_many);
    unsigned b = (unsigned)in_be(in, 1);
    if (b <= 0x7f) {
        lua_pushnumber(L, b);
    } else if (b >= 0xe0) {
        lua_pushnumber(L, (lua_Number)((int)b - 256));
    } else if (b >= 0xa0 && b <= 0xbf) {
        in_string(in, b & 0x1f);
    } else if (b >= 0x90 && b <= 0x9f) {
        in_array(in, b & 0x0f);
    } else if (b >= 0x80 && b <= 0x8f) {
        in_map(in, b & 0x0f);
    } else {
        switch (b) {
        case 0xc0: lua_pushnil(L); break;
        case 0xc2: lua_pushboolean(L, 0); break;
        case 0xc3: lua_pushboolean(L, 1); break;
        case 0xcc: lua_pushnumber(L, (lua_Number)in_be(in, 1)); break;
        case 0xcd: lua_pushnumber(L, (lua_Number)in_be(in, 2)); break;
        case 0xce: lua_pushnumber(L, (lua_Number)in_be(in, 4)); break;
        case 0xcf: lua_pushnumber(L, (lua_Number)(int64_t)in_be(in, 8)); break; /* Redis's */
        case 0xd0: lua_pushnumber(L, (lua_Number)sign_extend(in_be(in, 1), 1)); break;
        case 0xd1: lua_pushnumber(L, (lua_Number)sign_extend(in_be(in, 2), 2)); break;
        case 0xd2: lua_pushnumber(L, (lua_Number)sign_extend(in_be(in, 4), 4)); break;
        case 0xd3: lua_pushnumber(L, (lua_Number)(int64_t)in_be(in, 8)); break;
        case 0xca: {
            uint32_t u = (uint32_t)in_be(in, 4);
            float f;
            memcpy(&f, &u, sizeof f);
            lua_pushnumber(L, (lua_Number)f);
            break;
        }
        case 0xcb: {
            uint64_t u = in_be(in, 8);
            double d;
            memcpy(&d, &u, sizeof d);
            lua_pushnumber(L, (lua_Number)d);
            break;
        }
        case 0xd9: in_string(in, (size_t)in_be(in, 1)); break;
        case 0xda: in_string(in, (size_t)in_be(in, 2)); break;
        case 0xdb: in_string(in, (size_t)in_be(in, 4)); break;
        case 0xdc: in_array(in, in_be(in, 2)); break;
        case 0xdd: in_array(in, in_be(in, 4)); break;
        case 0xde: in_map(in, in_be(in, 2)); break;
        case 0xdf: in_map(in, in_be(in, 4)); break;
        default: /* 0xc1, bin and ext */ luaL_error(L, "Bad data format in input.");
        }
    }
}

/* Decodes up to `limit` values (all when limit < 0) from s[offset..]; the stack holds only s.
 * With `with_offset`, the next offset (-1 when the input is used up) comes first. */
static int unpack_from(lua_State *L, long long limit, long long offset, int with_offset)
{
    size_t len;
    const char *s = luaL_checklstring(L, 1, &len);
    if (offset < 0 || (with_offset && limit < 0))
        return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                          (int)offset, (int)len); /* sic: Redis prints the length */
    if ((unsigned long long)offset > len)
        return luaL_error(L, "Start offset %d greater than input length %d.", (int)offset,
                          (int)len);
    mp_in in = {L, (const unsigned char *)s + offset, len - (size_t)offset};
    int n = 0;
    if (with_offset) {
        lua_pushnil(L); /* the offset's slot */
        n++;
    }
    while (in.left > 0 && (limit < 0 || n - with_offset < limit)) {
        if (n >= INT_MAX - 1) return luaL_error(L, "too many results to unpack");
        in_value(&in);
        n++;
    }
    if (with_offset) {
        lua_pushinteger(L, in.left == 0 ? -1 : (lua_Integer)(len - in.left));
        lua_replace(L, 2);
    }
    return n;
}

static int mp_unpack(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    return unpack_from(L, -1, 0, 0);
}

static int mp_unpack_one(lua_State *L)
{
    luaL_checkstring(L, 1);
    long long offset = (long long)luaL_optinteger(L, 2, 0);
    lua_settop(L, 1);
    return unpack_from(L, 1, offset, 1);
}

static int mp_unpack_limit(lua_State *L)
{
    luaL_checkstring(L, 1);
    long long limit = (long long)luaL_checkinteger(L, 2);
    long long offset = (long long)luaL_optinteger(L, 3, 0);
    lua_settop(L, 1);
    return unpack_from(L, limit, offset, 1);
}

int slua_open_cmsgpack(lua_State *L)
{
    static const luaL_Reg fns[] = {{"pack", mp_pack},
                                   {"unpack", mp_unpack},
                                   {"unpack_one", mp_unpack_one},
                                   {"unpack_limit", mp_unpack_limit},
                                   {NULL, NULL}};
    lua_newtable(L);
    for (const luaL_Reg *f = fns; f->name; f++) {
        lua_pushcfunction(L, f->func);
        lua_setfield(L, -2, f->name);
    }
    static const char *const info[][2] = {
        {"_NAME", "cmsgpack"},
        {"_VERSION", "lua-cmsgpack 0.4.0"},
        {"_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo"},
        {"_DESCRIPTION", "MessagePack C implementation for Lua"},
    };
    for (size_t i = 0; i < sizeof info / sizeof info[0]; i++) {
        lua_pushstring(L, info[i][0 + 1]);
        lua_setfield(L, -2, info[i][0]);
    }
    return 1;
}
