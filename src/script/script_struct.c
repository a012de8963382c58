/* script_struct.c — the sandbox's `struct` library: binary packing in the format language of
 * Roberto Ierusalimschy's struct library as Redis 7.0 ships it (written here from that format's
 * documentation and black-box comparison with redis-server, not from its source).
 *
 *   struct.pack(fmt, v1, ...)     the packed string
 *   struct.unpack(fmt, s [, pos]) the values, then the 1-based position after them
 *   struct.size(fmt)              the packed size (error for 's' and 'c0')
 *
 * Format: '<' little / '>' big endian (default little), '![n]' align to n (a power of 2, default
 * 8), 'x' a zero byte, 'b'/'B' 'h'/'H' 'l'/'L' signed/unsigned 1/2/8 bytes, 'T' 8 bytes,
 * 'i[n]'/'I[n]' n bytes (default 4, at most 32), 'f'/'d' float/double, 'c[n]' n chars ('c0': the
 * whole string when packing, the previous number's length when unpacking), 's' a zero-terminated
 * string, ' ' ignored. Numbers are Lua doubles: a value out of an integer's range packs as x86-64
 * converts it (what Redis's build does), emulated here without undefined behaviour. Integers
 * wider than 8 bytes carry 8 bytes of value and zero (pack) or sign (unpack) above.
 *
 * Pure functions of their arguments: replicas running a script get identical results. */
#include <lauxlib.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "script/script_internal.h"

#define ST_MAX_INT   32 /* bytes of an 'i'/'I' */
#define ST_MAX_ALIGN 8  /* '!' without a number */

typedef struct {
    int big;   /* endianness */
    int align; /* power of 2 */
} st_state;

/* digits after an option, or `dflt` when there are none */
static int st_num(lua_State *L, const char **fmt, int dflt)
{
    if (**fmt < '0' || **fmt > '9') return dflt;
    int a = 0;
    do {
        int d = *(*fmt)++ - '0';
        if (a > (INT_MAX - d) / 10) luaL_error(L, "integral size overflow");
        a = a * 10 + d;
    } while (**fmt >= '0' && **fmt <= '9');
    return a;
}

/* bytes the option takes (0 for controls and 's'); consumes its digits */
static size_t st_size(lua_State *L, int opt, const char **fmt)
{
    switch (opt) {
    case 'b':
    case 'B':
    case 'x': return 1;
    case 'h':
    case 'H': return 2;
    case 'l':
    case 'L':
    case 'T':
    case 'd': return 8;
    case 'f': return 4;
    case 'c': return (size_t)st_num(L, fmt, 1);
    case 'i':
    case 'I': {
        int n = st_num(L, fmt, 4);
        if (n > ST_MAX_INT)
            luaL_error(L, "integral size %d is larger than limit of %d", n, ST_MAX_INT);
        return (size_t)n;
    }
    default: return 0;
    }
}

/* padding before an item of `size` bytes at offset `pos` */
static size_t st_pad(const st_state *st, int opt, size_t pos, size_t size)
{
    if (size == 0 || opt == 'c') return 0;
    if (size > (size_t)st->align) size = (size_t)st->align;
    return (size - (pos & (size - 1))) & (size - 1);
}

/* a control option ('<' '>' '!' ' '); anything else is an error naming `fn`'s first argument */
static void st_control(lua_State *L, int opt, const char **fmt, st_state *st)
{
    switch (opt) {
    case ' ': break;
    case '<': st->big = 0; break;
    case '>': st->big = 1; break;
    case '!': {
        int a = st_num(L, fmt, ST_MAX_ALIGN);
        if (a == 0 || (a & (a - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", a);
        st->align = a;
        break;
    }
    default: luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
    }
}

/* double -> int64 / uint64 as x86-64's cvttsd2si sequences do: out of range is 0x8000... */
static uint64_t to_i64_bits(double d)
{
    if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
        return (uint64_t)1 << 63;
    return (uint64_t)(int64_t)d;
}

static uint64_t to_u64_bits(double d)
{
    if (!(d >= 9223372036854775808.0)) return to_i64_bits(d); /* NaN too */
    return to_i64_bits(d - 9223372036854775808.0) ^ ((uint64_t)1 << 63);
}

static void put_int(lua_State *L, luaL_Buffer *b, int arg, const st_state *st, size_t size)
{
    lua_Number n = luaL_checknumber(L, arg);
    uint64_t v = n < 0 ? to_i64_bits(n) : to_u64_bits(n);
    char buf[ST_MAX_INT];
    for (size_t i = 0; i < size; i++) {
        unsigned char byte = i < 8 ? (unsigned char)(v >> (8 * i)) : 0;
        buf[st->big ? size - 1 - i : i] = (char)byte;
    }
    luaL_addlstring(b, buf, size);
}

/* float/double bytes in the requested order (the host is little-endian) */
static void put_swapped(luaL_Buffer *b, const void *p, size_t size, int big)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < size; i++)
        luaL_addchar(b, (char)s[big ? size - 1 - i : i]);
}

static int st_pack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    st_state st = {0, 1};
    int arg = 2;
    size_t total = 0;
    luaL_Buffer b;
    lua_pushnil(L); /* keeps the buffer's stack use above the arguments */
    luaL_buffinit(L, &b);
    while (*fmt) {
        int opt = (unsigned char)*fmt++;
        size_t size = st_size(L, opt, &fmt);
        size_t pad = st_pad(&st, opt, total, size);
        total += pad;
        while (pad-- > 0)
            luaL_addchar(&b, '\0');
        switch (opt) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I': put_int(L, &b, arg++, &st, size); break;
        case 'x': luaL_addchar(&b, '\0'); break;
        case 'f': {
            float f = (float)luaL_checknumber(L, arg++);
            put_swapped(&b, &f, sizeof f, st.big);
            break;
        }
        case 'd': {
            double d = luaL_checknumber(L, arg++);
            put_swapped(&b, &d, sizeof d, st.big);
            break;
        }
        case 'c':
        case 's': {
            size_t len;
            const char *s = luaL_checklstring(L, arg++, &len);
            if (size == 0) size = len;
            luaL_argcheck(L, len >= size, arg, "string too short");
            luaL_addlstring(&b, s, size);
            if (opt == 's') {
                luaL_addchar(&b, '\0');
                size++;
            }
            break;
        }
        default: st_control(L, opt, &fmt, &st);
        }
        total += size;
    }
    luaL_pushresult(&b);
    return 1;
}

static lua_Number get_int(const unsigned char *p, const st_state *st, int is_signed, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) /* most significant first; bytes above 8 shift out */
        v = (v << 8) | p[st->big ? i : size - 1 - i];
    if (!is_signed) return (lua_Number)v;
    if (size == 0) return 0;
    unsigned shift = (unsigned)(size * 8 - 1) & 63; /* x86 masks the count of Redis's shift */
    uint64_t mask = ~(uint64_t)0 << shift;
    if (v & mask) v |= mask;
    return (lua_Number)(int64_t)v;
}

static int st_unpack(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    size_t len;
    const unsigned char *data = (const unsigned char *)luaL_checklstring(L, 2, &len);
    lua_Integer init = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, init > 0, 3, "offset must be 1 or greater");
    size_t pos = (size_t)init - 1;
    st_state st = {0, 1};
    int n = 0;
    while (*fmt) {
        int opt = (unsigned char)*fmt++;
        size_t size = st_size(L, opt, &fmt);
        pos += st_pad(&st, opt, pos, size);
        luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
        luaL_checkstack(L, 2, "too many results");
        switch (opt) {
        case 'b':
        case 'B':
        case 'h':
        case 'H':
        case 'l':
        case 'L':
        case 'T':
        case 'i':
        case 'I':
            lua_pushnumber(L, get_int(data + pos, &st, opt >= 'a', size));
            n++;
            break;
        case 'x': break;
        case 'f':
        case 'd': {
            unsigned char tmp[8];
            for (size_t i = 0; i < size; i++)
                tmp[i] = data[pos + (st.big ? size - 1 - i : i)];
            if (opt == 'f') {
                float f;
                memcpy(&f, tmp, sizeof f);
                lua_pushnumber(L, (lua_Number)f);
            } else {
                double d;
                memcpy(&d, tmp, sizeof d);
                lua_pushnumber(L, (lua_Number)d);
            }
            n++;
            break;
        }
        case 'c':
            if (size == 0) {
                if (n == 0 || !lua_isnumber(L, -1))
                    luaL_error(L, "format 'c0' needs a previous size");
                size = (size_t)to_u64_bits(lua_tonumber(L, -1));
                lua_pop(L, 1);
                n--;
                luaL_argcheck(L, size <= len && pos <= len - size, 2, "data string too short");
            }
            lua_pushlstring(L, (const char *)data + pos, size);
            n++;
            break;
        case 's': {
            const unsigned char *z = memchr(data + pos, '\0', len - pos);
            if (!z) luaL_error(L, "unfinished string in data");
            size = (size_t)(z - (data + pos)) + 1;
            lua_pushlstring(L, (const char *)data + pos, size - 1);
            n++;
            break;
        }
        default: st_control(L, opt, &fmt, &st);
        }
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos + 1);
    return n + 1;
}

static int st_sizeof(lua_State *L)
{
    const char *fmt = luaL_checkstring(L, 1);
    st_state st = {0, 1};
    size_t pos = 0;
    while (*fmt) {
        int opt = (unsigned char)*fmt++;
        size_t size = st_size(L, opt, &fmt);
        pos += st_pad(&st, opt, pos, size);
        if (opt == 's') luaL_argerror(L, 1, "option 's' has no fixed size");
        if (opt == 'c' && size == 0) luaL_argerror(L, 1, "option 'c0' has no fixed size");
        if (strchr(" <>!", opt)) st_control(L, opt, &fmt, &st); /* Redis ignores others here */
        pos += size;
    }
    lua_pushinteger(L, (lua_Integer)pos);
    return 1;
}

int slua_open_struct(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, st_pack);
    lua_setfield(L, -2, "pack");
    lua_pushcfunction(L, st_unpack);
    lua_setfield(L, -2, "unpack");
    lua_pushcfunction(L, st_sizeof);
    lua_setfield(L, -2, "size");
    return 1;
}
