/* lincheck.h — linearizability checker for histories of a key-value register.
 *
 * Wing & Gong's search with Lowe's optimisations ("Testing for linearizability", 2017):
 * just-in-time linearization over a linked list of call/return events, and memoisation of
 * (linearized-set, state) pairs so no configuration is explored twice. Keys are independent
 * registers, so each key's sub-history is checked alone (P-compositionality, Herlihy & Wing §3.2).
 *
 * An operation whose outcome is unknown (timeout, connection lost) is "pending": it may have
 * taken effect at any instant after its invocation, or never. Its output is ignored.
 *
 * The search is bounded: past cfg.max_states memoised configurations (or cfg.max_memory_bytes)
 * the answer is LINCHECK_UNKNOWN, never a hang. */
#ifndef SYNOD_SIM_LINCHECK_H
#define SYNOD_SIM_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Results double as the CLI's exit codes. */
typedef enum {
    LINCHECK_OK = 0,      /* every key's history is linearizable */
    LINCHECK_FAIL = 1,    /* some key's history is not; see lincheck_report */
    LINCHECK_UNKNOWN = 2, /* the search limit was reached before an answer */
} lincheck_result;

typedef enum {
    LINCHECK_NIL = 0, /* key absent (never written, or deleted) */
    LINCHECK_INT = 1, /* integer value, incr applies to it */
    LINCHECK_STR = 2, /* opaque non-integer value; v is an interned id */
} lincheck_vkind;

typedef struct {
    uint8_t kind; /* lincheck_vkind */
    int64_t v;    /* 0 when kind == LINCHECK_NIL */
} lincheck_value;

typedef enum {
    LINCHECK_READ,  /* out = value read */
    LINCHECK_WRITE, /* arg = value written */
    LINCHECK_INCR,  /* arg = INT delta; out = INT new value (absent key counts as 0) */
    LINCHECK_CAS,   /* if value == expect then value = arg; out = INT 1 if swapped else 0 */
    LINCHECK_DEL,   /* value = NIL */
} lincheck_opkind;

typedef struct {
    int32_t client;     /* for messages only: the checker never assumes per-client order */
    uint32_t key;       /* key id; the caller interns names */
    uint8_t op;         /* lincheck_opkind */
    bool pending;       /* outcome unknown: ret and out are ignored */
    lincheck_value arg; /* see lincheck_opkind */
    lincheck_value expect;
    lincheck_value out;
    int64_t call; /* invocation time, any monotonic unit */
    int64_t ret;  /* return time, >= call; equal times count as concurrent */
} lincheck_op;

typedef struct {
    uint64_t max_states;       /* memoised configurations per key before giving up */
    uint64_t max_memory_bytes; /* memo memory per key before giving up */
} lincheck_config;

#define LINCHECK_WINDOW_MAX 32

/* What the checker found. On LINCHECK_FAIL, window lists (indices into the caller's op array,
 * sorted by call time) the operations around the furthest point the search could reach: the
 * operation that could not be linearized, the operations concurrent with it, and the last
 * completed writes before it that fix the state it saw. */
typedef struct {
    lincheck_result result;
    uint32_t key;    /* key that failed (FAIL) or hit the limit (UNKNOWN) */
    size_t stuck_op; /* index of the operation that could not be linearized */
    size_t window[LINCHECK_WINDOW_MAX];
    size_t window_len;
    uint64_t states; /* memoised configurations, all keys */
    size_t keys_checked;
} lincheck_report;

void lincheck_config_default(lincheck_config *cfg);

/* Checks ops[0..n) (any order). Does not keep pointers to ops. cfg may be NULL (defaults).
 * report may be NULL. Returns -1 only if memory runs out for the history itself. */
int lincheck_check(const lincheck_op *ops, size_t n, const lincheck_config *cfg,
                   lincheck_report *report);

/* Prints one op in the history file's JSON-lines format. key_names may be NULL (prints ids);
 * str_names (may be NULL) names interned LINCHECK_STR values. */
void lincheck_print_op(FILE *out, const lincheck_op *op, const char *const *key_names,
                       const char *const *str_names);

/* Prints the verdict and, on failure, the key and its window. */
void lincheck_print_report(FILE *out, const lincheck_op *ops, const lincheck_report *report,
                           const char *const *key_names, const char *const *str_names);

static inline lincheck_value lincheck_nil(void)
{
    lincheck_value v = {LINCHECK_NIL, 0};
    return v;
}

static inline lincheck_value lincheck_int(int64_t x)
{
    lincheck_value v = {LINCHECK_INT, x};
    return v;
}

#endif
