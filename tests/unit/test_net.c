/* test_net.c — the event loop (timers, before-sleep hook, file events, stop, fd limits) and the
 * socket helpers (host:port parsing, listen/accept on 127.0.0.1 port 0, RLIMIT_NOFILE).
 * Every test arms alarm() as a watchdog: a loop that hangs kills the binary instead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"

#define WATCHDOG_S 3

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* Runs passes until *flag is set or the time runs out; returns the number of passes. */
static int run_until(net_loop *l, const int *flag, int max_ms)
{
    int64_t end = net_mono_ms() + max_ms;
    int passes = 0;
    while (!*flag && net_mono_ms() < end) {
        int rc = net_loop_once(l, 10);
        assert_true(rc >= 0);
        passes++;
    }
    return passes;
}

/* --- timers ------------------------------------------------------------------------------ */

typedef struct {
    char log[32]; /* names of the timers in firing order */
    int n;
    int64_t fired_ms[32];
    int limit; /* times a periodic timer fires before it stops */
    int period_ms;
    uint64_t other; /* a timer id a callback cancels */
    uint64_t added; /* a timer id a callback added */
    int done;
} tlog;

typedef struct {
    tlog *log;
    char name;
} tnamed;

static int64_t named_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    tnamed *t = ctx;
    t->log->fired_ms[t->log->n] = net_mono_ms();
    t->log->log[t->log->n++] = t->name;
    return NET_TIMER_STOP;
}

static void timers_fire_in_deadline_order(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    tlog lg = {0};
    tnamed a = {&lg, 'a'}, b = {&lg, 'b'}, c = {&lg, 'c'};
    int64_t t0 = net_mono_ms();
    assert_true(net_timer_add(l, 30, named_cb, &a) > 0);
    assert_true(net_timer_add(l, 10, named_cb, &b) > 0);
    assert_true(net_timer_add(l, 20, named_cb, &c) > 0);
    while (lg.n < 3 && net_mono_ms() - t0 < 1000)
        assert_true(net_loop_once(l, -1) >= 0);
    assert_int_equal(lg.n, 3);
    assert_string_equal(lg.log, "bca");
    /* none fired early */
    assert_true(lg.fired_ms[0] - t0 >= 10);
    assert_true(lg.fired_ms[1] - t0 >= 20);
    assert_true(lg.fired_ms[2] - t0 >= 30);
    net_loop_destroy(l);
    alarm(0);
}

/* Several timers due in the same pass (the loop was busy): they still run by deadline, and
 * timers with the same deadline in the order they were added. */
static void overdue_timers_run_in_deadline_order(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    tlog lg = {0};
    tnamed a = {&lg, 'a'}, b = {&lg, 'b'}, c = {&lg, 'c'}, d = {&lg, 'd'};
    assert_true(net_timer_add(l, 5, named_cb, &a) > 0);
    assert_true(net_timer_add(l, 15, named_cb, &b) > 0);
    assert_true(net_timer_add(l, 1, named_cb, &c) > 0);
    assert_true(net_timer_add(l, 15, named_cb, &d) > 0);
    sleep_ms(40);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_int_equal(lg.n, 4);
    assert_string_equal(lg.log, "cabd");
    net_loop_destroy(l);
    alarm(0);
}

static int64_t periodic_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    tlog *lg = ctx;
    lg->fired_ms[lg->n] = net_mono_ms();
    lg->log[lg->n++] = 'p';
    if (lg->n >= lg->limit) {
        lg->done = 1;
        return NET_TIMER_STOP;
    }
    return lg->period_ms;
}

static void timer_rearms_with_period_and_stops(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    tlog lg = {.limit = 4, .period_ms = 5};
    uint64_t id = net_timer_add(l, 5, periodic_cb, &lg);
    assert_true(id > 0);
    run_until(l, &lg.done, 1000);
    assert_int_equal(lg.n, 4);
    for (int i = 1; i < 4; i++)
        assert_true(lg.fired_ms[i] - lg.fired_ms[i - 1] >= 5);
    /* NET_TIMER_STOP removed it */
    assert_int_equal(net_timer_cancel(l, id), -ENOENT);
    sleep_ms(15);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_int_equal(lg.n, 4);
    /* a loop held up for three periods: the late run re-arms a period from now, without a
     * burst of catch-up runs (mutant L21 in docs/resp-net-mutants.md: from the missed deadline) */
    tlog late = {.limit = 100, .period_ms = 50};
    id = net_timer_add(l, 50, periodic_cb, &late);
    sleep_ms(160);
    for (int i = 0; i < 5; i++)
        assert_true(net_loop_once(l, 0) >= 0);
    assert_int_equal(late.n, 1);
    assert_int_equal(net_timer_cancel(l, id), 0);
    net_loop_destroy(l);
    alarm(0);
}

/* A timer re-armed with 0 runs once per pass, not in a loop within one pass. */
static void zero_period_runs_once_per_pass(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    tlog lg = {.limit = 10, .period_ms = 0};
    assert_true(net_timer_add(l, 0, periodic_cb, &lg) > 0);
    for (int i = 1; i <= 5; i++) {
        assert_true(net_loop_once(l, 0) >= 0);
        assert_int_equal(lg.n, i);
    }
    net_loop_destroy(l);
    alarm(0);
}

static int64_t cancel_other_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)id;
    tlog *lg = ctx;
    lg->log[lg->n++] = 'x';
    assert_int_equal(net_timer_cancel(l, lg->other), 0);
    return NET_TIMER_STOP;
}

static int64_t cancel_self_cb(net_loop *l, uint64_t id, void *ctx)
{
    tlog *lg = ctx;
    lg->log[lg->n++] = 's';
    assert_int_equal(net_timer_cancel(l, id), 0);
    return 5; /* ignored: the timer is gone */
}

static void timer_cancel(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    tlog lg = {0};
    tnamed a = {&lg, 'a'}, b = {&lg, 'b'};
    uint64_t ida = net_timer_add(l, 1, named_cb, &a);
    uint64_t idb = net_timer_add(l, 1, named_cb, &b);
    assert_true(ida > 0 && idb > 0 && ida != idb);
    assert_int_equal(net_timer_cancel(l, ida), 0);
    assert_int_equal(net_timer_cancel(l, ida), -ENOENT);
    assert_int_equal(net_timer_cancel(l, 999999), -ENOENT);
    sleep_ms(5);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_string_equal(lg.log, "b");

    /* a callback cancels another timer due in the same pass: it does not run */
    memset(&lg, 0, sizeof(lg));
    assert_true(net_timer_add(l, 1, cancel_other_cb, &lg) > 0);
    lg.other = net_timer_add(l, 2, named_cb, &a);
    sleep_ms(5);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_string_equal(lg.log, "x");

    /* a callback cancels itself and returns a period: it is not re-armed (nor freed twice) */
    memset(&lg, 0, sizeof(lg));
    uint64_t ids = net_timer_add(l, 1, cancel_self_cb, &lg);
    sleep_ms(5);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_string_equal(lg.log, "s");
    assert_int_equal(net_timer_cancel(l, ids), -ENOENT);
    sleep_ms(10);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_string_equal(lg.log, "s");
    net_loop_destroy(l);
    alarm(0);
}

static int64_t adder_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)id;
    tnamed *t = ctx;
    t->log->log[t->log->n++] = 'A';
    t->log->added = net_timer_add(l, 0, named_cb, t + 1);
    assert_true(t->log->added > 0);
    return NET_TIMER_STOP;
}

static void timer_added_from_callback(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    tlog lg = {0};
    tnamed pair[2] = {{&lg, 'A'}, {&lg, 'n'}};
    assert_true(net_timer_add(l, 1, adder_cb, &pair[0]) > 0);
    sleep_ms(3);
    assert_true(net_loop_once(l, 0) >= 0);
    /* the new timer (delay 0) waits for the next pass, so a callback cannot spin the pass */
    assert_string_equal(lg.log, "A");
    assert_true(net_loop_once(l, -1) >= 0); /* a due timer bounds the wait: returns at once */
    assert_string_equal(lg.log, "An");
    assert_int_equal(net_timer_cancel(l, lg.added), -ENOENT);
    net_loop_destroy(l);
    alarm(0);
}

/* Delays at the edge of int64 must not overflow the deadline (UBSan aborts on that). */
static int64_t huge_period_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)l;
    (void)id;
    (*(int *)ctx)++;
    return INT64_MAX;
}

static void huge_delays_do_not_overflow(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    int fired = 0;
    uint64_t far = net_timer_add(l, INT64_MAX, huge_period_cb, &fired);
    assert_true(far > 0);
    assert_true(net_timer_add(l, 0, huge_period_cb, &fired) > 0);
    assert_true(net_loop_once(l, 0) >= 0);
    assert_int_equal(fired, 1); /* the 0-delay one; re-armed to "never" */
    int64_t t0 = net_mono_ms();
    assert_true(net_loop_once(l, 20) >= 0); /* nothing due: waits the given timeout */
    assert_int_equal(fired, 1);
    assert_true(net_mono_ms() - t0 >= 15);
    assert_int_equal(net_timer_cancel(l, far), 0);
    net_loop_destroy(l);
    alarm(0);
}

/* --- before-sleep hook ------------------------------------------------------------------- */

typedef struct {
    int hook_calls;
    int wfd; /* the hook writes one byte here on its first call, if >= 0 */
    int reads;
    int hook_at_read; /* hook_calls seen by the read callback */
} hookctx;

static void hook_cb(net_loop *l, void *ctx)
{
    (void)l;
    hookctx *h = ctx;
    if (h->hook_calls++ == 0 && h->wfd >= 0) assert_int_equal(write(h->wfd, "h", 1), 1);
}

static void hook_read_cb(net_loop *l, int fd, int events, void *ctx)
{
    (void)l;
    hookctx *h = ctx;
    assert_int_equal(events, NET_READABLE);
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
    h->reads++;
    h->hook_at_read = h->hook_calls;
}

static void before_sleep_once_per_pass(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    hookctx h = {.wfd = sv[1]};
    net_loop_set_before_sleep(l, hook_cb, &h);
    assert_int_equal(net_loop_watch(l, sv[0], NET_READABLE, hook_read_cb, &h), 0);
    /* the hook runs before the wait: what it writes wakes this very pass, which would otherwise
     * block (the watchdog would fire) */
    assert_int_equal(net_loop_once(l, -1), 1);
    assert_int_equal(h.hook_calls, 1);
    assert_int_equal(h.reads, 1);
    assert_int_equal(h.hook_at_read, 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(net_loop_once(l, 0), 0);
    assert_int_equal(h.hook_calls, 6);
    /* a pass with events and a timer still calls it once */
    tlog lg = {0};
    tnamed a = {&lg, 'a'};
    assert_true(net_timer_add(l, 0, named_cb, &a) > 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(net_loop_once(l, 100), 1);
    assert_int_equal(h.hook_calls, 7);
    assert_int_equal(h.reads, 2);
    assert_string_equal(lg.log, "a");
    /* removed: no more calls */
    net_loop_set_before_sleep(l, NULL, NULL);
    assert_int_equal(net_loop_once(l, 0), 0);
    assert_int_equal(h.hook_calls, 7);
    assert_int_equal(net_loop_watch(l, sv[0], 0, NULL, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    net_loop_destroy(l);
    alarm(0);
}

/* --- file events ------------------------------------------------------------------------- */

typedef struct {
    int calls;
    int last_events;
    int last_fd;
    int remove_self;   /* the callback stops watching its fd (and closes it) */
    int other_fd;      /* >= 0: the callback stops watching this fd */
    int *shared_calls; /* counted by both callbacks of a pair */
} ioctx;

static void io_cb(net_loop *l, int fd, int events, void *ctx)
{
    ioctx *c = ctx;
    c->calls++;
    c->last_events = events;
    c->last_fd = fd;
    if (c->shared_calls) (*c->shared_calls)++;
    if (c->remove_self) {
        assert_int_equal(net_loop_watch(l, fd, 0, NULL, NULL), 0);
        assert_int_equal(net_loop_mask(l, fd), 0);
        close(fd);
    }
    if (c->other_fd >= 0) assert_int_equal(net_loop_watch(l, c->other_fd, 0, NULL, NULL), 0);
}

static void readable_and_writable(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    ioctx c = {.other_fd = -1};
    assert_int_equal(net_loop_watch(l, sv[0], NET_READABLE, io_cb, &c), 0);
    assert_int_equal(net_loop_mask(l, sv[0]), NET_READABLE);
    /* nothing to read: no call, and the wait lasts the timeout */
    int64_t t0 = net_mono_ms();
    assert_int_equal(net_loop_once(l, 20), 0);
    assert_true(net_mono_ms() - t0 >= 15);
    assert_int_equal(c.calls, 0);
    /* data: readable, and level-triggered (again while unread) */
    assert_int_equal(write(sv[1], "ab", 2), 2);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_fd, sv[0]);
    assert_int_equal(c.last_events, NET_READABLE);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.calls, 2);
    char buf[4];
    assert_int_equal(read(sv[0], buf, sizeof(buf)), 2);
    assert_int_equal(net_loop_once(l, 0), 0);
    assert_int_equal(c.calls, 2);
    /* both directions watched, only writable ready: events holds just that */
    assert_int_equal(net_loop_watch(l, sv[0], NET_READABLE | NET_WRITABLE, io_cb, &c), 0);
    assert_int_equal(net_loop_mask(l, sv[0]), NET_READABLE | NET_WRITABLE);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.calls, 3);
    assert_int_equal(c.last_events, NET_WRITABLE);
    assert_int_equal(write(sv[1], "c", 1), 1);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.last_events, NET_READABLE | NET_WRITABLE);
    /* back to writable only: the unread byte is not reported */
    assert_int_equal(net_loop_watch(l, sv[0], NET_WRITABLE, io_cb, &c), 0);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.last_events, NET_WRITABLE);
    /* a new cb/ctx with the same mask takes effect */
    ioctx c2 = {.other_fd = -1};
    assert_int_equal(net_loop_watch(l, sv[0], NET_WRITABLE, io_cb, &c2), 0);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c2.calls, 1);
    /* unwatched: no more calls */
    assert_int_equal(net_loop_watch(l, sv[0], 0, NULL, NULL), 0);
    assert_int_equal(net_loop_mask(l, sv[0]), 0);
    int before = c.calls + c2.calls;
    assert_int_equal(net_loop_once(l, 0), 0);
    assert_int_equal(c.calls + c2.calls, before);
    /* hang-up of the peer: reported as readable (only the watched direction) */
    assert_int_equal(net_loop_watch(l, sv[0], NET_READABLE, io_cb, &c), 0);
    assert_int_equal(read(sv[0], buf, sizeof(buf)), 1);
    close(sv[1]);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.last_events, NET_READABLE);
    assert_int_equal(read(sv[0], buf, sizeof(buf)), 0);
    assert_int_equal(net_loop_watch(l, sv[0], 0, NULL, NULL), 0);
    close(sv[0]);
    /* a pipe whose writer closed reports a bare hang-up (no EPOLLIN): still readable */
    int pp[2];
    assert_int_equal(pipe2(pp, O_NONBLOCK | O_CLOEXEC), 0);
    /* unwatching a descriptor never watched is a no-op, and watching it later works */
    assert_int_equal(net_loop_watch(l, pp[0], 0, NULL, NULL), 0);
    assert_int_equal(net_loop_watch(l, pp[0], NET_READABLE, io_cb, &c), 0);
    assert_int_equal(net_loop_once(l, 0), 0);
    close(pp[1]);
    c.calls = 0;
    c.last_events = 0;
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.last_events, NET_READABLE);
    assert_int_equal(net_loop_watch(l, pp[0], 0, NULL, NULL), 0);
    close(pp[0]);
    net_loop_destroy(l);
    alarm(0);
}

static void remove_fd_inside_callbacks(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    /* its own fd, closed in the callback: called once, never again */
    ioctx c = {.remove_self = 1, .other_fd = -1};
    assert_int_equal(net_loop_watch(l, sv[0], NET_READABLE, io_cb, &c), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(c.calls, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(net_loop_once(l, 0), 0);
    assert_int_equal(c.calls, 1);
    close(sv[1]);

    /* two fds ready in the same batch, each callback removes the other: only the first one
     * dispatched runs (the event of the removed fd is dropped) */
    int p[2], q[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, q), 0);
    int shared = 0;
    ioctx cp = {.other_fd = q[0], .shared_calls = &shared};
    ioctx cq = {.other_fd = p[0], .shared_calls = &shared};
    assert_int_equal(net_loop_watch(l, p[0], NET_READABLE, io_cb, &cp), 0);
    assert_int_equal(net_loop_watch(l, q[0], NET_READABLE, io_cb, &cq), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(write(q[1], "x", 1), 1);
    int n = net_loop_once(l, 1000);
    if (n == 1) n += net_loop_once(l, 100); /* the second event may come in a second wait */
    assert_int_equal(shared, 1);
    assert_int_equal(cp.calls + cq.calls, 1);
    assert_int_equal(net_loop_mask(l, p[0]) | net_loop_mask(l, q[0]), NET_READABLE);
    int survivor = net_loop_mask(l, p[0]) ? p[0] : q[0];
    assert_int_equal(net_loop_watch(l, survivor, 0, NULL, NULL), 0);
    close(p[0]);
    close(p[1]);
    close(q[0]);
    close(q[1]);
    net_loop_destroy(l);
    alarm(0);
}

static void io_cb_other(net_loop *l, int fd, int events, void *ctx)
{
    io_cb(l, fd, events, ctx);
}

/* net_loop_poll_some (a server busy in a script still answering its clients): only the fds of
 * the listed callbacks, only in their watched directions; the others' events wait for the next
 * full pass (mutants L19, L20 in docs/resp-net-mutants.md). */
static void poll_some_dispatches_only_the_listed(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    int a[2], b[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, a), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, b), 0);
    ioctx ca = {.other_fd = -1}, cb = {.other_fd = -1};
    assert_int_equal(net_loop_watch(l, a[0], NET_READABLE, io_cb, &ca), 0);
    assert_int_equal(net_loop_watch(l, b[0], NET_READABLE, io_cb_other, &cb), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    close(a[1]); /* a hang-up too: it reports every direction, only the watched one is passed */
    const net_io_cb only[] = {io_cb};
    assert_int_equal(net_loop_poll_some(l, 1000, only, 1), 1);
    assert_int_equal(ca.calls, 1);
    assert_int_equal(ca.last_events, NET_READABLE);
    assert_int_equal(cb.calls, 0);
    assert_int_equal(net_loop_watch(l, a[0], 0, NULL, NULL), 0);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(cb.calls, 1);
    assert_int_equal(net_loop_watch(l, b[0], 0, NULL, NULL), 0);
    close(a[0]);
    close(b[0]);
    close(b[1]);
    net_loop_destroy(l);
    alarm(0);
}

/* --- stop -------------------------------------------------------------------------------- */

static int64_t stop_after_cb(net_loop *l, uint64_t id, void *ctx)
{
    (void)id;
    tlog *lg = ctx;
    lg->n++;
    if (lg->n >= lg->limit) net_loop_stop(l);
    return 1;
}

static void stop_io_cb(net_loop *l, int fd, int events, void *ctx)
{
    (void)events;
    char c;
    assert_int_equal(read(fd, &c, 1), 1);
    (*(int *)ctx)++;
    net_loop_stop(l);
}

static void stop_hook(net_loop *l, void *ctx)
{
    (*(int *)ctx)++;
    net_loop_stop(l);
}

static void loop_stop(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(64);
    assert_non_null(l);
    /* from a timer */
    tlog lg = {.limit = 3};
    uint64_t id = net_timer_add(l, 1, stop_after_cb, &lg);
    assert_int_equal(net_loop_run(l), 0);
    assert_int_equal(lg.n, 3);
    assert_int_equal(net_timer_cancel(l, id), 0);
    /* the loop can run again after a stop, and one pass still dispatches */
    int sv[2], reads = 0;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    assert_int_equal(net_loop_watch(l, sv[0], NET_READABLE, stop_io_cb, &reads), 0);
    assert_int_equal(write(sv[1], "ab", 2), 2);
    assert_int_equal(net_loop_run(l), 0);
    assert_int_equal(reads, 1);
    assert_int_equal(net_loop_once(l, 1000), 1);
    assert_int_equal(reads, 2);
    assert_int_equal(net_loop_watch(l, sv[0], 0, NULL, NULL), 0);
    close(sv[0]);
    close(sv[1]);
    /* from the before-sleep hook: no wait follows, though nothing is watched and no timer is
     * set (mutant L15 in docs/resp-net-mutants.md waited for ever) */
    int hooks = 0;
    net_loop_set_before_sleep(l, stop_hook, &hooks);
    assert_int_equal(net_loop_run(l), 0);
    assert_int_equal(hooks, 1);
    net_loop_destroy(l);
    alarm(0);
}

/* --- limits ------------------------------------------------------------------------------ */

static void fd_limits(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_loop *l = net_loop_create(8);
    assert_non_null(l);
    assert_int_equal(net_loop_max_fds(l), 8);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    int hi = fcntl(sv[0], F_DUPFD_CLOEXEC, 8);
    assert_true(hi >= 8);
    ioctx c = {.other_fd = -1};
    assert_int_equal(net_loop_watch(l, hi, NET_READABLE, io_cb, &c), -ERANGE);
    assert_int_equal(net_loop_watch(l, 8, NET_READABLE, io_cb, &c), -ERANGE);
    assert_int_equal(net_loop_watch(l, 1000000, NET_READABLE, io_cb, &c), -ERANGE);
    assert_int_equal(net_loop_mask(l, hi), 0);
    assert_int_equal(net_loop_mask(l, 1000000), 0);
    assert_int_equal(net_loop_mask(l, -1), 0);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(net_loop_once(l, 0), 0);
    assert_int_equal(c.calls, 0);
    close(hi);
    /* a descriptor epoll refuses (a regular file): -errno, and nothing is recorded */
    char path[] = "/tmp/test_net_XXXXXX";
    int ffd = mkstemp(path);
    assert_true(ffd >= 0);
    unlink(path);
    if (ffd < 8) {
        assert_int_equal(net_loop_watch(l, ffd, NET_READABLE, io_cb, &c), -EPERM);
        assert_int_equal(net_loop_mask(l, ffd), 0);
    }
    close(ffd);
    close(sv[0]);
    close(sv[1]);
    net_loop_destroy(l);
    net_loop_destroy(NULL);
    alarm(0);
}

/* --- clocks ------------------------------------------------------------------------------ */

static void clocks(void **state)
{
    (void)state;
    int64_t m0 = net_mono_us();
    sleep_ms(5);
    int64_t m1 = net_mono_us();
    assert_true(m1 - m0 >= 5000);
    assert_true(m1 - m0 < 1000000);
    int64_t w = net_wall_ms();
    assert_true(w > 1600000000000LL); /* after 2020 */
    int64_t wu = net_wall_us();
    assert_true(wu / 1000 - w >= 0 && wu / 1000 - w < 1000);
    assert_true(net_mono_ms() >= m1 / 1000);
}

/* --- host:port parsing ------------------------------------------------------------------- */

static void parse_hostport(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *host;
        int port;
    } good[] = {
        {"127.0.0.1:6379", "127.0.0.1", 6379},
        {"localhost:0", "localhost", 0},
        {"a:65535", "a", 65535},
        {"node-1.example:00080", "node-1.example", 80},
        {"[::1]:7000", "::1", 7000},
        {"[fe80::1:2]:1", "fe80::1:2", 1},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char host[64];
        memset(host, 'Z', sizeof(host));
        int port = -1;
        assert_int_equal(net_parse_hostport(good[i].in, host, sizeof(host), &port), 0);
        assert_string_equal(host, good[i].host);
        assert_int_equal(port, good[i].port);
    }
    static const char *bad[] = {
        "",        "127.0.0.1", "127.0.0.1:", ":6379",       "host:65536", "host:99999", "host:-1",
        "host:+1", "host:1a",   "host: 1",    "host:123456", "::1:80",     "[::1]:",     "[::1]80",
        "[::1",    "[]:80",     "[::1]:80:1", "host:1:2",    "host:0x10",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char host[64] = "untouched";
        int port = 4242;
        assert_int_equal(net_parse_hostport(bad[i], host, sizeof(host), &port), -EINVAL);
        assert_string_equal(host, "untouched");
        assert_int_equal(port, 4242);
    }
    /* host capacity: needs room for the NUL */
    char small[5];
    int port = -1;
    assert_int_equal(net_parse_hostport("abcd:1", small, sizeof(small), &port), 0);
    assert_string_equal(small, "abcd");
    assert_int_equal(net_parse_hostport("abcde:1", small, sizeof(small), &port), -EINVAL);
    assert_int_equal(net_parse_hostport("[::1]:1", small, 3, &port), -EINVAL);
    assert_int_equal(net_parse_hostport("[::1]:1", small, 4, &port), 0);
    assert_string_equal(small, "::1");
}

/* --- listen / accept --------------------------------------------------------------------- */

static int connect_to(const char *ip, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

typedef struct {
    int lfd;
    int cfd; /* the accepted connection, -1 until then */
    char peer[64];
    char got[16];
    int done;
} acceptctx;

static void conn_cb(net_loop *l, int fd, int events, void *ctx)
{
    acceptctx *a = ctx;
    assert_true(events & NET_READABLE);
    ssize_t n = read(fd, a->got, sizeof(a->got) - 1);
    assert_true(n > 0);
    a->got[n] = '\0';
    assert_int_equal(write(fd, a->got, (size_t)n), n);
    assert_int_equal(net_loop_watch(l, fd, 0, NULL, NULL), 0);
    a->done = 1;
}

static void listen_cb(net_loop *l, int fd, int events, void *ctx)
{
    acceptctx *a = ctx;
    assert_int_equal(events, NET_READABLE);
    a->cfd = net_tcp_accept(fd, a->peer, sizeof(a->peer));
    assert_true(a->cfd >= 0);
    assert_int_equal(net_loop_watch(l, a->cfd, NET_READABLE, conn_cb, a), 0);
}

static void listen_port0_accept_echo(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    int lfd = net_tcp_listen("127.0.0.1", 0, 16);
    assert_true(lfd >= 0);
    assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
    /* SO_REUSEADDR: a restarted server binds while old connections sit in TIME_WAIT (S5) */
    int reuse = 0;
    socklen_t reuse_len = sizeof(reuse);
    assert_int_equal(getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &reuse, &reuse_len), 0);
    assert_true(reuse != 0);
    int port = net_local_port(lfd);
    assert_true(port > 0 && port <= 65535);
    char addr[64], expect[64];
    assert_int_equal(net_local_addr(lfd, addr, sizeof(addr)), 0);
    snprintf(expect, sizeof(expect), "127.0.0.1:%d", port);
    assert_string_equal(addr, expect);
    /* nothing pending */
    assert_int_equal(net_tcp_accept(lfd, NULL, 0), -EAGAIN);
    /* the port is taken: a second listener fails with an error */
    int dup = net_tcp_listen("127.0.0.1", port, 16);
    assert_int_equal(dup, -EADDRINUSE);

    net_loop *l = net_loop_create(1024);
    assert_non_null(l);
    acceptctx a = {.lfd = lfd, .cfd = -1};
    assert_int_equal(net_loop_watch(l, lfd, NET_READABLE, listen_cb, &a), 0);
    int c = connect_to("127.0.0.1", port);
    assert_int_equal(write(c, "ping", 4), 4);
    run_until(l, &a.done, 1500);
    assert_true(a.done);
    assert_string_equal(a.got, "ping");
    char back[8] = {0};
    assert_int_equal(read(c, back, sizeof(back)), 4);
    assert_string_equal(back, "ping");
    /* the accepted socket: non-blocking, close-on-exec, TCP_NODELAY; peer is the client */
    assert_true(fcntl(a.cfd, F_GETFL) & O_NONBLOCK);
    assert_true(fcntl(a.cfd, F_GETFD) & FD_CLOEXEC);
    int nodelay = 0;
    socklen_t len = sizeof(nodelay);
    assert_int_equal(getsockopt(a.cfd, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len), 0);
    assert_true(nodelay != 0);
    /* and keepalive probes after NET_KEEPALIVE_S idle (mutant S4 in docs/resp-net-mutants.md) */
    int opt = 0;
    len = sizeof(opt);
    assert_int_equal(getsockopt(a.cfd, SOL_SOCKET, SO_KEEPALIVE, &opt, &len), 0);
    assert_true(opt != 0);
    assert_int_equal(getsockopt(a.cfd, IPPROTO_TCP, TCP_KEEPIDLE, &opt, &len), 0);
    assert_int_equal(opt, NET_KEEPALIVE_S);
    char caddr[64];
    assert_int_equal(net_local_addr(c, caddr, sizeof(caddr)), 0);
    assert_string_equal(a.peer, caddr);
    char host[64];
    int pport = 0;
    assert_int_equal(net_parse_hostport(a.peer, host, sizeof(host), &pport), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(pport, net_local_port(c));
    /* the accepted socket's local end is the listener's port */
    assert_int_equal(net_local_port(a.cfd), port);
    assert_int_equal(net_loop_watch(l, lfd, 0, NULL, NULL), 0);
    close(c);
    close(a.cfd);
    close(lfd);
    net_loop_destroy(l);
    /* errors on a descriptor that is not a socket */
    assert_true(net_local_port(-1) < 0);
    assert_true(net_local_addr(-1, addr, sizeof(addr)) < 0);
    assert_true(net_tcp_accept(-1, NULL, 0) < 0);
    alarm(0);
}

/* The backlog is the listener's: a burst of connections is queued, not dropped until the
 * client's SYN is retried a second later (mutant S8 in docs/resp-net-mutants.md: backlog 1). */
static void listen_backlog_holds_a_burst(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    enum { N = 8 };
    int lfd = net_tcp_listen("127.0.0.1", 0, 16);
    assert_true(lfd >= 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)net_local_port(lfd));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int c[N], accepted = 0;
    for (int i = 0; i < N; i++) {
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(c[i] >= 0);
        int rc = connect(c[i], (struct sockaddr *)&sa, sizeof(sa));
        assert_true(rc == 0 || errno == EINPROGRESS);
    }
    for (int64_t end = net_mono_ms() + 500; accepted < N && net_mono_ms() < end;) {
        int fd = net_tcp_accept(lfd, NULL, 0);
        if (fd >= 0) {
            close(fd);
            accepted++;
        } else {
            assert_int_equal(fd, -EAGAIN);
            sleep_ms(5);
        }
    }
    assert_int_equal(accepted, N);
    for (int i = 0; i < N; i++)
        close(c[i]);
    close(lfd);
    alarm(0);
}

static void listen_ipv6_loopback(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    int lfd = net_tcp_listen("::1", 0, 4);
    if (lfd < 0) {
        /* no IPv6 on this machine: only a clean error is required */
        print_message("ipv6 loopback unavailable (%d), skipped\n", lfd);
        alarm(0);
        return;
    }
    int port = net_local_port(lfd);
    assert_true(port > 0);
    char addr[64], host[64];
    assert_int_equal(net_local_addr(lfd, addr, sizeof(addr)), 0);
    int pport = -1;
    assert_int_equal(net_parse_hostport(addr, host, sizeof(host), &pport), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(pport, port);
    close(lfd);
    alarm(0);
}

/* --- RLIMIT_NOFILE ----------------------------------------------------------------------- */

static void raise_nofile(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    /* leave room below the hard limit, so the raise itself is exercised */
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > 256) {
        rl.rlim_cur -= 64;
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    long cur = (long)rl.rlim_cur;
    /* asking for less keeps the current limit */
    assert_int_equal(net_raise_nofile(16), cur);
    assert_int_equal(net_raise_nofile(cur), cur);
    /* within the hard limit: granted exactly */
    if (rl.rlim_max == RLIM_INFINITY || (long)rl.rlim_max > cur) {
        long want = cur + 32;
        assert_int_equal(net_raise_nofile(want), want);
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
        assert_int_equal((long)rl.rlim_cur, want);
        cur = want;
    }
    /* far beyond anything: a sane value that matches the real soft limit */
    long got = net_raise_nofile(1L << 40);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(got >= cur);
    assert_int_equal(got, (long)rl.rlim_cur);
    assert_true(got < (1L << 40));
    assert_true(got > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timers_fire_in_deadline_order),
        cmocka_unit_test(overdue_timers_run_in_deadline_order),
        cmocka_unit_test(timer_rearms_with_period_and_stops),
        cmocka_unit_test(zero_period_runs_once_per_pass),
        cmocka_unit_test(timer_cancel),
        cmocka_unit_test(timer_added_from_callback),
        cmocka_unit_test(huge_delays_do_not_overflow),
        cmocka_unit_test(before_sleep_once_per_pass),
        cmocka_unit_test(readable_and_writable),
        cmocka_unit_test(remove_fd_inside_callbacks),
        cmocka_unit_test(poll_some_dispatches_only_the_listed),
        cmocka_unit_test(loop_stop),
        cmocka_unit_test(fd_limits),
        cmocka_unit_test(clocks),
        cmocka_unit_test(parse_hostport),
        cmocka_unit_test(listen_port0_accept_echo),
        cmocka_unit_test(listen_backlog_holds_a_burst),
        cmocka_unit_test(listen_ipv6_loopback),
        cmocka_unit_test(raise_nofile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
