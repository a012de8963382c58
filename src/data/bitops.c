/* bitops.c — bitmap commands on string values as Redis 7.0: SETBIT GETBIT BITCOUNT BITPOS BITOP
 * BITFIELD BITFIELD_RO. Bit 0 is the most significant bit of byte 0. Writes grow the string with
 * zero bytes; offsets are bounded by proto-max-bulk-len. Every write is deterministic (the log
 * holds the command as given). */
#include <limits.h>
#include <stdint.h>

#include "data/data_internal.h"
#include "util/assert.h"

static const char ERR_OFFSET[] = "ERR bit offset is not an integer or out of range";

/* Redis getBitOffsetFromArgument: a bit offset, or with `hash` a "#n" offset counted in units of
 * `bits`; 0 <= offset and offset / 8 < proto-max-bulk-len. 0 ok, -1 replied. */
static int bit_offset_or_reply(data_call *c, const data_arg *a, int hash, int bits, uint64_t *out)
{
    const char *p = a->ptr;
    size_t n = a->len;
    int usehash = 0;
    long long v;
    if (hash && n > 1 && p[0] == '#') {
        p++;
        n--;
        usehash = 1;
    }
    if (!syn_string2ll(p, n, &v)) {
        reply_err(c, ERR_OFFSET);
        return -1;
    }
    if (usehash) v = (long long)((unsigned long long)v * (unsigned long long)bits); /* wraps */
    if (v < 0 || (v >> 3) >= c->ds->max_string_bytes) {
        reply_err(c, ERR_OFFSET);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* OBJECT ENCODING then reports "raw", as Redis does for every string a bit command wrote (it
 * unshares or creates a raw sds). */
static dentry *mark_raw(dpos pos)
{
    dentry *e = *pos.slot;
    e->flags |= DE_RAW;
    return e;
}

/* The string at key for a write reaching bit `maxbit`: created (zero filled) or grown with zero
 * bytes to hold it. NULL after a WRONGTYPE reply. *grown tells whether the length changed. */
static dentry *string_for_bits(data_call *c, uint64_t maxbit, int *grown)
{
    const data_arg *key = &c->argv[1];
    size_t need = (size_t)(maxbit >> 3) + 1;
    dpos pos;
    *grown = 0;
    if (!ks_write(c, key, &pos)) {
        dentry *e = dentry_new(&c->ds->mem, DT_STRING, key->ptr, key->len, NULL, 0, need + 1, -1);
        e->flags |= DE_RAW;
        memset(dentry_val(e), 0, need);
        e->vlen = (uint32_t)need;
        ks_insert(c, e);
        *grown = 1;
        return e;
    }
    dentry *e = *pos.slot;
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return NULL;
    }
    size_t old = e->vlen;
    if (need > old) {
        e = ks_string_resize(c, pos, need, 1);
        memset(dentry_val(e) + old, 0, need - old);
        *grown = 1;
    }
    return mark_raw(pos);
}

static int get_bit(const unsigned char *p, uint64_t off)
{
    return (p[off >> 3] >> (7 - (off & 7))) & 1;
}

static void put_bit(unsigned char *p, uint64_t off, int v)
{
    unsigned char m = (unsigned char)(1u << (7 - (off & 7)));
    if (v)
        p[off >> 3] |= m;
    else
        p[off >> 3] &= (unsigned char)~m;
}

void cmd_setbit(data_call *c)
{
    uint64_t off;
    long long on;
    if (bit_offset_or_reply(c, &c->argv[2], 0, 0, &off) < 0) return;
    if (!syn_string2ll(c->argv[3].ptr, c->argv[3].len, &on) || (on & ~1ll)) {
        reply_err(c, "ERR bit is not an integer or out of range");
        return;
    }
    int grown, was_dirty = c->dirty;
    dentry *e = string_for_bits(c, off, &grown);
    if (!e) return;
    unsigned char *p = (unsigned char *)dentry_val(e);
    int old = get_bit(p, off);
    put_bit(p, off, (int)on);
    /* as Redis 7.0: a change only if the key was created or grew, or the bit flipped (the
     * raw re-encoding is not one): no WATCH break, no dirty count otherwise */
    c->dirty = was_dirty || grown || old != (int)on;
    reply_int(c, old);
}

void cmd_getbit(data_call *c)
{
    uint64_t off;
    if (bit_offset_or_reply(c, &c->argv[2], 0, 0, &off) < 0) return;
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    int v = (off >> 3) < e->vlen ? get_bit((const unsigned char *)dentry_val(e), off) : 0;
    reply_int(c, v);
}

/* Set bits among bits [from, to] (inclusive, to < 8 * len). */
static long long popcount_bits(const unsigned char *p, uint64_t from, uint64_t to)
{
    long long n = 0;
    if (to - from < 16) {
        for (uint64_t i = from; i <= to; i++)
            n += get_bit(p, i);
        return n;
    }
    /* at least one whole byte lies in between: count the partial edge bytes bit by bit */
    for (; from & 7; from++)
        n += get_bit(p, from);
    for (; (to & 7) != 7; to--)
        n += get_bit(p, to);
    uint64_t b = from >> 3, e = (to >> 3) + 1; /* whole bytes [b, e) */
    for (; b + 8 <= e; b += 8) {
        uint64_t w;
        memcpy(&w, p + b, 8);
        n += __builtin_popcountll(w);
    }
    for (; b < e; b++)
        n += __builtin_popcount(p[b]);
    return n;
}

/* The first bit equal to `bit` among bits [from, to], or -1. */
static long long find_bit(const unsigned char *p, uint64_t from, uint64_t to, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xff;
    while (from <= to) {
        if (!(from & 7) && from + 7 <= to && p[from >> 3] == skip) {
            from += 8;
            continue;
        }
        if (get_bit(p, from) == bit) return (long long)from;
        from++;
    }
    return -1;
}

/* Clamps a [start, end] range (negative = from the end) to [0, total); 0 if empty. */
static int clamp_range(long long *start, long long *end, long long total)
{
    if (*start < 0) *start += total;
    if (*end < 0) *end += total;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= total) *end = total - 1;
    return *start <= *end;
}

/* BIT or BYTE (1, 0) or -1 after a syntax error reply. */
static int unit_or_reply(data_call *c, const data_arg *a)
{
    if (arg_eq(a, "bit")) return 1;
    if (arg_eq(a, "byte")) return 0;
    reply_syntax(c);
    return -1;
}

/* As Redis 7.0: the key is looked up before the range is parsed (a missing key counts 0 whatever
 * the arguments). */
void cmd_bitcount(data_call *c)
{
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_int(c, 0);
        return;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    const unsigned char *p = (const unsigned char *)dentry_val(e);
    long long len = e->vlen, start, end;
    int isbit = 0;
    if (c->argc == 2) {
        reply_int(c, len ? popcount_bits(p, 0, (uint64_t)len * 8 - 1) : 0);
        return;
    }
    if (c->argc != 4 && c->argc != 5) {
        reply_syntax(c);
        return;
    }
    if (arg_ll_or_reply(c, &c->argv[2], &start) < 0) return;
    if (arg_ll_or_reply(c, &c->argv[3], &end) < 0) return;
    if (start < 0 && end < 0 && start > end) {
        reply_int(c, 0);
        return;
    }
    if (c->argc == 5 && (isbit = unit_or_reply(c, &c->argv[4])) < 0) return;
    if (!clamp_range(&start, &end, isbit ? len * 8 : len)) {
        reply_int(c, 0);
        return;
    }
    if (!isbit) {
        start *= 8;
        end = end * 8 + 7;
    }
    reply_int(c, popcount_bits(p, (uint64_t)start, (uint64_t)end));
}

void cmd_bitpos(data_call *c)
{
    long long bit;
    if (arg_ll_or_reply(c, &c->argv[2], &bit) < 0) return;
    if (bit != 0 && bit != 1) {
        reply_err(c, "ERR The bit argument must be 1 or 0.");
        return;
    }
    dentry *e = ks_read(c, &c->argv[1]);
    if (!e) {
        reply_int(c, bit ? -1 : 0);
        return;
    }
    if (e->type != DT_STRING) {
        reply_wrongtype(c);
        return;
    }
    const unsigned char *p = (const unsigned char *)dentry_val(e);
    long long len = e->vlen, start = 0, end = len - 1;
    int isbit = 0, end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        if (arg_ll_or_reply(c, &c->argv[3], &start) < 0) return;
        if (c->argc == 6 && (isbit = unit_or_reply(c, &c->argv[5])) < 0) return;
        if (c->argc >= 5) {
            if (arg_ll_or_reply(c, &c->argv[4], &end) < 0) return;
            end_given = 1;
        }
        /* without an end, BIT cannot be given: the end is the last byte */
    } else if (c->argc != 3) {
        reply_syntax(c);
        return;
    }
    if (!clamp_range(&start, &end, isbit ? len * 8 : len)) {
        reply_int(c, -1);
        return;
    }
    if (!isbit) {
        start *= 8;
        end = end * 8 + 7;
    }
    long long pos = find_bit(p, (uint64_t)start, (uint64_t)end, (int)bit);
    /* Looking for a clear bit with no end given, the string continues with zeros. */
    if (pos < 0 && bit == 0 && !end_given) pos = end + 1;
    reply_int(c, pos);
}

void cmd_bitop(data_call *c)
{
    const data_arg *opa = &c->argv[1];
    enum { OP_AND, OP_OR, OP_XOR, OP_NOT } op;
    if (arg_eq(opa, "and"))
        op = OP_AND;
    else if (arg_eq(opa, "or"))
        op = OP_OR;
    else if (arg_eq(opa, "xor"))
        op = OP_XOR;
    else if (arg_eq(opa, "not"))
        op = OP_NOT;
    else {
        reply_syntax(c);
        return;
    }
    if (op == OP_NOT && c->argc != 4) {
        reply_err(c, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    int n = c->argc - 3;
    size_t maxlen = 0;
    for (int j = 0; j < n; j++) { /* every source is a string (or missing) before any work */
        dentry *e = ks_read(c, &c->argv[3 + j]);
        if (!e) continue;
        if (e->type != DT_STRING) {
            reply_wrongtype(c);
            return;
        }
        if (e->vlen > maxlen) maxlen = e->vlen;
    }
    const data_arg *target = &c->argv[2];
    if (maxlen == 0) {
        dpos pos;
        if (ks_write(c, target, &pos)) ks_delete(c, pos);
        reply_int(c, 0);
        return;
    }
    unsigned char *res = dmem_alloc(&c->ds->mem, maxlen);
    for (int j = 0; j < n; j++) {
        dentry *e = ks_read(c, &c->argv[3 + j]);
        const unsigned char *s = e ? (const unsigned char *)dentry_val(e) : NULL;
        size_t sl = e ? e->vlen : 0;
        if (j == 0) {
            if (sl) memcpy(res, s, sl);
            memset(res + sl, 0, maxlen - sl);
            if (op == OP_NOT)
                for (size_t i = 0; i < maxlen; i++)
                    res[i] = (unsigned char)~res[i];
            continue;
        }
        switch (op) {
        case OP_AND:
            for (size_t i = 0; i < maxlen; i++)
                res[i] &= i < sl ? s[i] : 0;
            break;
        case OP_OR:
            for (size_t i = 0; i < sl; i++)
                res[i] |= s[i];
            break;
        case OP_XOR:
            for (size_t i = 0; i < sl; i++)
                res[i] ^= s[i];
            break;
        case OP_NOT: SYN_ASSERT(0);
        }
    }
    ks_set_string(c, target, (const char *)res, maxlen, -1, 0);
    dmem_free(&c->ds->mem, res);
    dpos pos;
    if (ks_write(c, target, &pos)) (void)mark_raw(pos);
    reply_int(c, (long long)maxlen);
}

/* ---- BITFIELD ---- */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { OW_WRAP, OW_SAT, OW_FAIL };

typedef struct {
    uint64_t offset;
    int64_t i64;
    int opcode, owtype, bits, sign;
} bf_op;

static uint64_t bf_get_u(const unsigned char *p, uint64_t off, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++)
        v = (v << 1) | (uint64_t)get_bit(p, off + (uint64_t)j);
    return v;
}

static int64_t bf_get_s(const unsigned char *p, uint64_t off, int bits)
{
    uint64_t u = bf_get_u(p, off, bits);
    if (bits < 64 && (u & (1ull << (bits - 1)))) u |= ~0ull << bits;
    return (int64_t)u;
}

static void bf_set(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
    for (int j = 0; j < bits; j++)
        put_bit(p, off + (uint64_t)j, (v >> (bits - 1 - j)) & 1);
}

/* Redis checkUnsignedBitfieldOverflow: nonzero when value + incr leaves [0, 2^bits - 1]; *limit
 * is the wrapped or saturated value (FAIL leaves it unset). */
static int bf_overflow_u(uint64_t value, int64_t incr, int bits, int ow, uint64_t *limit)
{
    uint64_t max = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int r;
    if (value > max || (incr > 0 && incr > maxincr)) {
        r = 1;
        if (ow == OW_SAT) *limit = max;
    } else if (incr < 0 && incr < minincr) {
        r = -1;
        if (ow == OW_SAT) *limit = 0;
    } else {
        return 0;
    }
    if (ow == OW_WRAP) *limit = (value + (uint64_t)incr) & ~(~0ull << bits);
    return r;
}

/* Redis checkSignedBitfieldOverflow, the same for [-2^(bits-1), 2^(bits-1) - 1]. */
static int bf_overflow_s(int64_t value, int64_t incr, int bits, int ow, int64_t *limit)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)((1ull << (bits - 1)) - 1);
    int64_t min = -max - 1;
    /* maxincr and minincr may wrap: they are used only once value is known in range */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int r;
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr)) {
        r = 1;
        if (ow == OW_SAT) *limit = max;
    } else if (value < min || (bits != 64 && incr < minincr) ||
               (value < 0 && incr < 0 && incr < minincr)) {
        r = -1;
        if (ow == OW_SAT) *limit = min;
    } else {
        return 0;
    }
    if (ow == OW_WRAP) {
        uint64_t s = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = ~0ull << bits;
            if (s & (1ull << (bits - 1)))
                s |= mask;
            else
                s &= ~mask;
        }
        *limit = (int64_t)s;
    }
    return r;
}

/* Redis getBitfieldTypeFromArgument: i1..i64 or u1..u63. */
static int bf_type_or_reply(data_call *c, const data_arg *a, int *sign, int *bits)
{
    /* Redis reads the type as a C string: it ends at the first NUL */
    size_t n = 0;
    while (n < a->len && a->ptr[n])
        n++;
    long long v;
    if (n >= 1 && a->ptr[0] == 'i') /* lower case only, as Redis */
        *sign = 1;
    else if (n >= 1 && a->ptr[0] == 'u')
        *sign = 0;
    else
        goto bad;
    if (!syn_string2ll(a->ptr + 1, n - 1, &v) || v < 1 || (*sign && v > 64) || (!*sign && v > 63))
        goto bad;
    *bits = (int)v;
    return 0;
bad:
    reply_err(c, "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
                 "supported but i64 is.");
    return -1;
}

static void bitfield_generic(data_call *c, int ro)
{
    int changed = 0, was_dirty = 0, wrote = 0; /* before any goto out */
    int cap = (c->argc - 2) / 3 + 1, numops = 0, readonly = 1, ow = OW_WRAP;
    bf_op *ops = dmem_alloc(&c->ds->mem, sizeof(bf_op) * (size_t)cap);
    uint64_t highest = 0;
    for (int j = 2; j < c->argc; j++) {
        int remargs = c->argc - j - 1, opcode;
        const data_arg *sub = &c->argv[j];
        if (arg_eq(sub, "get") && remargs >= 2) {
            opcode = BF_GET;
        } else if (arg_eq(sub, "set") && remargs >= 3) {
            opcode = BF_SET;
        } else if (arg_eq(sub, "incrby") && remargs >= 3) {
            opcode = BF_INCRBY;
        } else if (arg_eq(sub, "overflow") && remargs >= 1) {
            const data_arg *t = &c->argv[++j];
            if (arg_eq(t, "wrap")) {
                ow = OW_WRAP;
            } else if (arg_eq(t, "sat")) {
                ow = OW_SAT;
            } else if (arg_eq(t, "fail")) {
                ow = OW_FAIL;
            } else {
                reply_err(c, "ERR Invalid OVERFLOW type specified");
                goto out;
            }
            continue;
        } else {
            reply_syntax(c);
            goto out;
        }
        int sign, bits;
        uint64_t off;
        long long v = 0;
        if (bf_type_or_reply(c, &c->argv[j + 1], &sign, &bits) < 0) goto out;
        if (bit_offset_or_reply(c, &c->argv[j + 2], 1, bits, &off) < 0) goto out;
        if (opcode != BF_GET) {
            readonly = 0;
            if (highest < off + (uint64_t)bits - 1) highest = off + (uint64_t)bits - 1;
            if (arg_ll_or_reply(c, &c->argv[j + 3], &v) < 0) goto out;
        }
        SYN_ASSERT(numops < cap);
        ops[numops++] = (bf_op){off, v, opcode, ow, bits, sign};
        j += opcode == BF_GET ? 2 : 3;
    }
    dentry *e;
    if (readonly) {
        e = ks_read(c, &c->argv[1]);
        if (e && e->type != DT_STRING) {
            reply_wrongtype(c);
            goto out;
        }
    } else {
        if (ro) {
            reply_err(c, "ERR BITFIELD_RO only supports the GET subcommand");
            goto out;
        }
        int grown;
        was_dirty = c->dirty;
        e = string_for_bits(c, highest, &grown);
        if (!e) goto out;
        changed = grown;
        wrote = 1;
    }
    c->ops->array(c->rctx, (size_t)numops);
    for (int j = 0; j < numops; j++) {
        const bf_op *o = &ops[j];
        if (o->opcode == BF_GET) {
            /* the string read as if followed by zero bytes */
            unsigned char buf[9] = {0};
            uint64_t byte = o->offset >> 3;
            for (uint64_t i = 0; i < 9 && e && byte + i < e->vlen; i++)
                buf[i] = (unsigned char)dentry_val(e)[byte + i];
            uint64_t sub = o->offset - byte * 8;
            if (o->sign)
                reply_int(c, bf_get_s(buf, sub, o->bits));
            else
                reply_int(c, (long long)bf_get_u(buf, sub, o->bits));
            continue;
        }
        unsigned char *p = (unsigned char *)dentry_val(e);
        int overflow;
        uint64_t newbits;
        long long ret;
        if (o->sign) {
            int64_t oldv = bf_get_s(p, o->offset, o->bits), newv, lim = 0;
            if (o->opcode == BF_INCRBY) {
                overflow = bf_overflow_s(oldv, o->i64, o->bits, o->owtype, &lim);
                newv = overflow ? lim : (int64_t)((uint64_t)oldv + (uint64_t)o->i64);
                ret = newv;
            } else {
                overflow = bf_overflow_s(o->i64, 0, o->bits, o->owtype, &lim);
                newv = overflow ? lim : o->i64;
                ret = oldv;
            }
            newbits = (uint64_t)newv;
        } else {
            uint64_t oldv = bf_get_u(p, o->offset, o->bits), newv, lim = 0;
            if (o->opcode == BF_INCRBY) {
                overflow = bf_overflow_u(oldv, o->i64, o->bits, o->owtype, &lim);
                newv = overflow ? lim : oldv + (uint64_t)o->i64;
                ret = (long long)newv;
            } else {
                overflow = bf_overflow_u((uint64_t)o->i64, 0, o->bits, o->owtype, &lim);
                newv = overflow ? lim : (uint64_t)o->i64;
                ret = (long long)oldv;
            }
            newbits = newv;
        }
        if (overflow && o->owtype == OW_FAIL) {
            reply_null(c);
            continue;
        }
        reply_int(c, ret);
        uint64_t mask = o->bits == 64 ? UINT64_MAX : ((uint64_t)1 << o->bits) - 1;
        if ((bf_get_u(p, o->offset, o->bits) & mask) != (newbits & mask)) changed = 1;
        bf_set(p, o->offset, o->bits, newbits);
    }
    /* as SETBIT: dirty only if the key was created, grew, or a field's bits changed */
    if (wrote) c->dirty = was_dirty || changed;
out:
    dmem_free(&c->ds->mem, ops);
}

void cmd_bitfield(data_call *c)
{
    bitfield_generic(c, 0);
}

void cmd_bitfield_ro(data_call *c)
{
    bitfield_generic(c, 1);
}
