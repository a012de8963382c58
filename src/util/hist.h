/* hist.h — a compact latency histogram (LATENCY HISTOGRAM, INFO latencystats): log-linear
 * buckets of nanoseconds, a sixteenth of a power of two wide (values below 16 exact), from 1 ns
 * to 1 s (Redis's range; longer samples count as 1 s, shorter as 1 ns). 432 counters.
 *
 * Not HdrHistogram: one bucket width (1/16 of its value at most, so a percentile is at most
 * 6.25% above the true value), no configuration, no allocation. */
#ifndef SYNOD_UTIL_HIST_H
#define SYNOD_UTIL_HIST_H

#include <stdint.h>

#define SYN_HIST_SUB_BITS 4
#define SYN_HIST_SUB      (1 << SYN_HIST_SUB_BITS)
#define SYN_HIST_N        (SYN_HIST_SUB + (30 - SYN_HIST_SUB_BITS) * SYN_HIST_SUB) /* to 2^30 */
#define SYN_HIST_MAX      1000000000ull

typedef struct {
    uint64_t b[SYN_HIST_N]; /* b[i]: samples in bucket i (no total: one store per sample) */
} syn_hist;

/* the bucket of v (v <= SYN_HIST_MAX); inline: it is on every request's path */
static inline unsigned syn_hist_index(uint64_t v)
{
    if (v < SYN_HIST_SUB) return (unsigned)v;
    unsigned m = 63u - (unsigned)__builtin_clzll(v); /* >= SYN_HIST_SUB_BITS */
    unsigned sub = (unsigned)(v >> (m - SYN_HIST_SUB_BITS)) & (SYN_HIST_SUB - 1);
    return SYN_HIST_SUB + (m - SYN_HIST_SUB_BITS) * SYN_HIST_SUB + sub;
}
uint64_t syn_hist_low(unsigned i);  /* the smallest value of bucket i */
uint64_t syn_hist_high(unsigned i); /* the largest value of bucket i */
/* v clamped to 1..SYN_HIST_MAX */
static inline void syn_hist_add(syn_hist *h, uint64_t v)
{
    if (v < 1) v = 1;
    if (v > SYN_HIST_MAX) v = SYN_HIST_MAX;
    h->b[syn_hist_index(v)]++;
}
/* The value at percentile p (0..100) as HdrHistogram reports it: the bucket of the
 * round(p% of n)-th smallest sample (at least the first); its largest value (smallest for p = 0).
 * 0 when empty. */
uint64_t syn_hist_percentile(const syn_hist *h, double p);
/* Samples in all buckets. */
uint64_t syn_hist_total(const syn_hist *h);
/* Samples in buckets up to and including bucket i. */
uint64_t syn_hist_count_upto(const syn_hist *h, unsigned i);

#endif
