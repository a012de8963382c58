/* net.h — the event loop (epoll), timers on the monotonic clock, and TCP socket helpers.
 *
 * One thread, one loop, as in Redis's ae: file events are level-triggered; timers are few
 * (a handful of periodic crons) and kept in a small list; a before-sleep hook runs before
 * every wait for events. The hook is the group-commit point: everything one pass of the loop
 * produced (replies now, log entries and their fsync later) is flushed there, before the
 * process blocks again.
 *
 * Buffers of client connections live with their users (src/server/client.c): the loop only
 * reports readiness. Errors are negative errno values. */
#ifndef SYNOD_NET_H
#define SYNOD_NET_H

#include <stddef.h>
#include <stdint.h>

typedef struct net_loop net_loop;

enum { NET_READABLE = 1, NET_WRITABLE = 2 };

/* Called when fd is ready. `events` is the subset of the watched mask that is ready (an error
 * or hang-up reports every watched direction, so the next read/write sees the error). */
typedef void (*net_io_cb)(net_loop *l, int fd, int events, void *ctx);
/* Called when a timer is due. Returns the delay until the next call in ms (>= 0), or
 * NET_TIMER_STOP to remove the timer. */
typedef int64_t (*net_timer_cb)(net_loop *l, uint64_t id, void *ctx);
typedef void (*net_hook_cb)(net_loop *l, void *ctx);

#define NET_TIMER_STOP (-1)

/* max_fds bounds the descriptors the loop can watch (fd < max_fds). NULL on out-of-memory or
 * if epoll is unavailable. */
net_loop *net_loop_create(int max_fds);
void net_loop_destroy(net_loop *l); /* does not close watched fds */
int net_loop_max_fds(const net_loop *l);

/* Sets the watched mask of fd (NET_READABLE | NET_WRITABLE); 0 stops watching it. The loop
 * keeps cb/ctx until the mask is set to 0. Must be called with 0 before fd is closed.
 * Returns 0, -ERANGE if fd >= max_fds, or -errno from epoll_ctl. */
int net_loop_watch(net_loop *l, int fd, int mask, net_io_cb cb, void *ctx);
int net_loop_mask(const net_loop *l, int fd); /* currently watched mask, 0 if none */

/* Adds a timer due in delay_ms (a huge delay saturates: never due). Due timers run earliest
 * deadline first (ties: older first), each at most once per pass; a timer added by a callback
 * runs in a later pass. Returns its id (> 0), or 0 on out-of-memory. */
uint64_t net_timer_add(net_loop *l, int64_t delay_ms, net_timer_cb cb, void *ctx);
int net_timer_cancel(net_loop *l, uint64_t id); /* 0, or -ENOENT */

void net_loop_set_before_sleep(net_loop *l, net_hook_cb cb, void *ctx);

/* Runs until net_loop_stop is called (from a callback; the stop is consumed on return).
 * Returns 0, or -errno if epoll_wait fails with anything but EINTR. */
int net_loop_run(net_loop *l);
void net_loop_stop(net_loop *l);
/* One pass: before-sleep hook, wait at most timeout_ms (-1 = until an event or timer),
 * dispatch events and due timers. Returns the number of events handled, or -errno. */
int net_loop_once(net_loop *l, int64_t timeout_ms);
/* One wait of at most timeout_ms that dispatches only the fds whose callback is one of
 * only[0..n_only): no timers, no before-sleep hook. The loop is level-triggered, so the other
 * fds' events stay for the next full pass. For a server busy in a long script that still answers
 * its clients (and nothing else). Returns the number of events dispatched, or -errno. */
int net_loop_poll_some(net_loop *l, int64_t timeout_ms, const net_io_cb *only, int n_only);

int64_t net_mono_ms(void); /* monotonic clock, for timers and durations */
int64_t net_mono_us(void);
int64_t net_wall_ms(void); /* Unix time in ms, for the data layer and TIME */
/* net_wall_ms read once per wake-up of the loop (the first call after epoll returned): what a
 * batch of commands handled in one pass shares, as Redis's cached time (a clock read per
 * command costs ~2% of a pipelined write) */
int64_t net_loop_wall_ms(net_loop *l);
int64_t net_wall_us(void);

/* --- sockets ----------------------------------------------------------------------------- */

/* Splits "host:port" or "[v6addr]:port" into host (NUL-terminated, at most host_cap-1 bytes)
 * and port (0..65535). Returns 0 or -EINVAL. */
int net_parse_hostport(const char *s, char *host, size_t host_cap, int *port);

/* Resolves host:port (numeric or a name such as "localhost"), binds a listening, non-blocking,
 * close-on-exec TCP socket with SO_REUSEADDR. Returns the fd, or a negative error: -errno for
 * socket errors, -EADDRNOTAVAIL if the name does not resolve. */
int net_tcp_listen(const char *host, int port, int backlog);
int net_local_port(int fd); /* the bound port (after port 0), or -errno */

/* Accepts one connection: non-blocking, close-on-exec, TCP_NODELAY, keepalive probes after
 * NET_KEEPALIVE_S idle (Redis's tcp-keepalive default). Writes the peer's "ip:port" into peer
 * (may be NULL). Returns the fd, -EAGAIN when none is pending, or -errno. */
#define NET_KEEPALIVE_S 300
int net_tcp_accept(int listen_fd, char *peer, size_t peer_cap);
/* "ip:port" of the local end of fd into out; returns 0 or -errno. */
int net_local_addr(int fd, char *out, size_t out_cap);

/* Raises RLIMIT_NOFILE towards want (soft up to the hard limit, or the hard limit too when
 * privileged). Returns the resulting soft limit. */
long net_raise_nofile(long want);

#endif
