/* script_pre.c — which scripts' preludes stop at once (docs/scripting.md "The prelude").
 *
 * A write script's prelude runs it until its first data command. For a script whose first
 * statement is that command, `redis.call('INCR', KEYS[1])` say, the prelude does nothing but
 * start Lua and stop it: this file finds such scripts once, when they are compiled, by reading
 * the bytecode of the compiled chunk (lua_dump's documented Lua 5.1 format, header checked),
 * so that eval_cmd can stop the prelude without running it. Only a straight line of
 * instructions that cannot fail, loop or touch anything is accepted before the call:
 *
 *   GETGLOBAL of redis, KEYS or ARGV (globals a script cannot change: the sandbox's globals
 *     and the redis table are read-only proxies, setfenv / getfenv / debug are gone);
 *   GETTABLE redis.call / redis.pcall (the proxy's field: l_redis_call / l_redis_pcall);
 *   GETTABLE KEYS[n] / ARGV[n] with a constant integer n >= 1 (a string when the call has that
 *     many keys / arguments, checked per call by sprelude_stops; else nil, and the prelude
 *     would end in an error that must be answered unlogged, so it runs);
 *   LOADK of a string or number constant, MOVE;
 *
 * then CALL / TAILCALL of redis.call / pcall with a fixed number (>= 1) of those values, the
 * first a string that names a data command (a constant checked here, or a KEYS / ARGV element
 * checked per call with data_cmd_lookup, as redis_generic does). Such a call is exactly where a
 * prelude stops (redis_generic: arguments all strings or numbers, then data_cmd_lookup of the
 * first), having had no effect: no reply, no call event, no instruction-count hook (the first
 * fires after SCRIPT_HOOK_EVERY instructions). Anything else: no plan, the prelude runs. */
#include <lauxlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "script/script_internal.h"
#include "util/assert.h"

#define PRE_DUMP_MAX   (1u << 20) /* bytes of lua_dump kept; a longer chunk gets no plan */
#define PRE_INSNS_MAX  64         /* instructions read before the call */
#define PRE_INDEX_MAX  1000000    /* largest KEYS / ARGV index a plan names */
#define PRE_MAX_REGS   256
#define PRE_MAX_CONSTS (1 << 18) /* Bx's range */

/* Lua 5.1's instruction format and opcodes (lopcodes.h, not installed by Debian's -dev). */
#define OP(i)     ((int)((i)&0x3F))
#define ARG_A(i)  ((int)(((i) >> 6) & 0xFF))
#define ARG_C(i)  ((int)(((i) >> 14) & 0x1FF))
#define ARG_B(i)  ((int)(((i) >> 23) & 0x1FF))
#define ARG_BX(i) ((int)(((i) >> 14) & 0x3FFFF))
#define RK_IS_K   0x100
enum {
    OP_MOVE = 0,
    OP_LOADK = 1,
    OP_GETGLOBAL = 5,
    OP_GETTABLE = 6,
    OP_CALL = 28,
    OP_TAILCALL = 29,
};

typedef struct {
    char *p;
    size_t len, cap;
} dumpbuf;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    dumpbuf *b = ud;
    if (sz > PRE_DUMP_MAX - b->len) return 1; /* too long: stop the dump */
    if (b->len + sz > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 4096;
        while (ncap < b->len + sz)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) return 1;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, p, sz);
    b->len += sz;
    return 0;
}

typedef struct {
    const unsigned char *p, *end;
} rd;

static int rd_bytes(rd *r, void *out, size_t n)
{
    if ((size_t)(r->end - r->p) < n) return -1;
    if (out) memcpy(out, r->p, n);
    r->p += n;
    return 0;
}

static int rd_int(rd *r, int *v)
{
    int32_t x;
    if (rd_bytes(r, &x, sizeof x) < 0 || x < 0) return -1;
    *v = x;
    return 0;
}

static int rd_size(rd *r, size_t *v)
{
    uint64_t x;
    if (rd_bytes(r, &x, sizeof x) < 0 || x > (uint64_t)(r->end - r->p)) return -1;
    *v = (size_t)x;
    return 0;
}

/* A constant of the chunk's main function, as the analysis needs it. */
enum { K_OTHER, K_STR, K_NUM };
typedef struct {
    int type;
    const char *s; /* K_STR: in the dump (no NUL counted in len) */
    size_t len;
    double num;
} kconst;

/* An abstract register: what the straight line put there. */
enum { V_NONE, V_REDIS, V_KEYS, V_ARGV, V_CALL, V_STR, V_NUM, V_KEY, V_ARG };
typedef struct {
    int kind;
    int idx; /* V_STR: constant index; V_KEY / V_ARG: 1-based element */
} aval;

static int kstr_is(const kconst *k, const char *s)
{
    return k->type == K_STR && k->len == strlen(s) && memcmp(k->s, s, k->len) == 0;
}

/* RK(x) as a constant, or NULL (a register) */
static const kconst *rk_const(const kconst *ks, int nk, int x)
{
    if (!(x & RK_IS_K) || (x & 0xFF) >= nk) return NULL;
    return &ks[x & 0xFF];
}

static int analyse(const uint32_t *code, int ncode, const kconst *ks, int nk, sprelude_plan *plan)
{
    static const aval none = {V_NONE, 0};
    aval reg[PRE_MAX_REGS];
    for (int i = 0; i < PRE_MAX_REGS; i++)
        reg[i] = none;
    for (int pc = 0; pc < ncode && pc < PRE_INSNS_MAX; pc++) {
        uint32_t in = code[pc];
        int a = ARG_A(in), b = ARG_B(in), c = ARG_C(in), bx = ARG_BX(in);
        switch (OP(in)) {
        case OP_MOVE: reg[a] = b < PRE_MAX_REGS ? reg[b] : none; break;
        case OP_LOADK:
            if (bx >= nk || ks[bx].type == K_OTHER) return -1;
            reg[a] = (aval){ks[bx].type == K_STR ? V_STR : V_NUM, bx};
            break;
        case OP_GETGLOBAL:
            if (bx >= nk) return -1;
            if (kstr_is(&ks[bx], "redis"))
                reg[a] = (aval){V_REDIS, 0};
            else if (kstr_is(&ks[bx], "KEYS"))
                reg[a] = (aval){V_KEYS, 0};
            else if (kstr_is(&ks[bx], "ARGV"))
                reg[a] = (aval){V_ARGV, 0};
            else
                return -1; /* another global may not exist (an error) */
            break;
        case OP_GETTABLE: {
            const kconst *k = rk_const(ks, nk, c);
            if (!k) return -1;
            if (reg[b].kind == V_REDIS && (kstr_is(k, "call") || kstr_is(k, "pcall"))) {
                reg[a] = (aval){V_CALL, 0};
            } else if ((reg[b].kind == V_KEYS || reg[b].kind == V_ARGV) && k->type == K_NUM &&
                       k->num >= 1 && k->num <= PRE_INDEX_MAX && k->num == (double)(int)k->num) {
                reg[a] = (aval){reg[b].kind == V_KEYS ? V_KEY : V_ARG, (int)k->num};
            } else {
                return -1;
            }
            break;
        }
        case OP_CALL:
        case OP_TAILCALL: {
            if (reg[a].kind != V_CALL || b < 2 || a + b - 1 >= PRE_MAX_REGS) return -1;
            *plan = (sprelude_plan){0, 0, 0, 0};
            for (int j = a + 1; j <= a + b - 1; j++) {
                const aval *v = &reg[j];
                if (v->kind == V_KEY && v->idx > plan->max_key) plan->max_key = v->idx;
                if (v->kind == V_ARG && v->idx > plan->max_arg) plan->max_arg = v->idx;
                if (v->kind != V_KEY && v->kind != V_ARG && v->kind != V_STR && v->kind != V_NUM)
                    return -1;
            }
            const aval *cmd = &reg[a + 1];
            if (cmd->kind == V_STR) {
                if (!data_cmd_lookup(ks[cmd->idx].s, ks[cmd->idx].len)) return -1;
                plan->cmd_from = SPRE_CMD_CONST;
            } else if (cmd->kind == V_KEY || cmd->kind == V_ARG) {
                plan->cmd_from = cmd->kind == V_KEY ? SPRE_CMD_KEY : SPRE_CMD_ARG;
                plan->cmd_idx = cmd->idx;
            } else {
                return -1; /* a number: "%.17g" names no command */
            }
            return 0;
        }
        default: return -1;
        }
    }
    return -1;
}

/* Reads the dump of a main chunk up to its constants and analyses it. */
static int analyse_dump(const unsigned char *p, size_t len, sprelude_plan *plan)
{
    /* ESC "Lua", version 5.1, official format, little-endian, int 4, size_t 8, Instruction 4,
     * lua_Number 8, floating-point */
    static const unsigned char header[12] = {0x1B, 'L', 'u', 'a', 0x51, 0, 1, 4, 8, 4, 8, 0};
    rd r = {p, p + len};
    unsigned char h[12], fh[4];
    size_t srclen;
    int line, lastline, ncode, nk;
    if (rd_bytes(&r, h, sizeof h) < 0 || memcmp(h, header, sizeof h) != 0) return -1;
    if (rd_size(&r, &srclen) < 0 || rd_bytes(&r, NULL, srclen) < 0) return -1;
    if (rd_int(&r, &line) < 0 || rd_int(&r, &lastline) < 0 || rd_bytes(&r, fh, 4) < 0) return -1;
    if (rd_int(&r, &ncode) < 0 || (size_t)(r.end - r.p) / 4 < (size_t)ncode) return -1;
    const unsigned char *code_at = r.p;
    r.p += (size_t)ncode * 4;
    if (rd_int(&r, &nk) < 0 || nk > PRE_MAX_CONSTS) return -1;
    kconst *ks = calloc(nk ? (size_t)nk : 1, sizeof *ks);
    uint32_t *code = malloc((ncode < PRE_INSNS_MAX ? (size_t)ncode : PRE_INSNS_MAX) * 4 + 4);
    int rc = -1;
    if (!ks || !code) goto out;
    int ncopy = ncode < PRE_INSNS_MAX ? ncode : PRE_INSNS_MAX;
    memcpy(code, code_at, (size_t)ncopy * 4);
    for (int i = 0; i < nk; i++) {
        unsigned char t;
        if (rd_bytes(&r, &t, 1) < 0) goto out;
        if (t == 0) { /* nil */
            ks[i].type = K_OTHER;
        } else if (t == 1) { /* boolean */
            if (rd_bytes(&r, NULL, 1) < 0) goto out;
            ks[i].type = K_OTHER;
        } else if (t == 3) { /* number */
            if (rd_bytes(&r, &ks[i].num, sizeof ks[i].num) < 0) goto out;
            ks[i].type = K_NUM;
        } else if (t == 4) { /* string: its length counts a trailing NUL */
            size_t n;
            if (rd_size(&r, &n) < 0 || n == 0) goto out;
            ks[i].type = K_STR;
            ks[i].s = (const char *)r.p;
            ks[i].len = n - 1;
            r.p += n;
        } else {
            goto out;
        }
    }
    rc = analyse(code, ncopy, ks, nk, plan);
out:
    free(ks);
    free(code);
    return rc;
}

int sprelude_analyse(lua_State *L, sprelude_plan *plan)
{
    SYN_ASSERT(lua_isfunction(L, -1));
    dumpbuf b = {NULL, 0, 0};
    int rc = -1;
    if (lua_dump(L, dump_writer, &b) == 0)
        rc = analyse_dump((const unsigned char *)b.p, b.len, plan);
    free(b.p);
    return rc;
}

int sprelude_stops(const sprelude_plan *plan, int argc, const data_arg *argv, long long numkeys)
{
    long long nargs = argc - 3 - numkeys;
    if (plan->max_key > numkeys || plan->max_arg > nargs) return 0;
    if (plan->cmd_from == SPRE_CMD_CONST) return 1;
    const data_arg *cmd = plan->cmd_from == SPRE_CMD_KEY ? &argv[3 + plan->cmd_idx - 1]
                                                         : &argv[3 + numkeys + plan->cmd_idx - 1];
    return data_cmd_lookup(cmd->ptr, cmd->len) != NULL;
}
