/* acl.c — ACL users: rule parsing (ACL SETUSER), permission checks, the text forms (ACL LIST,
 * ACL GETUSER) and the snapshot codec. Redis 7.0's semantics, observable reply by reply:
 *
 * - A selector holds a command bitmap indexed by catalog id, the first-args allowed for
 *   commands whose bit is clear (+select|0), key patterns (each with read / write access) and
 *   channel patterns. A user has a root selector and any number of `(...)` selectors; a
 *   command is allowed if one selector allows it.
 * - `+@all` also sets a "future commands" bit that only `-@all` clears: it decides whether the
 *   description starts with +@all (subtract from everything) or -@all (add to nothing).
 * - The command rules are described as Redis does: starting from +@all or -@all, the best
 *   fitting categories are applied one at a time, then single commands fix the rest, and the
 *   result is checked to rebuild exactly the same bitmap (a mismatch is our bug: assertion).
 *
 * The data layer has no stdio: strings are built with acl_buf. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/acl.h"
#include "data/data_internal.h"
#include "util/assert.h"

#define ACL_USERS_MAX    100000 /* users in a table */
#define ACL_PATTERNS_MAX 10000  /* key or channel patterns, first-args, selectors of one user */
#define HASH_HEX         64

const char *const acl_cat_names[ACL_CATS] = {
    "keyspace", "read",   "write",       "set",       "sortedset",  "list",        "hash",
    "string",   "bitmap", "hyperloglog", "geo",       "stream",     "pubsub",      "admin",
    "fast",     "slow",   "blocking",    "dangerous", "connection", "transaction", "scripting",
};

enum { SEL_ALLKEYS = 1u << 0, SEL_ALLCHANNELS = 1u << 1, SEL_ALLCOMMANDS = 1u << 2 };
enum { U_ENABLED = 1u << 0, U_NOPASS = 1u << 1, U_SANITIZE = 1u << 2, U_SKIP_SANITIZE = 1u << 3 };

typedef struct {
    char *p;
    size_t n;
    unsigned flags; /* key patterns: ACL_KEY_READ | ACL_KEY_WRITE */
} pat;

typedef struct {
    int id;
    char *p;
    size_t n;
} firstarg;

typedef struct {
    unsigned flags; /* SEL_* */
    int future;     /* set by +@all, cleared by -@all only */
    uint64_t *bits; /* catalog ids; words = (n + 63) / 64 */
    firstarg *fa;   /* allowed first arguments of commands whose bit is clear */
    size_t nfa;
    pat *keys;
    size_t nkeys;
    pat *chans;
    size_t nchans;
} sel;

struct acl_user {
    char *name;
    size_t n;
    unsigned flags; /* U_*; neither U_ENABLED: "off" */
    char (*pw)[HASH_HEX + 1];
    size_t npw;
    sel *sels; /* [0] is the root selector */
    size_t nsels;
};

struct acl_table {
    const acl_catalog *cat;
    size_t words;
    acl_user **users; /* sorted by name, byte order */
    size_t n, cap;
    uint64_t gen;
};

/* ---- small helpers ---- */

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    SYN_ASSERT(p != NULL);
    return p;
}

static void *xrealloc(void *p, size_t sz)
{
    p = realloc(p, sz ? sz : 1);
    SYN_ASSERT(p != NULL);
    return p;
}

static char *xdup(const char *s, size_t n)
{
    char *p = xcalloc(n + 1, 1);
    memcpy(p, s, n);
    return p;
}

void acl_buf_free(acl_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static void bput(acl_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void bputs(acl_buf *b, const char *s)
{
    bput(b, s, strlen(s));
}

static int eq_ci(const char *s, size_t n, const char *lower)
{
    return strlen(lower) == n && strncasecmp(s, lower, n) == 0;
}

/* Redis's ACLStringHasSpaces: whitespace or NUL */
static int has_spaces(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '\0' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
            ch == '\f')
            return 1;
    }
    return 0;
}

int acl_cat_lookup(const char *name, size_t len)
{
    for (int i = 0; i < ACL_CATS; i++)
        if (eq_ci(name, len, acl_cat_names[i])) return i;
    return -1;
}

int acl_catalog_find(const acl_catalog *cat, const char *name, size_t len)
{
    for (size_t i = 0; i < cat->n; i++)
        if (eq_ci(name, len, cat->cmds[i].name)) return (int)i;
    return -1;
}

static int has_subs(const acl_catalog *cat, int id)
{
    return (size_t)id + 1 < cat->n && cat->cmds[id + 1].parent == id;
}

/* ---- selectors ---- */

static int bit_get(const sel *s, int id)
{
    return (s->bits[id / 64] >> (id % 64)) & 1;
}

static void bit_set(sel *s, int id, int on)
{
    if (on) {
        s->bits[id / 64] |= 1ull << (id % 64);
    } else {
        s->bits[id / 64] &= ~(1ull << (id % 64));
        s->flags &= ~SEL_ALLCOMMANDS;
    }
}

static void pats_free(pat *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].p);
    free(p);
}

static void fa_reset_all(sel *s)
{
    for (size_t i = 0; i < s->nfa; i++)
        free(s->fa[i].p);
    free(s->fa);
    s->fa = NULL;
    s->nfa = 0;
}

static void fa_reset(sel *s, int id)
{
    size_t w = 0;
    for (size_t i = 0; i < s->nfa; i++) {
        if (s->fa[i].id == id)
            free(s->fa[i].p);
        else
            s->fa[w++] = s->fa[i];
    }
    s->nfa = w;
}

static void sel_init(sel *s, size_t words)
{
    memset(s, 0, sizeof(*s));
    s->bits = xcalloc(words, sizeof(uint64_t));
}

static void sel_deinit(sel *s)
{
    free(s->bits);
    fa_reset_all(s);
    pats_free(s->keys, s->nkeys);
    pats_free(s->chans, s->nchans);
    memset(s, 0, sizeof(*s));
}

static pat *pats_copy(const pat *src, size_t n)
{
    pat *p = xcalloc(n, sizeof(pat));
    for (size_t i = 0; i < n; i++) {
        p[i] = src[i];
        p[i].p = xdup(src[i].p, src[i].n);
    }
    return p;
}

static void sel_copy(sel *dst, const sel *src, size_t words)
{
    sel_init(dst, words);
    dst->flags = src->flags;
    dst->future = src->future;
    memcpy(dst->bits, src->bits, words * sizeof(uint64_t));
    dst->fa = xcalloc(src->nfa, sizeof(firstarg));
    for (size_t i = 0; i < src->nfa; i++) {
        dst->fa[i] = src->fa[i];
        dst->fa[i].p = xdup(src->fa[i].p, src->fa[i].n);
    }
    dst->nfa = src->nfa;
    dst->keys = pats_copy(src->keys, src->nkeys);
    dst->nkeys = src->nkeys;
    dst->chans = pats_copy(src->chans, src->nchans);
    dst->nchans = src->nchans;
}

/* allow or deny one command; a container takes its subcommands with it */
static void change_perm(const acl_catalog *cat, sel *s, int id, int allow)
{
    bit_set(s, id, allow);
    fa_reset(s, id);
    for (int j = id + 1; (size_t)j < cat->n && cat->cmds[j].parent == id; j++)
        bit_set(s, j, allow);
}

static void set_category(const acl_catalog *cat, sel *s, int c, int allow)
{
    for (size_t i = 0; i < cat->n; i++)
        if (cat->cmds[i].cats & (1u << c)) change_perm(cat, s, (int)i, allow);
}

static void all_commands(const acl_table *t, sel *s, int allow)
{
    memset(s->bits, allow ? 0xff : 0, t->words * sizeof(uint64_t));
    s->future = allow;
    if (allow)
        s->flags |= SEL_ALLCOMMANDS;
    else
        s->flags &= ~SEL_ALLCOMMANDS;
    fa_reset_all(s);
}

/* the bits of ids past the catalog are never looked at but must compare equal */
static int bits_equal(const acl_table *t, const sel *a, const sel *b)
{
    for (size_t i = 0; i < t->cat->n; i++)
        if (bit_get(a, (int)i) != bit_get(b, (int)i)) return 0;
    return 1;
}

/* Error codes of one op (Redis's errno values in ACLSetUser), turned into text by op_error. */
enum {
    E_SYNTAX = 1, /* EINVAL */
    E_UNKNOWN,    /* ENOENT */
    E_KEYS_ALL,   /* EEXIST */
    E_CHANS_ALL,  /* EISDIR */
    E_NOPASS,     /* ENODEV */
    E_HASH,       /* EBADMSG */
    E_CHILD,      /* ECHILD */
    E_TOO_MANY,   /* a bound of ours */
    E_CLEAR,      /* a clear-text password op reached the data layer */
};

static const char *op_error(int e)
{
    switch (e) {
    case E_UNKNOWN: return "Unknown command or category name in ACL";
    case E_SYNTAX: return "Syntax error";
    case E_KEYS_ALL:
        return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and "
               "does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case E_CHANS_ALL:
        return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid "
               "and does not have any effect. Try 'resetchannels' to start with an empty list of "
               "channels";
    case E_NOPASS: return "The password you are trying to remove from the user does not exist";
    case E_HASH:
        return "The password hash must be exactly 64 characters and contain only lowercase "
               "hexadecimal characters";
    case E_CHILD: return "Allowing first-arg of a subcommand is not supported";
    case E_TOO_MANY: return "Too many patterns, passwords or selectors for one user";
    case E_CLEAR: return "Clear-text passwords must be hashed before they are logged";
    default: return "Wrong format";
    }
}

static int add_pat(pat **arr, size_t *n, const char *p, size_t len, unsigned flags)
{
    for (size_t i = 0; i < *n; i++) {
        if ((*arr)[i].n == len && memcmp((*arr)[i].p, p, len) == 0) {
            (*arr)[i].flags |= flags;
            return 0;
        }
    }
    if (*n >= ACL_PATTERNS_MAX) return E_TOO_MANY;
    *arr = xrealloc(*arr, (*n + 1) * sizeof(pat));
    (*arr)[*n] = (pat){xdup(p, len), len, flags};
    (*n)++;
    return 0;
}

static int add_firstarg(sel *s, int id, const char *p, size_t len)
{
    for (size_t i = 0; i < s->nfa; i++)
        if (s->fa[i].id == id && eq_ci(p, len, s->fa[i].p)) return 0; /* strcasecmp: as Redis */
    if (s->nfa >= ACL_PATTERNS_MAX) return E_TOO_MANY;
    s->fa = xrealloc(s->fa, (s->nfa + 1) * sizeof(firstarg));
    s->fa[s->nfa++] = (firstarg){id, xdup(p, len), len};
    return 0;
}

/* +cmd, +cmd|sub, +cmd|firstarg */
static int allow_command(const acl_table *t, sel *s, const char *op, size_t n)
{
    const acl_catalog *cat = t->cat;
    const char *bar = NULL;
    for (size_t i = 0; i < n; i++)
        if (op[i] == '|') bar = op + i;
    if (!bar) {
        int id = acl_catalog_find(cat, op, n);
        if (id < 0) return E_UNKNOWN;
        change_perm(cat, s, id, 1);
        return 0;
    }
    size_t head = (size_t)(bar - op);
    int id = acl_catalog_find(cat, op, head);
    if (id < 0) return E_UNKNOWN;
    if (cat->cmds[id].parent >= 0) return E_CHILD;
    if (head + 1 == n) return E_SYNTAX;
    if (has_subs(cat, id)) {
        int sub = acl_catalog_find(cat, op, n);
        if (sub < 0) return E_UNKNOWN;
        change_perm(cat, s, sub, 1);
        return 0;
    }
    return add_firstarg(s, id, bar + 1, n - head - 1);
}

static int is_hash(const char *p, size_t n)
{
    if (n != HASH_HEX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    return 1;
}

/* One selector op (Redis's ACLSetSelector): 0 or E_*. */
static int set_selector(const acl_table *t, sel *s, const char *op, size_t n)
{
    if (eq_ci(op, n, "allkeys") || (n == 2 && op[0] == '~' && op[1] == '*')) {
        s->flags |= SEL_ALLKEYS;
        pats_free(s->keys, s->nkeys);
        s->keys = NULL;
        s->nkeys = 0;
    } else if (eq_ci(op, n, "resetkeys")) {
        s->flags &= ~SEL_ALLKEYS;
        pats_free(s->keys, s->nkeys);
        s->keys = NULL;
        s->nkeys = 0;
    } else if (eq_ci(op, n, "allchannels") || (n == 2 && op[0] == '&' && op[1] == '*')) {
        s->flags |= SEL_ALLCHANNELS;
        pats_free(s->chans, s->nchans);
        s->chans = NULL;
        s->nchans = 0;
    } else if (eq_ci(op, n, "resetchannels")) {
        s->flags &= ~SEL_ALLCHANNELS;
        pats_free(s->chans, s->nchans);
        s->chans = NULL;
        s->nchans = 0;
    } else if (eq_ci(op, n, "allcommands") || eq_ci(op, n, "+@all")) {
        all_commands(t, s, 1);
    } else if (eq_ci(op, n, "nocommands") || eq_ci(op, n, "-@all")) {
        all_commands(t, s, 0);
    } else if (op[0] == '~' || op[0] == '%') {
        if (s->flags & SEL_ALLKEYS) return E_KEYS_ALL;
        unsigned flags = 0;
        size_t off = 1;
        if (op[0] == '%') {
            for (; off < n; off++) {
                char ch = op[off];
                if ((ch == 'R' || ch == 'r') && !(flags & ACL_KEY_READ)) {
                    flags |= ACL_KEY_READ;
                } else if ((ch == 'W' || ch == 'w') && !(flags & ACL_KEY_WRITE)) {
                    flags |= ACL_KEY_WRITE;
                } else if (ch == '~') {
                    off++;
                    break;
                } else {
                    return E_SYNTAX;
                }
            }
        } else {
            flags = ACL_KEY_READ | ACL_KEY_WRITE;
        }
        if (has_spaces(op + off, n - off)) return E_SYNTAX;
        int rc = add_pat(&s->keys, &s->nkeys, op + off, n - off, flags);
        if (rc) return rc;
        s->flags &= ~SEL_ALLKEYS;
    } else if (op[0] == '&') {
        if (s->flags & SEL_ALLCHANNELS) return E_CHANS_ALL;
        if (has_spaces(op + 1, n - 1)) return E_SYNTAX;
        int rc = add_pat(&s->chans, &s->nchans, op + 1, n - 1, 0);
        if (rc) return rc;
        s->flags &= ~SEL_ALLCHANNELS;
    } else if (op[0] == '+' && (n < 2 || op[1] != '@')) {
        return allow_command(t, s, op + 1, n - 1);
    } else if (op[0] == '-' && (n < 2 || op[1] != '@')) {
        int id = acl_catalog_find(t->cat, op + 1, n - 1);
        if (id < 0) return E_UNKNOWN;
        change_perm(t->cat, s, id, 0);
    } else if (op[0] == '+' || op[0] == '-') {
        int c = acl_cat_lookup(op + 2, n - 2);
        if (c < 0) return E_UNKNOWN;
        set_category(t->cat, s, c, op[0] == '+');
    } else {
        return E_SYNTAX;
    }
    return 0;
}

/* ---- users ---- */

static void user_free(acl_user *u)
{
    if (!u) return;
    for (size_t i = 0; i < u->nsels; i++)
        sel_deinit(&u->sels[i]);
    free(u->sels);
    free(u->pw);
    free(u->name);
    free(u);
}

static acl_user *user_new(const acl_table *t, const char *name, size_t n)
{
    acl_user *u = xcalloc(1, sizeof(*u));
    u->name = xdup(name, n);
    u->n = n;
    u->sels = xcalloc(1, sizeof(sel));
    u->nsels = 1;
    sel_init(&u->sels[0], t->words);
    return u;
}

static acl_user *user_copy(const acl_table *t, const acl_user *src)
{
    acl_user *u = xcalloc(1, sizeof(*u));
    u->name = xdup(src->name, src->n);
    u->n = src->n;
    u->flags = src->flags;
    u->pw = xcalloc(src->npw, sizeof(*u->pw));
    if (src->npw) memcpy(u->pw, src->pw, src->npw * sizeof(*u->pw));
    u->npw = src->npw;
    u->sels = xcalloc(src->nsels, sizeof(sel));
    for (size_t i = 0; i < src->nsels; i++)
        sel_copy(&u->sels[i], &src->sels[i], t->words);
    u->nsels = src->nsels;
    return u;
}

static void clear_selectors(acl_user *u)
{
    for (size_t i = 1; i < u->nsels; i++)
        sel_deinit(&u->sels[i]);
    u->nsels = 1;
}

static int add_password(acl_user *u, const char *hex)
{
    for (size_t i = 0; i < u->npw; i++)
        if (memcmp(u->pw[i], hex, HASH_HEX) == 0) return 0;
    if (u->npw >= ACL_PATTERNS_MAX) return E_TOO_MANY;
    u->pw = xrealloc(u->pw, (u->npw + 1) * sizeof(*u->pw));
    memcpy(u->pw[u->npw], hex, HASH_HEX);
    u->pw[u->npw][HASH_HEX] = '\0';
    u->npw++;
    return 0;
}

static int del_password(acl_user *u, const char *hex)
{
    for (size_t i = 0; i < u->npw; i++) {
        if (memcmp(u->pw[i], hex, HASH_HEX) == 0) {
            memmove(&u->pw[i], &u->pw[i + 1], (u->npw - i - 1) * sizeof(*u->pw));
            u->npw--;
            return 0;
        }
    }
    return E_NOPASS;
}

static int set_user(const acl_table *t, acl_user *u, const char *op, size_t n);

/* "(op op ...)": a new selector, its ops separated by spaces */
static int add_selector(const acl_table *t, acl_user *u, const char *op, size_t n)
{
    if (u->nsels >= ACL_PATTERNS_MAX) return E_TOO_MANY;
    sel s;
    sel_init(&s, t->words);
    size_t i = 1, end = n - 1;
    while (i < end) {
        while (i < end && op[i] == ' ')
            i++;
        size_t j = i;
        while (j < end && op[j] != ' ')
            j++;
        if (j > i) {
            int rc = set_selector(t, &s, op + i, j - i);
            if (rc) {
                sel_deinit(&s);
                return rc;
            }
        }
        i = j;
    }
    u->sels = xrealloc(u->sels, (u->nsels + 1) * sizeof(sel));
    u->sels[u->nsels++] = s;
    return 0;
}

/* One op (Redis's ACLSetUser): 0 or E_*. */
static int set_user(const acl_table *t, acl_user *u, const char *op, size_t n)
{
    if (n == 0) return 0;
    if (eq_ci(op, n, "on")) {
        u->flags |= U_ENABLED;
    } else if (eq_ci(op, n, "off")) {
        u->flags &= ~U_ENABLED;
    } else if (eq_ci(op, n, "skip-sanitize-payload")) {
        u->flags = (u->flags | U_SKIP_SANITIZE) & ~U_SANITIZE;
    } else if (eq_ci(op, n, "sanitize-payload")) {
        u->flags = (u->flags | U_SANITIZE) & ~U_SKIP_SANITIZE;
    } else if (eq_ci(op, n, "nopass")) {
        u->flags |= U_NOPASS;
        u->npw = 0;
    } else if (eq_ci(op, n, "resetpass")) {
        u->flags &= ~U_NOPASS;
        u->npw = 0;
    } else if (op[0] == '>' || op[0] == '<') {
        return E_CLEAR;
    } else if (op[0] == '#') {
        if (!is_hash(op + 1, n - 1)) return E_HASH;
        int rc = add_password(u, op + 1);
        if (rc) return rc;
        u->flags &= ~U_NOPASS;
    } else if (op[0] == '!') {
        if (!is_hash(op + 1, n - 1)) return E_HASH;
        return del_password(u, op + 1);
    } else if (op[0] == '(' && op[n - 1] == ')') {
        return add_selector(t, u, op, n);
    } else if (eq_ci(op, n, "clearselectors")) {
        clear_selectors(u);
    } else if (eq_ci(op, n, "reset")) {
        /* resetpass resetkeys resetchannels off sanitize-payload clearselectors -@all (with
         * acl-pubsub-default resetchannels, Redis 7.0's default) */
        static const char *const ops[] = {"resetpass", "resetkeys",        "resetchannels",
                                          "off",       "sanitize-payload", "clearselectors",
                                          "-@all"};
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            SYN_ASSERT(set_user(t, u, ops[i], strlen(ops[i])) == 0);
    } else {
        return set_selector(t, &u->sels[0], op, n);
    }
    return 0;
}

/* ---- the table ---- */

static size_t find_pos(const acl_table *t, const char *name, size_t n, int *found)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const acl_user *u = t->users[mid];
        size_t m = u->n < n ? u->n : n;
        int c = memcmp(u->name, name, m);
        if (c == 0) c = u->n < n ? -1 : u->n > n ? 1 : 0;
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void insert_at(acl_table *t, size_t pos, acl_user *u)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 8;
        t->users = xrealloc(t->users, t->cap * sizeof(*t->users));
    }
    if (t->n > pos) memmove(&t->users[pos + 1], &t->users[pos], (t->n - pos) * sizeof(*t->users));
    t->users[pos] = u;
    t->n++;
}

static const char *const default_ops[] = {"+@all", "~*", "&*", "on", "nopass"};

acl_table *acl_create(const acl_catalog *cat)
{
    acl_table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->cat = cat;
    t->words = (cat->n + 63) / 64;
    acl_user *u = user_new(t, "default", 7);
    for (size_t i = 0; i < sizeof(default_ops) / sizeof(default_ops[0]); i++)
        SYN_ASSERT(set_user(t, u, default_ops[i], strlen(default_ops[i])) == 0);
    insert_at(t, 0, u);
    return t;
}

void acl_destroy(acl_table *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++)
        user_free(t->users[i]);
    free(t->users);
    free(t);
}

const acl_catalog *acl_get_catalog(const acl_table *t)
{
    return t->cat;
}

uint64_t acl_generation(const acl_table *t)
{
    return t->gen;
}

const acl_user *acl_find(const acl_table *t, const char *name, size_t len)
{
    int found;
    size_t pos = find_pos(t, name, len, &found);
    return found ? t->users[pos] : NULL;
}

size_t acl_count(const acl_table *t)
{
    return t->n;
}

const acl_user *acl_at(const acl_table *t, size_t i)
{
    SYN_ASSERT(i < t->n);
    return t->users[i];
}

const char *acl_user_name(const acl_user *u, size_t *len)
{
    if (len) *len = u->n;
    return u->name;
}

int acl_user_enabled(const acl_user *u)
{
    return (u->flags & U_ENABLED) != 0;
}

int acl_user_nopass(const acl_user *u)
{
    return (u->flags & U_NOPASS) != 0;
}

int acl_user_sanitize(const acl_user *u)
{
    return (u->flags & U_SANITIZE) ? 1 : (u->flags & U_SKIP_SANITIZE) ? -1 : 0;
}

size_t acl_user_passwords(const acl_user *u)
{
    return u->npw;
}

const char *acl_user_password(const acl_user *u, size_t i)
{
    SYN_ASSERT(i < u->npw);
    return u->pw[i];
}

int acl_user_hash_ok(const acl_user *u, const char *hex)
{
    int ok = 0;
    for (size_t i = 0; i < u->npw; i++) {
        unsigned diff = 0;
        for (size_t j = 0; j < HASH_HEX; j++)
            diff |= (unsigned)(u->pw[i][j] ^ hex[j]);
        ok |= diff == 0;
    }
    return ok;
}

size_t acl_user_selectors(const acl_user *u)
{
    return u->nsels;
}

/* Merges "(a", "b", "c)" into one op "(a b c)" (Redis's ACLMergeSelectorArguments). Returns
 * the merged ops (malloc'd strings) and their count, or NULL with *bad = the index of the op
 * that opened an unclosed selector. */
static acl_buf *merge_ops(int nops, const data_arg *ops, int *nout, int *bad)
{
    acl_buf *out = xcalloc((size_t)nops, sizeof(acl_buf));
    int n = 0, open = -1;
    for (int i = 0; i < nops; i++) {
        const data_arg *a = &ops[i];
        int starts = a->len > 0 && a->ptr[0] == '(';
        int ends = a->len > 0 && a->ptr[a->len - 1] == ')';
        if (open < 0 && starts && !ends) {
            open = i;
            bput(&out[n], a->ptr, a->len);
            continue;
        }
        if (open >= 0) {
            bput(&out[n], " ", 1);
            bput(&out[n], a->ptr, a->len);
            if (ends) {
                open = -1;
                n++;
            }
            continue;
        }
        bput(&out[n], a->ptr, a->len);
        if (!out[n].p) bput(&out[n], "", 0);
        n++;
    }
    if (open >= 0) {
        for (int i = 0; i <= n && i < nops; i++)
            acl_buf_free(&out[i]);
        free(out);
        *bad = open;
        return NULL;
    }
    *nout = n;
    return out;
}

/* err: "<prefix><a><suffix>", the argument cut at 128 bytes */
static void fmt_err(char *err, size_t cap, const char *pre, const char *a, size_t alen,
                    const char *post)
{
    if (!cap) return;
    acl_buf b = {0};
    bputs(&b, pre);
    bput(&b, a, alen > 128 ? 128 : alen);
    bputs(&b, post);
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    memcpy(err, b.p, n);
    err[n] = '\0';
    acl_buf_free(&b);
}

int acl_setuser(acl_table *t, const data_arg *name, int nops, const data_arg *ops, char *err,
                size_t err_cap)
{
    if (has_spaces(name->ptr, name->len)) {
        fmt_err(err, err_cap, "Usernames can't contain spaces or null characters", "", 0, "");
        return -1;
    }
    int nm = 0, bad = 0;
    acl_buf *m = merge_ops(nops, ops, &nm, &bad);
    if (!m) {
        fmt_err(err, err_cap, "Unmatched parenthesis in acl selector starting at '", ops[bad].ptr,
                ops[bad].len, "'.");
        return -1;
    }
    int found;
    size_t pos = find_pos(t, name->ptr, name->len, &found);
    if (!found && t->n >= ACL_USERS_MAX) {
        fmt_err(err, err_cap, "Too many ACL users", "", 0, "");
        for (int i = 0; i < nm; i++)
            acl_buf_free(&m[i]);
        free(m);
        return -1;
    }
    acl_user *u = found ? user_copy(t, t->users[pos]) : user_new(t, name->ptr, name->len);
    int rc = 0;
    for (int i = 0; i < nm && rc == 0; i++) {
        rc = set_user(t, u, m[i].p, m[i].len);
        if (rc) {
            acl_buf e = {0};
            bputs(&e, "': ");
            bputs(&e, op_error(rc));
            fmt_err(err, err_cap, "Error in ACL SETUSER modifier '", m[i].p, m[i].len, e.p);
            acl_buf_free(&e);
        }
    }
    for (int i = 0; i < nm; i++)
        acl_buf_free(&m[i]);
    free(m);
    if (rc) {
        user_free(u);
        return -1;
    }
    if (found) {
        user_free(t->users[pos]);
        t->users[pos] = u;
    } else {
        insert_at(t, pos, u);
    }
    t->gen++;
    return 0;
}

int acl_deluser(acl_table *t, int n, const data_arg *names, char *err, size_t err_cap)
{
    for (int i = 0; i < n; i++) {
        if (names[i].len == 7 && memcmp(names[i].ptr, "default", 7) == 0) {
            fmt_err(err, err_cap, "The 'default' user cannot be removed", "", 0, "");
            return -1;
        }
    }
    int deleted = 0;
    for (int i = 0; i < n; i++) {
        int found;
        size_t pos = find_pos(t, names[i].ptr, names[i].len, &found);
        if (!found) continue;
        user_free(t->users[pos]);
        memmove(&t->users[pos], &t->users[pos + 1], (t->n - pos - 1) * sizeof(*t->users));
        t->n--;
        deleted++;
    }
    if (deleted) t->gen++;
    return deleted;
}

/* ---- descriptions ---- */

static void count_cat(const acl_table *t, const sel *s, int c, unsigned long *on,
                      unsigned long *off)
{
    *on = *off = 0;
    for (size_t i = 0; i < t->cat->n; i++) {
        if (!(t->cat->cmds[i].cats & (1u << c))) continue;
        if (bit_get(s, (int)i))
            (*on)++;
        else
            (*off)++;
    }
}

/* Redis's ACLDescribeSelectorCommandRules */
void acl_describe_commands(const acl_table *t, const acl_user *u, size_t si, acl_buf *out)
{
    SYN_ASSERT(si < u->nsels);
    const sel *s = &u->sels[si];
    const acl_catalog *cat = t->cat;
    sel fake, temp;
    sel_init(&fake, t->words);
    sel_init(&temp, t->words);
    int additive = !s->future;
    bputs(out, additive ? "-@all " : "+@all ");
    all_commands(t, &fake, !additive);
    memcpy(temp.bits, s->bits, t->words * sizeof(uint64_t));
    char applied[ACL_CATS] = {0};
    for (;;) {
        int best = -1;
        unsigned long mindiff = (unsigned long)-1, maxsame = 0;
        for (int c = 0; c < ACL_CATS; c++) {
            if (applied[c]) continue;
            unsigned long on, off;
            count_cat(t, &temp, c, &on, &off);
            unsigned long diff = additive ? off : on, same = additive ? on : off;
            if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = c;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        set_category(cat, &fake, best, additive);
        set_category(cat, &temp, best, !additive);
        bputs(out, additive ? "+@" : "-@");
        bputs(out, acl_cat_names[best]);
        bputs(out, " ");
        applied[best] = 1;
    }
    for (size_t i = 0; i < cat->n; i++) {
        int ub = bit_get(s, (int)i), fb = bit_get(&fake, (int)i);
        if (ub != fb) {
            bputs(out, ub ? "+" : "-");
            bputs(out, cat->cmds[i].name);
            bputs(out, " ");
            change_perm(cat, &fake, (int)i, ub);
        }
        if (!ub) {
            for (size_t j = 0; j < s->nfa; j++) {
                if (s->fa[j].id != (int)i) continue;
                bputs(out, "+");
                bputs(out, cat->cmds[i].name);
                bputs(out, "|");
                bput(out, s->fa[j].p, s->fa[j].n);
                bputs(out, " ");
            }
        }
    }
    out->len--; /* the last space */
    out->p[out->len] = '\0';
    SYN_ASSERT(bits_equal(t, &fake, s)); /* the rules must rebuild exactly this bitmap */
    sel_deinit(&fake);
    sel_deinit(&temp);
}

static void put_key_pat(acl_buf *out, const pat *p)
{
    unsigned rw = ACL_KEY_READ | ACL_KEY_WRITE;
    bputs(out, p->flags == rw ? "~" : p->flags == ACL_KEY_READ ? "%R~" : "%W~");
    bput(out, p->p, p->n);
}

void acl_describe_keys(const acl_user *u, size_t si, acl_buf *out)
{
    SYN_ASSERT(si < u->nsels);
    const sel *s = &u->sels[si];
    if (s->flags & SEL_ALLKEYS) {
        bputs(out, "~*");
        return;
    }
    for (size_t i = 0; i < s->nkeys; i++) {
        if (i) bputs(out, " ");
        put_key_pat(out, &s->keys[i]);
    }
    if (!out->p) bput(out, "", 0);
}

void acl_describe_channels(const acl_user *u, size_t si, acl_buf *out)
{
    SYN_ASSERT(si < u->nsels);
    const sel *s = &u->sels[si];
    if (s->flags & SEL_ALLCHANNELS) {
        bputs(out, "&*");
        return;
    }
    for (size_t i = 0; i < s->nchans; i++) {
        if (i) bputs(out, " ");
        bputs(out, "&");
        bput(out, s->chans[i].p, s->chans[i].n);
    }
    if (!out->p) bput(out, "", 0);
}

/* Redis's ACLDescribeSelector: keys, channels, commands */
static void describe_selector(const acl_table *t, const acl_user *u, size_t si, acl_buf *out)
{
    const sel *s = &u->sels[si];
    if (s->flags & SEL_ALLKEYS) {
        bputs(out, "~* ");
    } else {
        for (size_t i = 0; i < s->nkeys; i++) {
            put_key_pat(out, &s->keys[i]);
            bputs(out, " ");
        }
    }
    if (s->flags & SEL_ALLCHANNELS) {
        bputs(out, "&* ");
    } else {
        bputs(out, "resetchannels ");
        for (size_t i = 0; i < s->nchans; i++) {
            bputs(out, "&");
            bput(out, s->chans[i].p, s->chans[i].n);
            bputs(out, " ");
        }
    }
    acl_describe_commands(t, u, si, out);
}

void acl_describe(const acl_table *t, const acl_user *u, acl_buf *out)
{
    bputs(out, (u->flags & U_ENABLED) ? "on " : "off ");
    if (u->flags & U_NOPASS) bputs(out, "nopass ");
    if (u->flags & U_SKIP_SANITIZE) bputs(out, "skip-sanitize-payload ");
    if (u->flags & U_SANITIZE) bputs(out, "sanitize-payload ");
    for (size_t i = 0; i < u->npw; i++) {
        bputs(out, "#");
        bput(out, u->pw[i], HASH_HEX);
        bputs(out, " ");
    }
    describe_selector(t, u, 0, out);
    for (size_t i = 1; i < u->nsels; i++) {
        bputs(out, " (");
        describe_selector(t, u, i, out);
        bputs(out, ")");
    }
}

/* ---- checks ---- */

static int key_ok(const sel *s, const data_arg *key, unsigned need)
{
    if (s->flags & SEL_ALLKEYS) return 1;
    for (size_t i = 0; i < s->nkeys; i++) {
        if ((s->keys[i].flags & need) != need) continue;
        if (data_glob_match(s->keys[i].p, s->keys[i].n, key->ptr, key->len)) return 1;
    }
    return 0;
}

static int chan_ok(const sel *s, const char *ch, size_t len, int pattern)
{
    if (s->flags & SEL_ALLCHANNELS) return 1;
    for (size_t i = 0; i < s->nchans; i++) {
        const pat *p = &s->chans[i];
        if (pattern ? (p->n == len && memcmp(p->p, ch, len) == 0)
                    : data_glob_match(p->p, p->n, ch, len))
            return 1;
    }
    return 0;
}

/* Redis's ACLSelectorCheckCmd */
static int check_selector(const acl_table *t, const sel *s, int id, int argc, const data_arg *argv,
                          const acl_ref *keys, int nkeys, const acl_ref *chans, int nchans,
                          int *idx)
{
    const acl_cmd *cmd = &t->cat->cmds[id];
    if (!(s->flags & SEL_ALLCOMMANDS) && !(cmd->flags & ACL_CMD_NO_AUTH) && !bit_get(s, id)) {
        int ai = cmd->parent >= 0 ? 2 : 1;
        int ok = 0;
        for (size_t i = 0; i < s->nfa && argc > ai && !ok; i++)
            ok = s->fa[i].id == id && eq_ci(argv[ai].ptr, argv[ai].len, s->fa[i].p);
        if (!ok) return ACL_DENIED_CMD;
    }
    if (!(s->flags & SEL_ALLKEYS)) {
        for (int i = 0; i < nkeys; i++) {
            unsigned need = keys[i].flags & (ACL_KEY_READ | ACL_KEY_WRITE);
            if (!key_ok(s, &argv[keys[i].pos], need)) {
                *idx = keys[i].pos;
                return ACL_DENIED_KEY;
            }
        }
    }
    if (!(s->flags & SEL_ALLCHANNELS)) {
        for (int i = 0; i < nchans; i++) {
            const data_arg *c = &argv[chans[i].pos];
            if (!chan_ok(s, c->ptr, c->len, (chans[i].flags & ACL_CH_PATTERN) != 0)) {
                *idx = chans[i].pos;
                return ACL_DENIED_CHANNEL;
            }
        }
    }
    return ACL_OK;
}

int acl_check(const acl_table *t, const acl_user *u, int id, int argc, const data_arg *argv,
              const acl_ref *keys, int nkeys, const acl_ref *chans, int nchans, int *idx)
{
    SYN_ASSERT(id >= 0 && (size_t)id < t->cat->n);
    int relevant = ACL_DENIED_CMD, last = 0;
    for (size_t i = 0; i < u->nsels; i++) {
        int at = 0;
        int rc = check_selector(t, &u->sels[i], id, argc, argv, keys, nkeys, chans, nchans, &at);
        if (rc == ACL_OK) return ACL_OK;
        if (rc > relevant || (rc == relevant && at > last)) {
            relevant = rc;
            last = at;
        }
    }
    *idx = last;
    return relevant;
}

_Static_assert(ACL_KEY_READ == 1 && ACL_KEY_WRITE == 2, "the bits data_cmd_acl_keys returns");

int acl_check_data(const acl_table *t, const acl_user *u, const data_cmd *dc, int argc,
                   const data_arg *argv, int *idx)
{
    const data_cmd_info *in = data_cmd_describe(dc);
    const acl_catalog *cat = t->cat;
    int id = -1;
    size_t nl = strlen(in->name);
    if (argc >= 2 && argv[1].len < 64) {
        char full[128];
        memcpy(full, in->name, nl);
        full[nl] = '|';
        memcpy(full + nl + 1, argv[1].ptr, argv[1].len);
        id = acl_catalog_find(cat, full, nl + 1 + argv[1].len);
    }
    if (id < 0) id = acl_catalog_find(cat, in->name, nl);
    if (id < 0) return ACL_OK;
    acl_ref *keys = xcalloc((size_t)argc, sizeof(acl_ref));
    int *pos = xcalloc((size_t)argc, sizeof(int));
    unsigned *need = xcalloc((size_t)argc, sizeof(unsigned));
    int nk = eq_ci(in->name, nl, "spublish")
                 ? 0
                 : data_cmd_acl_keys(dc, NULL, NULL, argc, argv, pos, need, argc);
    for (int i = 0; i < nk; i++)
        keys[i] = (acl_ref){pos[i], need[i]}; /* ACL_KEY_READ = 1, ACL_KEY_WRITE = 2 */
    free(need);
    acl_ref ch = {1, 0};
    int nc = (eq_ci(in->name, nl, "publish") || eq_ci(in->name, nl, "spublish")) && argc >= 2;
    int rc = acl_check(t, u, id, argc, argv, keys, nk, &ch, nc, idx);
    free(keys);
    free(pos);
    return rc;
}

int acl_channel_ok(const acl_user *u, const char *ch, size_t len, int pattern)
{
    for (size_t i = 0; i < u->nsels; i++)
        if (chan_ok(&u->sels[i], ch, len, pattern)) return 1;
    return 0;
}

int acl_user_unrestricted(const acl_user *u)
{
    unsigned all = SEL_ALLKEYS | SEL_ALLCHANNELS | SEL_ALLCOMMANDS;
    return (u->sels[0].flags & all) == all;
}

/* ---- snapshot codec: u32 users | users x (u32 len | name | u32 len | ACL LIST rules) ---- */

int acl_is_default(const acl_table *t)
{
    if (t->n != 1) return 0;
    const acl_user *u = t->users[0];
    unsigned all = SEL_ALLKEYS | SEL_ALLCHANNELS | SEL_ALLCOMMANDS;
    return u->flags == (U_ENABLED | U_NOPASS) && u->npw == 0 && u->nsels == 1 &&
           u->sels[0].flags == all && u->sels[0].future && u->sels[0].nfa == 0;
}

void acl_save(const acl_table *t, acl_put_cb put, void *ctx)
{
    codec_put_u32(put, ctx, t->n);
    for (size_t i = 0; i < t->n; i++) {
        const acl_user *u = t->users[i];
        acl_buf b = {0};
        acl_describe(t, u, &b);
        codec_put_u32(put, ctx, u->n);
        put(ctx, u->name, u->n);
        codec_put_u32(put, ctx, b.len);
        put(ctx, b.p, b.len);
        acl_buf_free(&b);
    }
}

/* the rules of one user, split at spaces ("(...)" groups are merged back by acl_setuser) */
static int load_user(acl_table *t, const char *name, size_t nlen, const char *r, size_t rlen)
{
    size_t cap = 16, n = 0;
    data_arg *ops = xcalloc(cap, sizeof(data_arg));
    for (size_t i = 0; i < rlen;) {
        while (i < rlen && r[i] == ' ')
            i++;
        size_t j = i;
        while (j < rlen && r[j] != ' ')
            j++;
        if (j > i) {
            if (n == cap) ops = xrealloc(ops, (cap *= 2) * sizeof(data_arg));
            ops[n++] = (data_arg){r + i, j - i};
        }
        i = j;
    }
    /* a fresh user (not "reset": that adds sanitize-payload) given exactly these rules */
    int nm = 0, bad = 0, rc = 0;
    acl_buf *m = merge_ops((int)n, ops, &nm, &bad);
    free(ops);
    if (!m) return -1;
    acl_user *u = user_new(t, name, nlen);
    if (has_spaces(name, nlen)) rc = E_SYNTAX;
    for (int i = 0; i < nm; i++) {
        if (rc == 0) rc = set_user(t, u, m[i].p, m[i].len);
        acl_buf_free(&m[i]);
    }
    free(m);
    int found;
    size_t pos = find_pos(t, name, nlen, &found);
    if (rc || (found && !(nlen == 7 && memcmp(name, "default", 7) == 0))) {
        user_free(u);
        return -1;
    }
    if (found) {
        user_free(t->users[pos]);
        t->users[pos] = u;
    } else {
        insert_at(t, pos, u);
    }
    return 0;
}

acl_table *acl_load(const acl_catalog *cat, const unsigned char **p, size_t *left)
{
    uint32_t n;
    if (codec_get_u32(p, left, &n) < 0 || n == 0 || n > ACL_USERS_MAX) return NULL;
    acl_table *t = acl_create(cat);
    if (!t) return NULL;
    const char *prev = NULL;
    size_t prev_n = 0;
    for (uint32_t i = 0; i < n; i++) {
        const char *name, *rules;
        size_t nlen, rlen;
        if (codec_get_str(p, left, &name, &nlen) < 0 || codec_get_str(p, left, &rules, &rlen) < 0)
            goto bad;
        /* strictly ascending names: no duplicates */
        if (prev) {
            size_t m = prev_n < nlen ? prev_n : nlen;
            int c = memcmp(prev, name, m);
            if (c > 0 || (c == 0 && prev_n >= nlen)) goto bad;
        }
        prev = name;
        prev_n = nlen;
        if (load_user(t, name, nlen, rules, rlen) < 0) goto bad;
    }
    if (!acl_find(t, "default", 7)) goto bad;
    t->gen = 0;
    return t;
bad:
    acl_destroy(t);
    return NULL;
}

/* ---- the store's table and ACL_EFFECT ---- */

const acl_catalog acl_no_catalog = {NULL, 0};

void data_set_acl_catalog(data_store *ds, const acl_catalog *cat)
{
    acl_table *t = acl_create(cat);
    SYN_ASSERT(t != NULL);
    acl_destroy(ds->acl);
    ds->acl = t;
}

const acl_table *data_acl(const data_store *ds)
{
    return ds->acl;
}

void data_set_acl_hook(data_store *ds, data_acl_cb cb, void *ctx)
{
    ds->acl_cb = cb;
    ds->acl_ctx = ctx;
}

static void reply_acl_err(data_call *c, const char *prefix, const char *msg)
{
    acl_buf b = {0};
    bputs(&b, prefix);
    bputs(&b, msg);
    c->ops->error(c->rctx, b.p, b.len);
    acl_buf_free(&b);
}

/* ACL_EFFECT SETUSER name op... | DELUSER name... | NOPERM reason */
void cmd_acl_effect(data_call *c)
{
    const data_arg *sub = &c->argv[1];
    char err[512];
    if (arg_eq(sub, "setuser")) {
        if (acl_setuser(c->ds->acl, &c->argv[2], c->argc - 3, c->argv + 3, err, sizeof(err)) < 0) {
            reply_acl_err(c, "ERR ", err);
            return;
        }
        c->dirty = 1;
        if (c->ds->acl_cb) c->ds->acl_cb(c->ds->acl_ctx, c->argv[2].ptr, c->argv[2].len, 0);
        reply_ok(c);
    } else if (arg_eq(sub, "deluser")) {
        int n = c->argc - 2;
        const data_arg *names = c->argv + 2;
        unsigned char *existed = xcalloc((size_t)n, 1);
        for (int i = 0; i < n; i++)
            existed[i] = acl_find(c->ds->acl, names[i].ptr, names[i].len) != NULL;
        int deleted = acl_deluser(c->ds->acl, n, names, err, sizeof(err));
        if (deleted < 0) {
            free(existed);
            reply_acl_err(c, "ERR ", err);
            return;
        }
        if (deleted) c->dirty = 1;
        for (int i = 0; i < n && c->ds->acl_cb; i++)
            if (existed[i]) c->ds->acl_cb(c->ds->acl_ctx, names[i].ptr, names[i].len, 1);
        free(existed);
        reply_int(c, deleted);
    } else if (arg_eq(sub, "noperm") && c->argc == 3) {
        acl_buf b = {0};
        bputs(&b, "NOPERM ACLs rules changed between the moment the transaction was accumulated "
                  "and the EXEC call. This command is no longer allowed for the following "
                  "reason: ");
        bput(&b, c->argv[2].ptr, c->argv[2].len);
        c->ops->error(c->rctx, b.p, b.len);
        acl_buf_free(&b);
    } else {
        reply_syntax(c);
    }
}
