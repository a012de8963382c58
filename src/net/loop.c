/* loop.c — the epoll event loop with timers and a before-sleep hook. */
#include "net/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "util/assert.h"

/* Events taken from the kernel per wait: bounds the work of one pass before the hook runs
 * again (so replies of a busy pass are not held back by an endless batch). */
#define NET_EVENTS_PER_WAIT 1024

typedef struct {
    int mask; /* NET_READABLE | NET_WRITABLE; 0 = not watched (cb/ctx meaningless) */
    net_io_cb cb;
    void *ctx;
} net_fd_slot;

typedef struct net_timer {
    uint64_t id;
    int64_t due_ms;    /* on the monotonic clock */
    uint64_t ran_pass; /* the pass that last ran it (or that created it): once per pass */
    net_timer_cb cb;
    void *ctx;
    struct net_timer *next;
} net_timer;

struct net_loop {
    int epfd;
    int max_fds;
    net_fd_slot *fds; /* max_fds slots, indexed by fd */
    struct epoll_event *events;
    net_timer *timers; /* unordered: a handful of crons, scanned linearly */
    uint64_t next_timer_id;
    uint64_t timer_pass; /* incremented by each run_timers */
    net_hook_cb before_sleep;
    void *before_sleep_ctx;
    int stop;
    uint64_t wakeups;   /* epoll_wait returns */
    uint64_t wall_pass; /* the wake-up wall_ms was read in (0: never) */
    int64_t wall_ms;
};

static int64_t clock_us(clockid_t id)
{
    struct timespec ts;
    int rc = clock_gettime(id, &ts);
    SYN_ASSERT(rc == 0);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t net_mono_us(void)
{
    return clock_us(CLOCK_MONOTONIC);
}

int64_t net_mono_ms(void)
{
    return clock_us(CLOCK_MONOTONIC) / 1000;
}

/* SYNOD_TEST_CLOCK_OFFSET_MS shifts this process's wall clock (tests of nodes whose clocks
 * disagree: tests/integration/cluster/test_cluster_coord.py). Read once. */
static int64_t wall_offset_us(void)
{
    static int64_t off = INT64_MIN;
    if (off == INT64_MIN) {
        const char *e = getenv("SYNOD_TEST_CLOCK_OFFSET_MS");
        off = e ? strtoll(e, NULL, 10) * 1000 : 0;
    }
    return off;
}

int64_t net_wall_us(void)
{
    return clock_us(CLOCK_REALTIME) + wall_offset_us();
}

int64_t net_wall_ms(void)
{
    return (clock_us(CLOCK_REALTIME) + wall_offset_us()) / 1000;
}

int64_t net_loop_wall_ms(net_loop *l)
{
    if (l->wall_pass != l->wakeups) {
        l->wall_ms = net_wall_ms();
        l->wall_pass = l->wakeups;
    }
    return l->wall_ms;
}

net_loop *net_loop_create(int max_fds)
{
    SYN_ASSERT(max_fds > 0);
    net_loop *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->wakeups = 1;
    l->fds = calloc((size_t)max_fds, sizeof(*l->fds));
    l->events = calloc(NET_EVENTS_PER_WAIT, sizeof(*l->events));
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!l->fds || !l->events || l->epfd < 0) {
        if (l->epfd >= 0) close(l->epfd);
        free(l->fds);
        free(l->events);
        free(l);
        return NULL;
    }
    l->max_fds = max_fds;
    l->next_timer_id = 1;
    return l;
}

void net_loop_destroy(net_loop *l)
{
    if (!l) return;
    while (l->timers) {
        net_timer *t = l->timers;
        l->timers = t->next;
        free(t);
    }
    close(l->epfd);
    free(l->fds);
    free(l->events);
    free(l);
}

int net_loop_max_fds(const net_loop *l)
{
    return l->max_fds;
}

int net_loop_watch(net_loop *l, int fd, int mask, net_io_cb cb, void *ctx)
{
    SYN_ASSERT(fd >= 0);
    SYN_ASSERT((mask & ~(NET_READABLE | NET_WRITABLE)) == 0);
    if (fd >= l->max_fds) return -ERANGE;
    net_fd_slot *s = &l->fds[fd];
    if (mask != 0) SYN_ASSERT(cb != NULL);
    if (s->mask == mask) {
        s->cb = cb;
        s->ctx = ctx;
        return 0;
    }
    struct epoll_event ev = {0};
    ev.events = ((mask & NET_READABLE) ? EPOLLIN : 0) | ((mask & NET_WRITABLE) ? EPOLLOUT : 0);
    ev.data.fd = fd;
    int op = s->mask == 0 ? EPOLL_CTL_ADD : (mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    if (epoll_ctl(l->epfd, op, fd, &ev) < 0) return -errno;
    s->mask = mask;
    s->cb = mask ? cb : NULL;
    s->ctx = mask ? ctx : NULL;
    return 0;
}

int net_loop_mask(const net_loop *l, int fd)
{
    if (fd < 0 || fd >= l->max_fds) return 0;
    return l->fds[fd].mask;
}

/* now + delay_ms, saturating: a huge delay means "never", not a signed overflow. */
static int64_t due_after(int64_t now_ms, int64_t delay_ms)
{
    if (delay_ms <= 0) return now_ms;
    if (delay_ms > INT64_MAX - now_ms) return INT64_MAX;
    return now_ms + delay_ms;
}

uint64_t net_timer_add(net_loop *l, int64_t delay_ms, net_timer_cb cb, void *ctx)
{
    SYN_ASSERT(cb != NULL);
    net_timer *t = malloc(sizeof(*t));
    if (!t) return 0;
    t->id = l->next_timer_id++;
    t->due_ms = due_after(net_mono_ms(), delay_ms);
    t->ran_pass = l->timer_pass;
    t->cb = cb;
    t->ctx = ctx;
    t->next = l->timers;
    l->timers = t;
    return t->id;
}

int net_timer_cancel(net_loop *l, uint64_t id)
{
    for (net_timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            net_timer *t = *pp;
            *pp = t->next;
            free(t);
            return 0;
        }
    }
    return -ENOENT;
}

void net_loop_set_before_sleep(net_loop *l, net_hook_cb cb, void *ctx)
{
    l->before_sleep = cb;
    l->before_sleep_ctx = ctx;
}

void net_loop_stop(net_loop *l)
{
    l->stop = 1;
}

/* Runs every timer that is due, earliest deadline first (ties: the older timer first). A
 * callback may add or cancel timers (itself included), so after each call the scan restarts;
 * the bound is the timers due now, each run once per pass. */
static void run_timers(net_loop *l)
{
    int64_t now = net_mono_ms();
    uint64_t pass = ++l->timer_pass; /* timers added by callbacks carry it: next pass */
    for (;;) {
        net_timer *t = NULL;
        for (net_timer *c = l->timers; c; c = c->next) {
            if (c->due_ms > now || c->ran_pass == pass) continue;
            if (!t || c->due_ms < t->due_ms || (c->due_ms == t->due_ms && c->id < t->id)) t = c;
        }
        if (!t) return;
        uint64_t id = t->id;
        t->ran_pass = pass;
        int64_t next = t->cb(l, id, t->ctx);
        /* the callback may have cancelled it: look it up again */
        net_timer **pp = &l->timers;
        while (*pp && (*pp)->id != id)
            pp = &(*pp)->next;
        if (!*pp) continue;
        if (next == NET_TIMER_STOP) {
            net_timer *dead = *pp;
            *pp = dead->next;
            free(dead);
        } else {
            (*pp)->due_ms = due_after(now, next);
        }
    }
}

int net_loop_once(net_loop *l, int64_t timeout_ms)
{
    if (l->before_sleep) l->before_sleep(l, l->before_sleep_ctx);
    if (l->stop) return 0;
    int64_t now = net_mono_ms();
    for (net_timer *t = l->timers; t; t = t->next) {
        int64_t wait = t->due_ms > now ? t->due_ms - now : 0;
        if (timeout_ms < 0 || wait < timeout_ms) timeout_ms = wait;
    }
    if (timeout_ms > 1000000) timeout_ms = 1000000;
    int n = epoll_wait(l->epfd, l->events, NET_EVENTS_PER_WAIT, (int)timeout_ms);
    l->wakeups++;
    if (n < 0) {
        if (errno != EINTR) return -errno;
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].data.fd;
        uint32_t ev = l->events[i].events;
        /* an earlier callback of this batch may have stopped watching fd */
        net_fd_slot *s = &l->fds[fd];
        if (s->mask == 0) continue;
        int ready = 0;
        if (ev & EPOLLIN) ready |= NET_READABLE;
        if (ev & EPOLLOUT) ready |= NET_WRITABLE;
        if (ev & (EPOLLERR | EPOLLHUP)) ready |= NET_READABLE | NET_WRITABLE;
        ready &= s->mask;
        if (ready) s->cb(l, fd, ready, s->ctx);
    }
    run_timers(l);
    return n;
}

int net_loop_poll_some(net_loop *l, int64_t timeout_ms, const net_io_cb *only, int n_only)
{
    int n = epoll_wait(l->epfd, l->events, NET_EVENTS_PER_WAIT, (int)timeout_ms);
    l->wakeups++;
    if (n < 0) return errno == EINTR ? 0 : -errno;
    int handled = 0;
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].data.fd;
        uint32_t ev = l->events[i].events;
        net_fd_slot *s = &l->fds[fd];
        int want = 0;
        for (int k = 0; k < n_only && !want; k++)
            want = s->cb == only[k];
        if (s->mask == 0 || !want) continue; /* level-triggered: reported again later */
        int ready = 0;
        if (ev & EPOLLIN) ready |= NET_READABLE;
        if (ev & EPOLLOUT) ready |= NET_WRITABLE;
        if (ev & (EPOLLERR | EPOLLHUP)) ready |= NET_READABLE | NET_WRITABLE;
        ready &= s->mask;
        if (ready) {
            s->cb(l, fd, ready, s->ctx);
            handled++;
        }
    }
    return handled;
}

int net_loop_run(net_loop *l)
{
    int rc = 0;
    l->stop = 0;
    while (!l->stop && rc >= 0)
        rc = net_loop_once(l, -1);
    l->stop = 0; /* consumed: a later net_loop_once is a full pass again */
    return rc < 0 ? rc : 0;
}
