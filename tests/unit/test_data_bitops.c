/* test_data_bitops.c — bitmap commands against a trivially correct model, seeded and printed
 * (DATA_SEED=n replays; BITOPS_TRACE=1 prints every command):
 * - the model is a byte array per key, read and written one bit at a time; BITFIELD's overflow
 *   modes are computed in 128-bit arithmetic (no wrapping tricks);
 * - random SETBIT GETBIT BITCOUNT BITPOS (BYTE|BIT ranges, negative indexes) BITOP BITFIELD
 *   (GET SET INCRBY, OVERFLOW WRAP|SAT|FAIL, signed and unsigned widths, #offsets) and
 *   BITFIELD_RO on a few keys and a hash (WRONGTYPE); after every command GET of every key must
 *   equal the model, on the store and on a replica store that applies the same commands;
 * - a few fixed cases: offsets against proto-max-bulk-len, zero fill, OBJECT ENCODING. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "test_data_helpers.h"
#include "test_data_recorder.h"

#define N_KEYS  4 /* string keys k0..k3; key index N_KEYS is "h", a hash */
#define MAX_LEN 80

typedef struct {
    int exists;
    size_t len;
    unsigned char b[MAX_LEN];
} mstr;

static mstr model[N_KEYS];

static int mbit(const mstr *m, long long off)
{
    if (!m->exists || off / 8 >= (long long)m->len) return 0;
    return (m->b[off / 8] >> (7 - off % 8)) & 1;
}

static void mgrow(mstr *m, size_t len)
{
    assert_true(len <= MAX_LEN);
    if (!m->exists) {
        m->exists = 1;
        m->len = 0;
    }
    while (m->len < len)
        m->b[m->len++] = 0;
}

static void mset_bit(mstr *m, long long off, int v)
{
    mgrow(m, (size_t)(off / 8 + 1));
    if (v)
        m->b[off / 8] |= (unsigned char)(1 << (7 - off % 8));
    else
        m->b[off / 8] &= (unsigned char)~(1 << (7 - off % 8));
}

static void key_name(int k, char *out)
{
    if (k == N_KEYS)
        strcpy(out, "h");
    else
        sprintf(out, "k%d", k);
}

static const char WRONGTYPE[] =
    "-WRONGTYPE Operation against a key holding the wrong kind of value";

static void out_int(char *out, long long v)
{
    size_t o = strlen(out);
    sprintf(out + o, "%s:%lld", o ? " " : "", v);
}

static void out_raw(char *out, const char *s)
{
    size_t o = strlen(out);
    sprintf(out + o, "%s%s", o ? " " : "", s);
}

/* Redis's range rules: negative indexes count from the end, then clamp to [0, total). Returns 0
 * for an empty range. */
static int mrange(long long *s, long long *e, long long total)
{
    if (*s < 0) *s += total;
    if (*e < 0) *e += total;
    if (*s < 0) *s = 0;
    if (*e < 0) *e = 0;
    if (*e >= total) *e = total - 1;
    return *s <= *e;
}

/* ---- command generators with the model's expected reply ---- */

static long long rand_index(long long scale)
{
    return rn(2 * scale + 1) - scale;
}

static void gen_setbit(char *line, char *want)
{
    int k = (int)rn(N_KEYS + 1), v = (int)rn(2);
    long long off = rn(MAX_LEN * 8);
    char kn[8];
    key_name(k, kn);
    sprintf(line, "SETBIT %s %lld %d", kn, off, v);
    if (k == N_KEYS) {
        strcpy(want, WRONGTYPE);
        return;
    }
    out_int(want, mbit(&model[k], off));
    mset_bit(&model[k], off, v);
}

static void gen_getbit(char *line, char *want)
{
    int k = (int)rn(N_KEYS + 1);
    long long off = rn(MAX_LEN * 10);
    char kn[8];
    key_name(k, kn);
    sprintf(line, "GETBIT %s %lld", kn, off);
    if (k == N_KEYS) {
        strcpy(want, WRONGTYPE);
        return;
    }
    out_int(want, mbit(&model[k], off));
}

static void gen_bitcount(char *line, char *want)
{
    int k = (int)rn(N_KEYS + 1), form = (int)rn(4); /* whole, range, BYTE, BIT */
    char kn[8];
    key_name(k, kn);
    int isbit = form == 3;
    long long scale = isbit ? MAX_LEN * 8 + 10 : MAX_LEN + 3;
    long long s = rand_index(scale), e = rand_index(scale);
    if (form == 0)
        sprintf(line, "BITCOUNT %s", kn);
    else
        sprintf(line, "BITCOUNT %s %lld %lld%s", kn, s, e,
                form == 2   ? " BYTE"
                : form == 3 ? (rn(2) ? " BIT" : " bit")
                            : "");
    if (k == N_KEYS) {
        strcpy(want, WRONGTYPE);
        return;
    }
    const mstr *m = &model[k];
    if (!m->exists) {
        out_int(want, 0);
        return;
    }
    long long len = (long long)m->len, from = 0, to = len * 8 - 1;
    if (form != 0) {
        if (s < 0 && e < 0 && s > e) {
            out_int(want, 0);
            return;
        }
        if (!mrange(&s, &e, isbit ? len * 8 : len)) {
            out_int(want, 0);
            return;
        }
        from = isbit ? s : s * 8;
        to = isbit ? e : e * 8 + 7;
    }
    long long n = 0;
    for (long long i = from; i <= to; i++)
        n += mbit(m, i);
    out_int(want, n);
}

static void gen_bitpos(char *line, char *want)
{
    int k = (int)rn(N_KEYS + 1), form = (int)rn(5); /* bit; start; start end; BYTE; BIT */
    int bit = (int)rn(2);
    char kn[8];
    key_name(k, kn);
    int isbit = form == 4;
    long long scale = isbit ? MAX_LEN * 8 + 10 : MAX_LEN + 3;
    long long s = rand_index(scale), e = rand_index(scale);
    if (form == 0)
        sprintf(line, "BITPOS %s %d", kn, bit);
    else if (form == 1)
        sprintf(line, "BITPOS %s %d %lld", kn, bit, s);
    else
        sprintf(line, "BITPOS %s %d %lld %lld%s", kn, bit, s, e,
                form == 3   ? " byte"
                : form == 4 ? " BIT"
                            : "");
    if (k == N_KEYS) {
        strcpy(want, WRONGTYPE);
        return;
    }
    const mstr *m = &model[k];
    if (!m->exists) {
        out_int(want, bit ? -1 : 0);
        return;
    }
    long long len = (long long)m->len;
    if (form == 0) s = 0;
    if (form <= 1) e = len - 1;
    if (!mrange(&s, &e, isbit ? len * 8 : len)) {
        out_int(want, -1);
        return;
    }
    long long from = isbit ? s : s * 8, to = isbit ? e : e * 8 + 7;
    for (long long i = from; i <= to; i++) {
        if (mbit(m, i) == bit) {
            out_int(want, i);
            return;
        }
    }
    /* no end given: the string goes on with zeros */
    out_int(want, bit == 0 && form <= 1 ? to + 1 : -1);
}

static void gen_bitop(char *line, char *want)
{
    static const char *ops[] = {"AND", "OR", "XOR", "NOT", "and", "Xor"};
    int op = (int)rn(6);
    int opk = op == 3 ? 3 : op == 4 ? 0 : op == 5 ? 2 : op;
    int dest = (int)rn(N_KEYS), n = opk == 3 ? 1 : 1 + (int)rn(4), src[4], wrong = 0;
    sprintf(line, "BITOP %s k%d", ops[op], dest);
    for (int i = 0; i < n; i++) {
        src[i] = (int)rn(N_KEYS * 8 + 1) / 8; /* the hash now and then */
        char kn[8];
        key_name(src[i], kn);
        sprintf(line + strlen(line), " %s", kn);
        if (src[i] == N_KEYS) wrong = 1;
    }
    if (wrong) {
        strcpy(want, WRONGTYPE);
        return;
    }
    size_t maxlen = 0;
    for (int i = 0; i < n; i++)
        if (model[src[i]].exists && model[src[i]].len > maxlen) maxlen = model[src[i]].len;
    mstr res = {0};
    res.len = maxlen;
    res.exists = maxlen > 0;
    for (size_t j = 0; j < maxlen; j++) {
        for (int bitno = 0; bitno < 8; bitno++) {
            long long off = (long long)j * 8 + bitno;
            int acc = mbit(&model[src[0]], off);
            if (opk == 3) acc = !acc;
            for (int i = 1; i < n; i++) {
                int b = mbit(&model[src[i]], off);
                acc = opk == 0 ? acc & b : opk == 1 ? acc | b : acc ^ b;
            }
            if (acc) res.b[j] |= (unsigned char)(1 << (7 - bitno));
        }
    }
    model[dest] = res;
    out_int(want, (long long)maxlen);
}

typedef __int128 i128;

static i128 mfield_get(const mstr *m, long long off, int bits, int sign)
{
    i128 v = 0;
    for (int i = 0; i < bits; i++)
        v = v * 2 + mbit(m, off + i);
    if (sign && mbit(m, off)) v -= (i128)1 << bits;
    return v;
}

static void mfield_set(mstr *m, long long off, int bits, i128 v)
{
    unsigned __int128 u = (unsigned __int128)v;
    for (int i = 0; i < bits; i++)
        mset_bit(m, off + i, (int)((u >> (bits - 1 - i)) & 1));
}

/* v reduced into the range of the type: wrapped modulo 2^bits or saturated; 0 if FAIL. */
static int mfield_fit(i128 *v, int bits, int sign, int ow)
{
    i128 lo = sign ? -((i128)1 << (bits - 1)) : 0;
    i128 hi = sign ? ((i128)1 << (bits - 1)) - 1 : ((i128)1 << bits) - 1;
    if (*v >= lo && *v <= hi) return 1;
    if (ow == 2) return 0;
    if (ow == 1) {
        *v = *v < lo ? lo : hi;
        return 1;
    }
    i128 mod = (i128)1 << bits;
    i128 r = ((*v - lo) % mod + mod) % mod;
    *v = r + lo;
    return 1;
}

static void gen_bitfield(char *line, char *want, int ro)
{
    static const char *owname[] = {"WRAP", "SAT", "FAIL"};
    int k = (int)rn(N_KEYS * 6 + 1) / 6, nops = (int)rn(5), ow = 0;
    char kn[8];
    key_name(k, kn);
    sprintf(line, "%s %s", ro ? "BITFIELD_RO" : "BITFIELD", kn);
    struct {
        int op, bits, sign, ow;
        long long off, v;
    } ops[8];
    int n = 0, writes = 0;
    long long highest = -1;
    for (int i = 0; i < nops; i++) {
        if (rn(4) == 0) {
            ow = (int)rn(3);
            sprintf(line + strlen(line), " OVERFLOW %s", owname[ow]);
        }
        int op = ro && rn(8) ? 0 : (int)rn(3); /* GET SET INCRBY */
        int sign = (int)rn(2), bits = 1 + (int)rn(sign ? 64 : 63);
        long long off = rn(400), v = 0;
        int hash = (int)rn(3) == 0;
        if (hash) off = rn(400 / bits + 1) * bits;
        char offs[32];
        if (hash)
            sprintf(offs, "#%lld", off / bits);
        else
            sprintf(offs, "%lld", off);
        if (op != 0) {
            switch (rn(4)) {
            case 0: v = rand_index(10); break;
            case 1: v = (long long)rnd(); break;
            case 2: v = rand_index(1ll << (bits > 61 ? 61 : bits)); break;
            default: v = rn(2) ? LLONG_MAX - rn(3) : LLONG_MIN + rn(3); break;
            }
            writes = 1;
            if (off + bits - 1 > highest) highest = off + bits - 1;
        }
        static const char *opname[] = {"GET", "SET", "INCRBY"};
        sprintf(line + strlen(line), " %s %c%d %s", opname[op], sign ? 'i' : 'u', bits, offs);
        if (op != 0) sprintf(line + strlen(line), " %lld", v);
        ops[n].op = op;
        ops[n].bits = bits;
        ops[n].sign = sign;
        ops[n].ow = ow;
        ops[n].off = off;
        ops[n].v = v;
        n++;
    }
    if (ro && writes) { /* refused before the key is looked at */
        strcpy(want, "-ERR BITFIELD_RO only supports the GET subcommand");
        return;
    }
    if (k == N_KEYS) {
        strcpy(want, WRONGTYPE);
        return;
    }
    mstr *m = &model[k];
    if (writes) mgrow(m, (size_t)(highest / 8 + 1));
    sprintf(want, "*%d", n);
    for (int i = 0; i < n; i++) {
        i128 old = mfield_get(m, ops[i].off, ops[i].bits, ops[i].sign), nv, ret = 0;
        if (ops[i].op == 0) {
            out_int(want, (long long)old);
            continue;
        }
        if (ops[i].op == 1) {
            /* an unsigned field takes the value's 64-bit two's complement pattern */
            nv = ops[i].sign ? (i128)ops[i].v : (i128)(uint64_t)ops[i].v;
            ret = old;
        } else {
            nv = old + ops[i].v;
        }
        /* Redis 7.0 quirk (checked against redis-server 7.0.15): a signed SET whose value is
         * below max - INT64_MAX (max - value overflows) counts as an overflow upwards, so SAT
         * stores the maximum: BITFIELD k OVERFLOW SAT SET i8 0 -9223372036854775808 -> 127 */
        if (ops[i].op == 1 && ops[i].sign && ops[i].bits < 64 && ops[i].ow == 1 &&
            nv < (((i128)1 << (ops[i].bits - 1)) - 1) - (i128)LLONG_MAX)
            nv = ((i128)1 << (ops[i].bits - 1)) - 1;
        if (!mfield_fit(&nv, ops[i].bits, ops[i].sign, ops[i].ow)) {
            out_raw(want, "(nil)");
            continue;
        }
        if (ops[i].op == 2) ret = nv;
        mfield_set(m, ops[i].off, ops[i].bits, nv);
        out_int(want, (long long)ret);
    }
}

/* The store's value of every key must equal the model. */
static void check_keys(data_store *ds, const char *who, uint64_t step)
{
    for (int k = 0; k < N_KEYS; k++) {
        char line[32], want[MAX_LEN * 4 + 8] = "", got[MAX_LEN * 4 + 8];
        sprintf(line, "GET k%d", k);
        strncpy(got, rec_run(ds, line, NULL), sizeof got - 1);
        got[sizeof got - 1] = '\0';
        if (model[k].exists) {
            t_rec.len = 0;
            rec_bulk(&t_rec, (const char *)model[k].b, model[k].len);
            strncpy(want, t_rec.buf, sizeof want - 1);
            want[sizeof want - 1] = '\0';
        } else {
            strcpy(want, "(nil)");
        }
        if (strcmp(got, want) != 0)
            fail_msg("%s after step %llu: GET k%d\n   got: %s\n  want: %s", who,
                     (unsigned long long)step, k, got, want);
    }
}

static void bitops_match_model(void **state)
{
    (void)state;
    seed_for("bitops_match_model");
    int trace = getenv("BITOPS_TRACE") != NULL;
    data_store *a = data_create(), *b = data_create();
    assert_int_equal(data_set_hash_seed(b, 777, rnd()), 0);
    memset(model, 0, sizeof model);
    assert_reply(a, "HSET h f v", ":1");
    assert_reply(b, "HSET h f v", ":1");
    static char line[8192], want[8192], got[8192];
    for (uint64_t step = 0; step < 20000; step++) {
        line[0] = want[0] = '\0';
        if (rn(200) == 0) { /* start a key over */
            int k = (int)rn(N_KEYS);
            sprintf(line, "DEL k%d", k);
            out_int(want, model[k].exists);
            model[k].exists = 0;
        } else {
            switch (rn(12)) {
            case 0:
            case 1:
            case 2: gen_setbit(line, want); break;
            case 3: gen_getbit(line, want); break;
            case 4:
            case 5: gen_bitcount(line, want); break;
            case 6:
            case 7: gen_bitpos(line, want); break;
            case 8: gen_bitop(line, want); break;
            case 9:
            case 10: gen_bitfield(line, want, 0); break;
            default: gen_bitfield(line, want, 1); break;
            }
        }
        if (trace) printf("%llu: %s -> %s\n", (unsigned long long)step, line, want);
        strncpy(got, rec_run(a, line, NULL), sizeof got - 1);
        got[sizeof got - 1] = '\0';
        if (strcmp(got, want) != 0)
            fail_msg("step %llu: %s\n   got: %s\n  want: %s", (unsigned long long)step, line, got,
                     want);
        const char *rb = rec_run(b, line, NULL);
        if (strcmp(rb, want) != 0)
            fail_msg("replica, step %llu: %s\n   got: %s\n  want: %s", (unsigned long long)step,
                     line, rb, want);
        check_keys(a, "store", step);
        if (step % 16 == 0) check_keys(b, "replica", step);
    }
    data_destroy(a);
    data_destroy(b);
}

static void bitops_fixed_cases(void **state)
{
    (void)state;
    data_store *ds = data_create();
    data_set_max_string_bytes(ds, 1024 * 1024);
    static const rec_step steps[] = {
        {"SETBIT b 8388608 1", "-ERR bit offset is not an integer or out of range"},
        {"SETBIT b 8388607 1", ":0"},
        {"STRLEN b", ":1048576"},
        {"BITCOUNT b", ":1"},
        {"BITPOS b 1", ":8388607"},
        {"BITPOS b 0 -1", ":8388600"},
        {"GETBIT b 8388608", "-ERR bit offset is not an integer or out of range"},
        {"BITFIELD b GET u8 #1048576", "-ERR bit offset is not an integer or out of range"},
        {"BITFIELD b GET u8 #1048575", "*1 :1"},
        {"BITFIELD c SET u16 8388600 1", "*1 :0"},
        {"STRLEN c", ":1048577"},
        {"DEL b c", ":2"},
        {"SET s ab", "+OK"},
        {"OBJECT ENCODING s", "\"embstr\""},
        {"SETBIT s 20 1", ":0"},
        {"GET s", "\"ab\\x08\""},
        {"OBJECT ENCODING s", "\"raw\""},
        {"SETBIT n 0 1", ":0"},
        {"OBJECT ENCODING n", "\"raw\""},
        {"BITOP NOT d s", ":3"},
        {"OBJECT ENCODING d", "\"raw\""},
        {"GET d", "\"\\x9e\\x9d\\xf7\""},
        {"BITFIELD x OVERFLOW FAIL INCRBY u4 100 16", "*1 (nil)"},
        {"GET x", "\"\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\""},
        {"BITFIELD_RO x GET u4 100", "*1 :0"},
        {"BITCOUNT s 0 0 BIT", ":0"},
        {"BITCOUNT s 1 1 BIT", ":1"},
        {"BITCOUNT s 1 6 BIT", ":2"},
        {NULL, NULL},
    };
    run_script(ds, steps);
    data_destroy(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bitops_fixed_cases),
        cmocka_unit_test(bitops_match_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
