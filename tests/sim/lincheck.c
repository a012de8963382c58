/* lincheck.c — Wing & Gong / Lowe linearizability search, one key at a time. */
#include "lincheck.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void lincheck_config_default(lincheck_config *cfg)
{
    cfg->max_states = 2000000;
    cfg->max_memory_bytes = 512ull << 20;
}

static bool value_eq(lincheck_value a, lincheck_value b)
{
    if (a.kind != b.kind) return false;
    return a.kind == LINCHECK_NIL || a.v == b.v;
}

/* The sequential specification. Returns false if op cannot produce its recorded output from
 * state; otherwise stores the state after op. A pending op's output is unknown, so any output
 * is accepted. */
static bool model_step(lincheck_value state, const lincheck_op *op, lincheck_value *next)
{
    *next = state;
    switch (op->op) {
    case LINCHECK_READ: return op->pending || value_eq(state, op->out);
    case LINCHECK_WRITE: *next = op->arg; return true;
    case LINCHECK_DEL: *next = lincheck_nil(); return true;
    case LINCHECK_INCR: {
        int64_t base = state.kind == LINCHECK_INT ? state.v : 0;
        int64_t sum;
        if (state.kind == LINCHECK_STR || __builtin_add_overflow(base, op->arg.v, &sum)) {
            /* the store refuses: no effect, and the client saw an error (only pending ops
             * can end up here, since recorders drop definite errors) */
            return op->pending;
        }
        *next = lincheck_int(sum);
        return op->pending || value_eq(*next, op->out);
    }
    case LINCHECK_CAS: {
        bool swap = value_eq(state, op->expect);
        if (swap) *next = op->arg;
        return op->pending || (op->out.kind == LINCHECK_INT && op->out.v == (swap ? 1 : 0));
    }
    }
    return false;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* ---- memo: set of (linearized bitset, state) ---- */

typedef struct {
    uint64_t hash; /* 0 = empty slot */
    lincheck_value state;
    size_t bits_off; /* offset of the bitset in arena, in words */
} memo_slot;

typedef struct {
    memo_slot *slots;
    size_t cap, len; /* cap is a power of two; len <= cap / 2 */
    uint64_t *arena;
    size_t arena_len, arena_cap; /* in words */
    size_t words;                /* bitset words per entry */
} memo;

static uint64_t memo_hash(uint64_t bits_hash, lincheck_value s)
{
    uint64_t h = mix64(bits_hash ^ mix64(((uint64_t)s.kind << 56) ^ (uint64_t)s.v));
    return h ? h : 1;
}

static size_t memo_bytes(const memo *m)
{
    return m->cap * sizeof(memo_slot) + m->arena_cap * sizeof(uint64_t);
}

static int memo_grow(memo *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    memo_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].hash) continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

/* Returns 1 if inserted, 0 if already present, -1 on allocation failure. */
static int memo_insert(memo *m, const uint64_t *bits, uint64_t bits_hash, lincheck_value s)
{
    if ((m->len + 1) * 2 > m->cap && memo_grow(m) != 0) return -1;
    uint64_t h = memo_hash(bits_hash, s);
    size_t j = h & (m->cap - 1);
    while (m->slots[j].hash) {
        memo_slot *e = &m->slots[j];
        if (e->hash == h && value_eq(e->state, s) &&
            memcmp(m->arena + e->bits_off, bits, m->words * sizeof(uint64_t)) == 0)
            return 0;
        j = (j + 1) & (m->cap - 1);
    }
    if (m->arena_len + m->words > m->arena_cap) {
        size_t ncap = m->arena_cap ? m->arena_cap * 2 : 4096;
        while (ncap < m->arena_len + m->words)
            ncap *= 2;
        uint64_t *na = realloc(m->arena, ncap * sizeof *na);
        if (!na) return -1;
        m->arena = na;
        m->arena_cap = ncap;
    }
    memcpy(m->arena + m->arena_len, bits, m->words * sizeof(uint64_t));
    m->slots[j] = (memo_slot){.hash = h, .state = s, .bits_off = m->arena_len};
    m->arena_len += m->words;
    m->len++;
    return 1;
}

static void memo_free(memo *m)
{
    free(m->slots);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

/* ---- the search over one key ---- */

typedef struct entry {
    struct entry *prev, *next;
    struct entry *match; /* call -> its return entry; NULL for a return entry */
    int64_t time;
    uint32_t op;    /* index into the key's op list */
    uint8_t is_ret; /* calls sort before returns at equal time: equal times are concurrent */
} entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->time != y->time) return x->time < y->time ? -1 : 1;
    if (x->is_ret != y->is_ret) return x->is_ret < y->is_ret ? -1 : 1;
    return x->op < y->op ? -1 : x->op > y->op;
}

/* Removes a call entry and its return from the list (it has been linearized). */
static void lift(entry *call)
{
    call->prev->next = call->next;
    if (call->next) call->next->prev = call->prev;
    entry *r = call->match;
    r->prev->next = r->next;
    if (r->next) r->next->prev = r->prev;
}

/* Undoes lift; entries are restored in reverse order of removal. */
static void unlift(entry *call)
{
    entry *r = call->match;
    r->prev->next = r;
    if (r->next) r->next->prev = r;
    call->prev->next = call;
    if (call->next) call->next->prev = call;
}

typedef struct {
    entry *call;
    lincheck_value state_before;
} frame;

typedef struct {
    const lincheck_op *ops; /* caller's array */
    const size_t *idx;      /* this key's ops: indices into ops */
    size_t n;
    const lincheck_config *cfg;
    uint64_t states;
    size_t stuck; /* index into idx of the op the deepest attempt could not get past */
} key_search;

static lincheck_result check_key(key_search *ks)
{
    size_t n = ks->n, done_needed = 0;
    entry *ent = calloc(2 * n + 1, sizeof *ent);
    frame *stack = calloc(n + 1, sizeof *stack);
    uint64_t *zob = calloc(n + 1, sizeof *zob);
    memo m = {0};
    m.words = (n + 63) / 64;
    uint64_t *bits = calloc(m.words + 1, sizeof *bits);
    lincheck_result res = LINCHECK_UNKNOWN;
    if (!ent || !stack || !zob || !bits) goto out;

    entry *ev = ent + 1, *head = ent; /* ent[0] is the list head sentinel */
    for (size_t i = 0; i < n; i++) {
        const lincheck_op *op = &ks->ops[ks->idx[i]];
        ev[2 * i] = (entry){.time = op->call, .op = (uint32_t)i, .is_ret = 0};
        ev[2 * i + 1] =
            (entry){.time = op->pending ? INT64_MAX : (op->ret < op->call ? op->call : op->ret),
                    .op = (uint32_t)i,
                    .is_ret = 1};
        if (!op->pending) done_needed++;
        zob[i] = mix64(i * 0x632be59bd9b4e019ull + 17);
    }
    qsort(ev, 2 * n, sizeof *ev, entry_cmp);
    entry **call_of = calloc(n + 1, sizeof *call_of);
    if (!call_of) goto out;
    for (size_t i = 0; i < 2 * n; i++)
        if (!ev[i].is_ret) call_of[ev[i].op] = &ev[i];
    for (size_t i = 0; i < 2 * n; i++)
        if (ev[i].is_ret) call_of[ev[i].op]->match = &ev[i];
    free(call_of);
    head->prev = NULL;
    head->next = n ? &ev[0] : NULL;
    for (size_t i = 0; i < 2 * n; i++) {
        ev[i].prev = i ? &ev[i - 1] : head;
        ev[i].next = i + 1 < 2 * n ? &ev[i + 1] : NULL;
    }

    lincheck_value state = lincheck_nil();
    uint64_t bits_hash = 0;
    size_t depth = 0, done = 0, best_depth = 0;
    ks->stuck = SIZE_MAX;
    entry *e = head->next;
    while (done < done_needed) {
        if (!e) break; /* cannot happen: the list ends with returns */
        if (!e->is_ret) {
            const lincheck_op *op = &ks->ops[ks->idx[e->op]];
            lincheck_value next;
            if (model_step(state, op, &next)) {
                bits[e->op / 64] |= 1ull << (e->op % 64);
                int ins = memo_insert(&m, bits, bits_hash ^ zob[e->op], next);
                if (ins < 0) goto out;
                if (ins == 1) {
                    ks->states++;
                    if (ks->states > ks->cfg->max_states ||
                        memo_bytes(&m) > ks->cfg->max_memory_bytes)
                        goto out; /* UNKNOWN */
                    stack[depth++] = (frame){.call = e, .state_before = state};
                    bits_hash ^= zob[e->op];
                    state = next;
                    if (!op->pending) done++;
                    lift(e);
                    e = head->next;
                    continue;
                }
                bits[e->op / 64] &= ~(1ull << (e->op % 64));
            }
            e = e->next;
        } else {
            /* an op returned before we could linearize it: backtrack */
            if (depth >= best_depth || ks->stuck == SIZE_MAX) {
                best_depth = depth;
                ks->stuck = e->op;
            }
            if (depth == 0) {
                res = LINCHECK_FAIL;
                goto out;
            }
            frame f = stack[--depth];
            const lincheck_op *op = &ks->ops[ks->idx[f.call->op]];
            if (!op->pending) done--;
            bits[f.call->op / 64] &= ~(1ull << (f.call->op % 64));
            bits_hash ^= zob[f.call->op];
            state = f.state_before;
            unlift(f.call);
            e = f.call->next;
        }
    }
    res = LINCHECK_OK;
out:
    memo_free(&m);
    free(bits);
    free(zob);
    free(stack);
    free(ent);
    return res;
}

/* ---- per-key driver and report ---- */

static const lincheck_op *sort_ops; /* qsort has no context argument in C11 */

static int idx_by_key_call(const void *a, const void *b)
{
    const lincheck_op *x = &sort_ops[*(const size_t *)a], *y = &sort_ops[*(const size_t *)b];
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->call != y->call) return x->call < y->call ? -1 : 1;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    return i < j ? -1 : i > j;
}

static int64_t op_end(const lincheck_op *op)
{
    return op->pending ? INT64_MAX : op->ret;
}

/* Fills report->window for a failure on key ops idx[0..n) stuck at idx[stuck]. */
static void make_window(const lincheck_op *ops, const size_t *idx, size_t n, size_t stuck,
                        lincheck_report *rep)
{
    const lincheck_op *s = &ops[idx[stuck]];
    size_t w = 0;
    /* the last few state-changing ops that completed before the stuck op began */
    size_t before[3];
    size_t nb = 0;
    for (size_t i = n; i-- > 0 && nb < 3;) {
        const lincheck_op *o = &ops[idx[i]];
        if (!o->pending && o->ret < s->call && o->op != LINCHECK_READ) before[nb++] = idx[i];
    }
    for (size_t i = 0; i < n && w < LINCHECK_WINDOW_MAX; i++) {
        const lincheck_op *o = &ops[idx[i]];
        bool keep = o->call <= s->ret && op_end(o) >= s->call; /* overlaps the stuck op */
        for (size_t b = 0; b < nb; b++)
            keep = keep || before[b] == idx[i];
        if (keep) rep->window[w++] = idx[i];
    }
    rep->window_len = w;
    rep->stuck_op = idx[stuck];
}

int lincheck_check(const lincheck_op *ops, size_t n, const lincheck_config *cfg,
                   lincheck_report *report)
{
    lincheck_config dcfg;
    if (!cfg) {
        lincheck_config_default(&dcfg);
        cfg = &dcfg;
    }
    lincheck_report tmp;
    lincheck_report *rep = report ? report : &tmp;
    memset(rep, 0, sizeof *rep);
    rep->result = LINCHECK_OK;
    size_t *idx = malloc((n + 1) * sizeof *idx);
    if (!idx) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (ops[i].pending && ops[i].op == LINCHECK_READ) continue; /* no effect, no output */
        idx[m++] = i;
    }
    sort_ops = ops;
    qsort(idx, m, sizeof *idx, idx_by_key_call);
    bool unknown = false;
    for (size_t lo = 0; lo < m;) {
        size_t hi = lo;
        while (hi < m && ops[idx[hi]].key == ops[idx[lo]].key)
            hi++;
        key_search ks = {.ops = ops, .idx = idx + lo, .n = hi - lo, .cfg = cfg};
        lincheck_result r = check_key(&ks);
        rep->states += ks.states;
        rep->keys_checked++;
        if (r == LINCHECK_FAIL) {
            rep->result = LINCHECK_FAIL;
            rep->key = ops[idx[lo]].key;
            make_window(ops, idx + lo, hi - lo, ks.stuck, rep);
            break;
        }
        if (r == LINCHECK_UNKNOWN && !unknown) {
            unknown = true;
            rep->key = ops[idx[lo]].key;
        }
        lo = hi;
    }
    if (rep->result == LINCHECK_OK && unknown) rep->result = LINCHECK_UNKNOWN;
    free(idx);
    return 0;
}

static void print_value(FILE *out, lincheck_value v, const char *const *str_names)
{
    switch (v.kind) {
    case LINCHECK_NIL: fputs("null", out); break;
    case LINCHECK_INT: fprintf(out, "%" PRId64, v.v); break;
    default:
        if (str_names)
            fprintf(out, "\"%s\"", str_names[v.v]);
        else
            fprintf(out, "\"#%" PRId64 "\"", v.v);
    }
}

void lincheck_print_op(FILE *out, const lincheck_op *op, const char *const *key_names,
                       const char *const *str_names)
{
    static const char *names[] = {"read", "write", "incr", "cas", "del"};
    fprintf(out, "{\"client\":%d,\"op\":\"%s\",\"key\":", (int)op->client,
            op->op <= LINCHECK_DEL ? names[op->op] : "?");
    if (key_names)
        fprintf(out, "\"%s\"", key_names[op->key]);
    else
        fprintf(out, "%" PRIu32, op->key);
    if (op->op == LINCHECK_WRITE || op->op == LINCHECK_INCR || op->op == LINCHECK_CAS) {
        fputs(",\"value\":", out);
        print_value(out, op->arg, str_names);
    }
    if (op->op == LINCHECK_CAS) {
        fputs(",\"expect\":", out);
        print_value(out, op->expect, str_names);
    }
    if (!op->pending && op->op != LINCHECK_WRITE && op->op != LINCHECK_DEL) {
        fputs(",\"out\":", out);
        if (op->op == LINCHECK_CAS)
            fputs(op->out.kind == LINCHECK_INT && op->out.v ? "true" : "false", out);
        else
            print_value(out, op->out, str_names);
    }
    fprintf(out, ",\"invoke\":%" PRId64 ",\"return\":", op->call);
    if (op->pending)
        fputs("null}", out);
    else
        fprintf(out, "%" PRId64 "}", op->ret);
}

void lincheck_print_report(FILE *out, const lincheck_op *ops, const lincheck_report *rep,
                           const char *const *key_names, const char *const *str_names)
{
    if (rep->result == LINCHECK_OK) {
        fprintf(out, "linearizable (%zu keys, %" PRIu64 " states)\n", rep->keys_checked,
                rep->states);
        return;
    }
    fputs("key ", out);
    if (key_names)
        fprintf(out, "\"%s\"", key_names[rep->key]);
    else
        fprintf(out, "%" PRIu32, rep->key);
    if (rep->result == LINCHECK_UNKNOWN) {
        fprintf(out, ": unknown (search limit reached after %" PRIu64 " states)\n", rep->states);
        return;
    }
    fprintf(out, ": NOT linearizable; no order explains this op:\n  ");
    lincheck_print_op(out, &ops[rep->stuck_op], key_names, str_names);
    fprintf(out, "\nwindow (ops concurrent with it and the writes just before it):\n");
    for (size_t i = 0; i < rep->window_len; i++) {
        fputs(rep->window[i] == rep->stuck_op ? "> " : "  ", out);
        lincheck_print_op(out, &ops[rep->window[i]], key_names, str_names);
        fputc('\n', out);
    }
}
