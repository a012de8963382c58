/* latency.c — per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats), the latency
 * monitor (LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR) and the decision of what a call's
 * duration feeds, as Redis 7.0 does it (docs/server.md "Diagnostics"). All of it is this node's:
 * nothing is replicated.
 *
 * Durations come from stats.c's cycle counter (ticks): srv_diag_call (inline, server.h) gets
 * every call's ticks and records them in the command's histogram (latency-tracking); past the
 * thresholds (converted to ticks once per cron tick into server.diag_hot) srv_diag_slow pushes a
 * SLOWLOG entry and a latency sample. The common case is a multiply, a count of leading zeros
 * and an increment.
 *
 * The histogram is util/hist.h's (log-linear buckets of nanoseconds, 1/16 of a power of two
 * wide, allocated at a command's first call). LATENCY HISTOGRAM prints, as Redis, the cumulative
 * count at each power of two from 1024 ns, keyed by the microsecond label Redis prints for it
 * (1, 2, 4, 8, 16, 33, 66, ...: HdrHistogram's highest equivalent value of 2^k at two
 * significant digits); the bucket holding 2^k counts at 2^k. Percentiles are the upper edge of
 * the bucket holding them (at most 1/16 above the true value). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"
#include "util/assert.h"
#include "util/hist.h"

#define LAT_TS_LEN     160 /* samples per event, one per second at most (Redis's LATENCY_TS_LEN) */
#define LAT_EVENTS_MAX 16
#define LAT_NAME_MAX   32
#define PCT_MAX        16

typedef struct {
    int64_t time_s; /* 0: unused */
    uint32_t ms;
} lat_sample;

typedef struct {
    char name[LAT_NAME_MAX]; /* "" = free */
    int idx;                 /* next slot to write */
    uint32_t max_ms;         /* all-time high */
    lat_sample s[LAT_TS_LEN];
} lat_series;

struct srv_diag {
    double ns_per_tick;
    uint64_t slow_ticks, lat_ticks, min_ticks; /* UINT64_MAX: off */
    int tracking;
    double pct[PCT_MAX];
    int n_pct;
    lat_series ev[LAT_EVENTS_MAX]; /* LATEST lists them in slot order */
};

/* --- histogram ------------------------------------------------------------------------- */

void srv_diag_hist_new(srv_diag_cmd *dc)
{
    dc->hist = calloc(1, sizeof(*dc->hist)); /* NULL: a statistic, skipped rather than fail */
}

void srv_diag_cmd_reset(srv_diag_cmd *dc)
{
    free(dc->hist);
    dc->hist = NULL;
}

/* --- configuration ------------------------------------------------------------------------ */

static uint64_t to_ticks(double ns, double ns_per_tick)
{
    double t = ns / ns_per_tick;
    return t >= 1.8e19 ? UINT64_MAX : (uint64_t)t;
}

/* Thresholds in ticks, from the settings and the current tick rate. */
static void refresh(server *s)
{
    struct srv_diag *d = s->diag;
    const srv_config *cfg = &s->cfg;
    d->ns_per_tick = srv_stats_us_per_tick(s) * 1000.0;
    d->slow_ticks = cfg->slowlog_log_slower_than < 0
                        ? UINT64_MAX
                        : to_ticks((double)cfg->slowlog_log_slower_than * 1000.0, d->ns_per_tick);
    d->lat_ticks = cfg->latency_monitor_threshold <= 0
                       ? UINT64_MAX
                       : to_ticks((double)cfg->latency_monitor_threshold * 1e6, d->ns_per_tick);
    d->min_ticks = d->slow_ticks < d->lat_ticks ? d->slow_ticks : d->lat_ticks;
    d->tracking = cfg->latency_tracking != 0;
    double mult = d->ns_per_tick * 4294967296.0;
    s->diag_hot.ns_mult = mult >= 1.8e19 ? UINT64_MAX : (uint64_t)mult;
    s->diag_hot.min_ticks = d->min_ticks;
    s->diag_hot.tracking = d->tracking;
    d->n_pct =
        srv_config_parse_percentiles(cfg->latency_tracking_info_percentiles, d->pct, PCT_MAX);
    if (d->n_pct < 0) d->n_pct = 0;
}

void srv_diag_init(server *s)
{
    s->diag = calloc(1, sizeof(*s->diag));
    SYN_ASSERT(s->diag != NULL);
    refresh(s);
}

void srv_diag_deinit(server *s)
{
    free(s->diag);
    s->diag = NULL;
}

void srv_diag_config(server *s)
{
    refresh(s);
}

/* --- the latency monitor ------------------------------------------------------------------ */

/* An event by its exact name (as Redis: HISTORY and GRAPH are case-sensitive, RESET is not). */
static lat_series *series(struct srv_diag *d, const char *name, int create)
{
    lat_series *free_slot = NULL;
    for (int i = 0; i < LAT_EVENTS_MAX; i++) {
        if (!d->ev[i].name[0]) {
            if (!free_slot) free_slot = &d->ev[i];
        } else if (strcmp(d->ev[i].name, name) == 0) {
            return &d->ev[i];
        }
    }
    if (!create || !free_slot) return NULL;
    memset(free_slot, 0, sizeof(*free_slot));
    snprintf(free_slot->name, sizeof(free_slot->name), "%s", name);
    return free_slot;
}

/* Redis's latencyAddSample: one sample per second, the highest of that second. */
static void add_sample(struct srv_diag *d, const char *event, uint32_t ms)
{
    lat_series *ts = series(d, event, 1);
    if (!ts) return;
    int64_t now = srv_now_ms() / 1000;
    if (ms > ts->max_ms) ts->max_ms = ms;
    int prev = (ts->idx + LAT_TS_LEN - 1) % LAT_TS_LEN;
    if (ts->s[prev].time_s == now) {
        if (ms > ts->s[prev].ms) ts->s[prev].ms = ms;
        return;
    }
    ts->s[ts->idx].time_s = now;
    ts->s[ts->idx].ms = ms;
    ts->idx = (ts->idx + 1) % LAT_TS_LEN;
}

void srv_latency_event(server *s, const char *event, int64_t duration_us)
{
    long long th = s->cfg.latency_monitor_threshold;
    int64_t ms = duration_us / 1000;
    if (th > 0 && ms >= th) add_sample(s->diag, event, ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
}

/* --- a call ------------------------------------------------------------------------------- */

static void slow_call(server *s, client *c, const srv_diag_cmd *dc, uint64_t ticks, int argc,
                      const data_arg *argv, const data_arg *orig)
{
    struct srv_diag *d = s->diag;
    double us = (double)srv_diag_ns(s, ticks) / 1000.0;
    if (ticks >= d->lat_ticks)
        srv_latency_event(s, (dc->flags & SRV_DIAG_FAST) ? "fast-command" : "command", (int64_t)us);
    if (ticks < d->slow_ticks || (dc->flags & SRV_DIAG_SKIP_SLOWLOG) || argc < 1) return;
    if (!orig) {
        srv_slowlog_push(s, c, argc, argv, (long long)us);
        return;
    }
    /* the first two arguments as sent (ACL SETUSER is rewritten in place before it runs) */
    data_arg *a = malloc(sizeof(*a) * (size_t)argc);
    if (!a) return;
    memcpy(a, argv, sizeof(*a) * (size_t)argc);
    for (int i = 0; i < 2 && i < argc; i++)
        a[i] = orig[i];
    srv_slowlog_push(s, c, argc, a, (long long)us);
    free(a);
}

/* Past a threshold (srv_diag_call's inline part decided): SLOWLOG and the latency monitor. */
int srv_diag_slow(server *s, client *c, srv_diag_cmd *dc, uint64_t ticks, int argc,
                  const data_arg *argv, const data_arg *orig, int defer)
{
    struct srv_diag *d = s->diag;
    if (defer && (dc->flags & SRV_DIAG_BLOCKING)) {
        /* a blocking command is logged when it is served (its reply), as Redis */
        return ticks >= d->slow_ticks;
    }
    slow_call(s, c, dc, ticks, argc, argv, orig);
    return 0;
}

unsigned srv_diag_flags(const char *fullname)
{
    unsigned f = 0;
    if (!fullname) return 0;
    const data_cmd *dc = data_cmd_lookup(fullname, strlen(fullname));
    if (dc) {
        unsigned fl = data_cmd_describe(dc)->flags;
        if (fl & DATA_CMD_FAST) f |= SRV_DIAG_FAST;
        if (fl & DATA_CMD_BLOCKING) f |= SRV_DIAG_BLOCKING;
        return f;
    }
    if (srv_cmd_has_flag(fullname, "fast")) f |= SRV_DIAG_FAST;
    if (srv_cmd_has_flag(fullname, "skip_slowlog")) f |= SRV_DIAG_SKIP_SLOWLOG;
    return f;
}

/* --- INFO latencystats -------------------------------------------------------------------- */

/* "%f" without its trailing zeros (Redis's trimDoubleString) */
static void fmt_pct(char *out, size_t cap, double p)
{
    int n = snprintf(out, cap, "%f", p);
    if (n <= 0 || (size_t)n >= cap || !strchr(out, '.')) return;
    while (n > 0 && out[n - 1] == '0')
        out[--n] = '\0';
    if (n > 0 && out[n - 1] == '.') out[--n] = '\0';
}

static void info_line(void *ctx, const char *name, srv_diag_cmd *dc)
{
    void **a = ctx;
    server *s = a[0];
    resp_buf *b = a[1];
    if (!dc->hist || !syn_hist_total(dc->hist)) return;
    char line[1024];
    size_t len = (size_t)snprintf(line, sizeof(line), "latency_percentiles_usec_%s:", name);
    for (int j = 0; j < s->diag->n_pct && len < sizeof(line); j++) {
        char p[64];
        fmt_pct(p, sizeof(p), s->diag->pct[j]);
        int w = snprintf(line + len, sizeof(line) - len, "%sp%s=%.3f", j ? "," : "", p,
                         (double)syn_hist_percentile(dc->hist, s->diag->pct[j]) / 1000.0);
        if (w < 0) break;
        len += (size_t)w;
    }
    if (len > sizeof(line) - 3) len = sizeof(line) - 3;
    memcpy(line + len, "\r\n", 2);
    resp_buf_append(b, line, len + 2);
}

void srv_latency_info(server *s, resp_buf *b)
{
    resp_buf_append(b, "# Latencystats\r\n", 16);
    if (!s->diag->tracking) return; /* as Redis: empty while off (LATENCY HISTOGRAM still shows) */
    void *ctx[2] = {s, b};
    srv_stats_each(s, info_line, ctx);
}

/* --- LATENCY HISTOGRAM -------------------------------------------------------------------- */

/* Redis's label of level 2^k ns: HdrHistogram's highest equivalent value at two significant
 * digits, in microseconds. */
static long long level_label(unsigned k)
{
    return (long long)(((1ull << k) + (1ull << (k - 7)) - 1) / 1000);
}

/* Replies label, cumulative count for each level where the count grew (c NULL: counts only);
 * returns how many. */
static size_t cdf(const syn_hist *h, client *c)
{
    size_t out = 0;
    uint64_t cum = 0, prev = 0;
    unsigned i = 0;
    uint64_t total = syn_hist_total(h);
    for (unsigned k = 10; k <= 30 && cum < total; k++) {
        unsigned last = k == 30 ? SYN_HIST_N - 1 : syn_hist_index(1ull << k);
        for (; i <= last; i++)
            cum += h->b[i];
        if (cum > prev) {
            if (c) {
                srv_reply_int(c, level_label(k));
                srv_reply_int(c, (long long)cum);
            }
            out++;
        }
        prev = cum;
    }
    return out;
}

static void reply_cdf(client *c, const char *name, const syn_hist *h)
{
    srv_reply_cstr(c, name);
    srv_reply_map(c, 2);
    srv_reply_cstr(c, "calls");
    srv_reply_int(c, (long long)syn_hist_total(h));
    srv_reply_cstr(c, "histogram_usec");
    srv_reply_map(c, cdf(h, NULL));
    cdf(h, c);
}

typedef struct {
    client *c;       /* NULL: count only */
    const char *pfx; /* NULL: every command; else this name and its subcommands */
    size_t plen;
    size_t n;
} histo_ctx;

static void histo_each(void *ctx, const char *name, srv_diag_cmd *dc)
{
    histo_ctx *x = ctx;
    if (!dc->hist || !syn_hist_total(dc->hist)) return;
    if (x->pfx &&
        !(strncmp(name, x->pfx, x->plen) == 0 && (name[x->plen] == '\0' || name[x->plen] == '|')))
        return;
    x->n++;
    if (x->c) reply_cdf(x->c, name, dc->hist);
}

static void cmd_histogram(server *s, client *c, int argc, const data_arg *argv)
{
    histo_ctx x = {NULL, NULL, 0, 0};
    if (argc == 2) {
        srv_stats_each(s, histo_each, &x);
        srv_reply_map(c, x.n);
        x.c = c;
        srv_stats_each(s, histo_each, &x);
        return;
    }
    /* per argument: the command, then its subcommands (an unknown name has no histogram) */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) srv_reply_map(c, total);
        for (int a = 2; a < argc; a++) {
            char low[48]; /* the name lower-cased (a longer one names no command) */
            if (argv[a].len == 0 || argv[a].len >= sizeof(low) ||
                memchr(argv[a].ptr, '\0', argv[a].len))
                continue;
            for (size_t i = 0; i < argv[a].len; i++) {
                char ch = argv[a].ptr[i];
                low[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            }
            low[argv[a].len] = '\0';
            histo_ctx y = {pass ? c : NULL, low, argv[a].len, 0};
            srv_stats_each(s, histo_each, &y);
            total += pass ? 0 : y.n;
        }
    }
}

/* --- LATENCY DOCTOR and GRAPH -------------------------------------------------------------- */

typedef struct {
    int samples;
    uint32_t avg, mad;
    int64_t period;
} lat_stats;

static void analyze(const lat_series *ts, lat_stats *ls)
{
    uint64_t sum = 0;
    memset(ls, 0, sizeof(*ls));
    for (int j = 0; j < LAT_TS_LEN; j++) {
        if (!ts->s[j].time_s) continue;
        ls->samples++;
        sum += ts->s[j].ms;
        if (ls->period == 0 || ts->s[j].time_s < ls->period) ls->period = ts->s[j].time_s;
    }
    if (!ls->samples) return;
    ls->avg = (uint32_t)(sum / (uint64_t)ls->samples);
    ls->period = srv_now_ms() / 1000 - ls->period;
    if (ls->period == 0) ls->period = 1;
    sum = 0;
    for (int j = 0; j < LAT_TS_LEN; j++) {
        if (!ts->s[j].time_s) continue;
        int64_t delta = (int64_t)ls->avg - ts->s[j].ms;
        sum += (uint64_t)(delta < 0 ? -delta : delta);
    }
    ls->mad = (uint32_t)(sum / (uint64_t)ls->samples);
}

static size_t thp_anon_kb(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    char line[256];
    size_t total = 0, kb;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "AnonHugePages: %zu kB", &kb) == 1) total += kb;
    fclose(f);
    return total;
}

static void cat(resp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cat(resp_buf *b, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) resp_buf_append(b, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Redis 7.0's report, for the events synod raises. */
static void doctor(server *s, resp_buf *b)
{
    struct srv_diag *d = s->diag;
    const srv_config *cfg = &s->cfg;
    int events = 0, advices = 0;
    for (int i = 0; i < LAT_EVENTS_MAX; i++)
        events += d->ev[i].name[0] != 0;
    if (events == 0 && cfg->latency_monitor_threshold == 0) {
        cat(b, "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis "
               "instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in "
               "order to enable it. If we weren't in a deep space mission I'd suggest to take a "
               "look at https://redis.io/topics/latency-monitor.\n");
        return;
    }
    int slowlog_enabled = 0, slowlog_tuning = 0, slowlog_inspect = 0, scheduler = 0, hz = 0,
        large_objects = 0, disk = 0;
    int num = 0;
    for (int i = 0; i < LAT_EVENTS_MAX; i++) {
        const lat_series *ts = &d->ev[i];
        if (!ts->name[0]) continue;
        if (++num == 1)
            cat(b, "Dave, I have observed latency spikes in this Redis instance. You don't mind "
                   "talking about it, do you Dave?\n\n");
        lat_stats ls;
        analyze(ts, &ls);
        cat(b,
            "%d. %s: %d latency spikes (average %lums, mean deviation %lums, period %.2f sec). "
            "Worst all time event %lums.",
            num, ts->name, ls.samples, (unsigned long)ls.avg, (unsigned long)ls.mad,
            ls.samples ? (double)ls.period / ls.samples : 0.0, (unsigned long)ts->max_ms);
        if (strcasecmp(ts->name, "command") == 0) {
            if (cfg->slowlog_log_slower_than < 0 || cfg->slowlog_max_len == 0) {
                slowlog_enabled = 1;
                advices++;
            } else if (cfg->slowlog_log_slower_than / 1000 > cfg->latency_monitor_threshold) {
                slowlog_tuning = 1;
                advices++;
            }
            slowlog_inspect = large_objects = 1;
            advices += 2;
        }
        if (strcasecmp(ts->name, "fast-command") == 0) {
            scheduler = 1;
            advices++;
        }
        if (strcasecmp(ts->name, "expire-cycle") == 0) {
            hz = large_objects = 1;
            advices += 2;
        }
        if (strcasecmp(ts->name, "wal-fsync") == 0) {
            disk = 1;
            advices++;
        }
        cat(b, "\n");
    }
    int thp = thp_anon_kb() > 0;
    advices += thp;
    if (num == 0 && advices == 0) {
        cat(b, "Dave, no latency spike was observed during the lifetime of this Redis instance, "
               "not in the slightest bit. I honestly think you ought to sit down calmly, take a "
               "stress pill, and think things over.\n");
        return;
    }
    if (num > 0 && advices == 0) {
        cat(b, "\nWhile there are latency events logged, I'm not able to suggest any easy fix. "
               "Please use the Redis community to get some help, providing this report in your "
               "help request.\n");
        return;
    }
    cat(b, "\nI have a few advices for you:\n\n");
    if (slowlog_enabled)
        cat(b,
            "- There are latency issues with potentially slow commands you are using. Try to "
            "enable the Slow Log Redis feature using the command 'CONFIG SET "
            "slowlog-log-slower-than %llu'. If the Slow log is disabled Redis is not able to log "
            "slow commands execution for you.\n",
            (unsigned long long)cfg->latency_monitor_threshold * 1000);
    if (slowlog_tuning)
        cat(b,
            "- Your current Slow Log configuration only logs events that are slower than your "
            "configured latency monitor threshold. Please use 'CONFIG SET "
            "slowlog-log-slower-than %llu'.\n",
            (unsigned long long)cfg->latency_monitor_threshold * 1000);
    if (slowlog_inspect)
        cat(b, "- Check your Slow Log to understand what are the commands you are running which "
               "are too slow to execute. Please check https://redis.io/commands/slowlog for more "
               "information.\n");
    if (scheduler)
        cat(b, "- The system is slow to execute Redis code paths not containing system calls. "
               "This usually means the system does not provide Redis CPU time to run for long "
               "periods. You should try to:\n"
               "  1) Lower the system load.\n"
               "  2) Use a computer / VM just for Redis if you are running other software in the "
               "same system.\n"
               "  3) Check if you have a \"noisy neighbour\" problem.\n"
               "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency "
               "in your system.\n"
               "  5) Check if the problem is allocator-related by recompiling Redis with "
               "MALLOC=libc, if you are using Jemalloc. However this may create fragmentation "
               "problems.\n");
    if (disk)
        cat(b, "- The write-ahead log's fsync is slow: synod acknowledges a write only once it "
               "is on disk on a majority. Use local disks (remote disks provided by "
               "platform-as-a-service providers are known to be slow) and keep other I/O off the "
               "data directory's device.\n");
    if (hz && cfg->hz < 100)
        cat(b, "- In order to make the Redis keys expiring process more incremental, try to set "
               "the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    if (large_objects)
        cat(b, "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a "
               "blocking operation. If you have very large objects that are often deleted, "
               "expired, or evicted, try to fragment those objects into multiple smaller "
               "objects.\n");
    if (thp)
        cat(b, "- I detected a non zero amount of anonymous huge pages used by your process. "
               "This creates very serious latency events in different conditions, especially "
               "when Redis is persisting on disk. To disable THP support use the command 'echo "
               "never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it "
               "into /etc/rc.local so that the command will be executed again after a reboot. "
               "Note that even if you have already disabled THP, you still need to restart the "
               "Redis process to get rid of the huge pages already created.\n");
}

/* Redis's sparkline (4 rows, filled, 80 columns per band), labels of how long ago each sample
 * was ("5s", "3m", "2h", "1d") written vertically under it. */
static void graph(const lat_series *ts, resp_buf *b)
{
    lat_sample smp[LAT_TS_LEN];
    char labels[LAT_TS_LEN][24];
    int n = 0;
    uint32_t lo = 0, hi = 0;
    int64_t now = srv_now_ms() / 1000;
    for (int j = 0; j < LAT_TS_LEN; j++) {
        const lat_sample *x = &ts->s[(ts->idx + j) % LAT_TS_LEN];
        if (!x->time_s) continue;
        if (n == 0 || x->ms > hi) hi = x->ms;
        if (n == 0 || x->ms < lo) lo = x->ms;
        long el = (long)(now - x->time_s);
        if (el < 60)
            snprintf(labels[n], sizeof(labels[n]), "%lds", el);
        else if (el < 3600)
            snprintf(labels[n], sizeof(labels[n]), "%ldm", el / 60);
        else if (el < 3600 * 24)
            snprintf(labels[n], sizeof(labels[n]), "%ldh", el / 3600);
        else
            snprintf(labels[n], sizeof(labels[n]), "%ldd", el / (3600 * 24));
        smp[n++] = *x;
    }
    cat(b, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", ts->name, (unsigned long)hi,
        (unsigned long)lo, (unsigned long)ts->max_ms);
    for (int j = 0; j < 80; j++)
        resp_buf_append(b, "-", 1);
    resp_buf_append(b, "\n", 1);
    static const char fill[] = "_o#";
    const int rows = 4, steps = 3 * rows;
    double rel = (double)hi - lo;
    if (rel == 0) rel = 1;
    for (int off = 0; off < n; off += 80) {
        int len = n - off < 80 ? n - off : 80;
        char chars[80];
        if (off) resp_buf_append(b, "\n", 1);
        for (int row = 0;; row++) {
            int any = 0;
            memset(chars, ' ', sizeof(chars));
            for (int j = 0; j < len; j++) {
                double v = (double)smp[off + j].ms - lo;
                int step = (int)((int)(v * steps) / rel);
                if (step < 0) step = 0;
                if (step >= steps) step = steps - 1;
                if (row < rows) {
                    int ci = step - (rows - row - 1) * 3;
                    any = 1;
                    if (ci >= 0 && ci < 3)
                        chars[j] = fill[ci];
                    else if (ci >= 3)
                        chars[j] = '|';
                } else if (row - rows < 1) { /* a blank line before the labels */
                    any = 1;
                    break;
                } else {
                    int lc = row - rows - 1;
                    if ((int)strlen(labels[off + j]) > lc) {
                        any = 1;
                        chars[j] = labels[off + j][lc];
                    }
                }
            }
            if (!any) break;
            resp_buf_append(b, chars, (size_t)len);
            resp_buf_append(b, "\n", 1);
        }
    }
}

/* --- LATENCY ------------------------------------------------------------------------------ */

static int is(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static lat_series *find_arg(struct srv_diag *d, const data_arg *a)
{
    char name[LAT_NAME_MAX];
    if (a->len >= sizeof(name) || memchr(a->ptr, '\0', a->len)) return NULL;
    memcpy(name, a->ptr, a->len);
    name[a->len] = '\0';
    return series(d, name, 0);
}

void srv_cmd_latency(server *s, client *c, int argc, const data_arg *argv)
{
    struct srv_diag *d = s->diag;
    if (argc == 3 && is(&argv[1], "history")) {
        lat_series *ts = find_arg(d, &argv[2]);
        size_t n = 0;
        for (int j = 0; ts && j < LAT_TS_LEN; j++)
            n += ts->s[j].time_s != 0;
        srv_reply_array(c, n);
        for (int j = 0; ts && j < LAT_TS_LEN; j++) {
            const lat_sample *x = &ts->s[(ts->idx + j) % LAT_TS_LEN];
            if (!x->time_s) continue;
            srv_reply_array(c, 2);
            srv_reply_int(c, x->time_s);
            srv_reply_int(c, x->ms);
        }
    } else if (argc == 3 && is(&argv[1], "graph")) {
        lat_series *ts = find_arg(d, &argv[2]);
        if (!ts) {
            const char *nul = memchr(argv[2].ptr, '\0', argv[2].len);
            size_t n = nul ? (size_t)(nul - argv[2].ptr) : argv[2].len;
            srv_reply_errorf(c, "ERR No samples available for event '%.*s'",
                             (int)(n > 256 ? 256 : n), argv[2].ptr);
            return;
        }
        resp_buf b;
        resp_buf_init(&b);
        graph(ts, &b);
        srv_reply_verbatim(c, b.data ? b.data : "", b.len);
        resp_buf_deinit(&b);
    } else if (argc == 2 && is(&argv[1], "latest")) {
        size_t n = 0;
        for (int i = 0; i < LAT_EVENTS_MAX; i++)
            n += d->ev[i].name[0] != 0;
        srv_reply_array(c, n);
        for (int i = 0; i < LAT_EVENTS_MAX; i++) {
            const lat_series *ts = &d->ev[i];
            if (!ts->name[0]) continue;
            int last = (ts->idx + LAT_TS_LEN - 1) % LAT_TS_LEN;
            srv_reply_array(c, 4);
            srv_reply_cstr(c, ts->name);
            srv_reply_int(c, ts->s[last].time_s);
            srv_reply_int(c, ts->s[last].ms);
            srv_reply_int(c, ts->max_ms);
        }
    } else if (argc == 2 && is(&argv[1], "doctor")) {
        resp_buf b;
        resp_buf_init(&b);
        doctor(s, &b);
        srv_reply_verbatim(c, b.data ? b.data : "", b.len);
        resp_buf_deinit(&b);
    } else if (argc >= 2 && is(&argv[1], "reset")) {
        long long n = 0;
        for (int i = 0; i < LAT_EVENTS_MAX; i++) {
            lat_series *ts = &d->ev[i];
            if (!ts->name[0]) continue;
            int hit = argc == 2;
            for (int a = 2; a < argc && !hit; a++)
                hit = is(&argv[a], ts->name);
            if (!hit) continue;
            ts->name[0] = '\0';
            n++;
        }
        srv_reply_int(c, n);
    } else if (argc >= 2 && is(&argv[1], "histogram")) {
        cmd_histogram(s, c, argc, argv);
    } else if (argc == 2 && is(&argv[1], "help")) {
        static const char *const lines[] = {
            "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for "
            "the specified command names.",
            "    If no commands are specified then all histograms are replied.",
            "HELP",
            "    Prints this help.",
            NULL,
        };
        srv_reply_help(c, lines);
    } else {
        const char *nul = memchr(argv[1].ptr, '\0', argv[1].len);
        size_t n = nul ? (size_t)(nul - argv[1].ptr) : argv[1].len;
        srv_reply_errorf(c,
                         "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                         "LATENCY HELP.",
                         (int)(n > 128 ? 128 : n), argv[1].ptr);
    }
}
