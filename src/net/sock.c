/* sock.c — TCP socket helpers: address parsing, listen, accept, descriptor limits. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

int net_parse_hostport(const char *s, char *host, size_t host_cap, int *port)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return -EINVAL;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return -EINVAL;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen)) return -EINVAL; /* bare IPv6 needs brackets */
    }
    if (hlen == 0 || hlen >= host_cap) return -EINVAL;
    const char *p = colon + 1;
    if (*p == '\0' || strlen(p) > 5) return -EINVAL;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9') return -EINVAL;
        v = v * 10 + (*p - '0');
    }
    if (v > 65535) return -EINVAL;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)v;
    return 0;
}

static int fmt_sockaddr(const struct sockaddr_storage *sa, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    int port;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        if (!inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip))) return -errno;
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%d", ip, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        if (!inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip))) return -errno;
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%d", ip, port);
    } else {
        snprintf(out, cap, "?:0");
    }
    return 0;
}

int net_tcp_listen(const char *host, int port, int backlog)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    if (getaddrinfo(host, portstr, &hints, &res) != 0 || !res) return -EADDRNOTAVAIL;
    int err = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = -errno;
            continue;
        }
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
            err = -errno;
            close(fd);
            continue;
        }
        freeaddrinfo(res);
        return fd;
    }
    freeaddrinfo(res);
    return err;
}

int net_local_port(int fd)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return -errno;
    if (sa.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    if (sa.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    return -EAFNOSUPPORT;
}

int net_local_addr(int fd, char *out, size_t out_cap)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) return -errno;
    return fmt_sockaddr(&sa, out, out_cap);
}

int net_tcp_accept(int listen_fd, char *peer, size_t peer_cap)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int fd;
    do {
        fd = accept4(listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    int one = 1;
    /* replies are written once per loop pass: Nagle would only add latency */
    (void)!setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* a peer that vanished (power loss, a cable) is noticed, as Redis's tcp-keepalive 300 does:
     * probes after 300 s idle, every 100 s, 3 unanswered close it */
    int idle = NET_KEEPALIVE_S, intvl = NET_KEEPALIVE_S / 3, cnt = 3;
    (void)!setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    (void)!setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)!setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)!setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    if (peer && peer_cap) fmt_sockaddr(&sa, peer, peer_cap);
    return fd;
}

long net_raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return 0;
    if ((rlim_t)want <= rl.rlim_cur) return (long)rl.rlim_cur;
    struct rlimit nrl = rl;
    nrl.rlim_cur = (rlim_t)want;
    if (nrl.rlim_max < nrl.rlim_cur) nrl.rlim_max = nrl.rlim_cur; /* only works if privileged */
    if (setrlimit(RLIMIT_NOFILE, &nrl) == 0) return want;
    nrl.rlim_max = rl.rlim_max;
    nrl.rlim_cur = rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
    if (setrlimit(RLIMIT_NOFILE, &nrl) == 0) return (long)nrl.rlim_cur;
    return (long)rl.rlim_cur;
}
