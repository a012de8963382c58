/* hist.c — the log-linear latency histogram of hist.h. */
#include "util/hist.h"

#include "util/assert.h"

uint64_t syn_hist_low(unsigned i)
{
    SYN_ASSERT(i < SYN_HIST_N);
    if (i < SYN_HIST_SUB) return i;
    unsigned m = (i - SYN_HIST_SUB) / SYN_HIST_SUB + SYN_HIST_SUB_BITS;
    unsigned sub = (i - SYN_HIST_SUB) % SYN_HIST_SUB;
    return (uint64_t)(SYN_HIST_SUB + sub) << (m - SYN_HIST_SUB_BITS);
}

uint64_t syn_hist_high(unsigned i)
{
    if (i < SYN_HIST_SUB) return i;
    unsigned m = (i - SYN_HIST_SUB) / SYN_HIST_SUB + SYN_HIST_SUB_BITS;
    return syn_hist_low(i) + (1ull << (m - SYN_HIST_SUB_BITS)) - 1;
}

uint64_t syn_hist_percentile(const syn_hist *h, double p)
{
    if (p > 100.0) p = 100.0;
    if (p < 0.0) p = 0.0;
    uint64_t want = (uint64_t)(p / 100.0 * (double)syn_hist_total(h) + 0.5), seen = 0;
    if (want < 1) want = 1;
    for (unsigned i = 0; i < SYN_HIST_N; i++) {
        seen += h->b[i];
        if (seen >= want) return p == 0.0 ? syn_hist_low(i) : syn_hist_high(i);
    }
    return 0;
}

uint64_t syn_hist_count_upto(const syn_hist *h, unsigned i)
{
    uint64_t n = 0;
    for (unsigned j = 0; j <= i && j < SYN_HIST_N; j++)
        n += h->b[j];
    return n;
}

uint64_t syn_hist_total(const syn_hist *h)
{
    return syn_hist_count_upto(h, SYN_HIST_N - 1);
}
