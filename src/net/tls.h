/* tls.h — TLS over non-blocking sockets (OpenSSL), for the event loop's users: the server side
 * of accepted connections and the client side of dialled ones (peer links, relays).
 *
 * A context holds the certificate, key and CA of one listener or of one kind of outgoing
 * connection; a connection wraps one fd. Nothing here blocks or owns the fd: every call does what
 * the socket allows now and says which readiness (NET_READABLE / NET_WRITABLE) would let it go on,
 * so the caller keeps the fd in its own epoll loop. Only TLS 1.2 and 1.3, renegotiation and
 * compression off, no session resumption (each connection does a full handshake).
 *
 * OpenSSL's error queue is per thread: every call here clears it before and after, so one
 * connection's failure never shows up as another's. */
#ifndef SYNOD_NET_TLS_H
#define SYNOD_NET_TLS_H

#include <stddef.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct net_tls_ctx net_tls_ctx;
typedef struct net_tls net_tls;

/* Client certificates (Redis's tls-auth-clients): yes = required and verified against the CA,
 * optional = verified if given, no = not asked for. */
enum { NET_TLS_AUTH_NO = 0, NET_TLS_AUTH_YES = 1, NET_TLS_AUTH_OPTIONAL = 2 };

/* The largest plaintext of one TLS record: a read into at least this much room takes a whole
 * record, so nothing stays decrypted inside OpenSSL where epoll cannot see it. */
#define NET_TLS_RECORD_MAX 16384

typedef struct {
    const char *cert_file;    /* PEM certificate chain (the server's first) */
    const char *key_file;     /* PEM private key of that certificate */
    const char *ca_cert_file; /* PEM CA certificates clients are verified against; may be "" when
                                 auth_clients is NET_TLS_AUTH_NO */
    int auth_clients;         /* NET_TLS_AUTH_* */
    const char *protocols;    /* "TLSv1.2 TLSv1.3" or a subset; "" = both */
    const char *ciphers;      /* TLS 1.2 cipher list (OpenSSL syntax); "" = OpenSSL's default */
    const char *ciphersuites; /* TLS 1.3 suites; "" = OpenSSL's default */
    /* Client side (connections this process dials): the server's certificate is always verified
     * against ca_cert_file (required), auth_clients is ignored, and cert_file / key_file (may be
     * "") are presented when the server asks for a certificate. */
    int client;
    /* the option names errors use for cert_file / key_file (NULL: tls-cert-file, tls-key-file) */
    const char *cert_option, *key_option;
} net_tls_opts;

/* Loads the files and checks that the key matches the certificate. NULL on failure, with a
 * message naming the option (tls-cert-file, tls-key-file, ...) and OpenSSL's reason in err. */
net_tls_ctx *net_tls_ctx_create(const net_tls_opts *o, char *err, size_t err_cap);
void net_tls_ctx_destroy(net_tls_ctx *ctx);

/* A connection on non-blocking fd: the server side of an accepted fd, or the client side of a
 * dialled one (connected, or still connecting: call net_tls_handshake once it is writable), as
 * the context says. NULL on out-of-memory. The fd stays the caller's. */
net_tls *net_tls_new(net_tls_ctx *ctx, int fd);
/* Sends close_notify if the connection is healthy (best effort, never waits) and frees. */
void net_tls_free(net_tls *t);
/* Frees t without a close_notify: a forked child carries the session on (server/ldb.c). */
void net_tls_forget(net_tls *t);

/* Advances the handshake: 0 = done, NET_READABLE / NET_WRITABLE = call again when the fd is
 * ready that way, -1 = failed (the reason is in net_tls_error). */
int net_tls_handshake(net_tls *t);

/* Like read(2): bytes read (> 0; several records while at least NET_TLS_RECORD_MAX bytes of
 * room are left), 0 = the peer closed, -EAGAIN with *want = the readiness to wait for, or -EIO
 * (reason in net_tls_error). */
ssize_t net_tls_read(net_tls *t, void *buf, size_t cap, int *want);
/* Like write(2), for len > 0: bytes written (> 0, possibly fewer than len), -EAGAIN with *want,
 * or -EIO. After -EAGAIN the next call must offer the same bytes again (they may have moved in
 * memory, and more may follow them). */
ssize_t net_tls_write(net_tls *t, const void *buf, size_t len, int *want);

/* Whether OpenSSL holds decrypted bytes that a read would return without the fd becoming
 * readable again (only after a read into less than NET_TLS_RECORD_MAX bytes of room). */
int net_tls_has_pending(const net_tls *t);

/* 1 if the peer presented a certificate and it was verified against the context's CA (the
 * handshake must be done), else 0. */
int net_tls_peer_verified(const net_tls *t);

/* The last failure of t, for logs ("" if none). Valid until the next call on t. */
const char *net_tls_error(const net_tls *t);

/* A stream that is plain TCP on fd (t NULL) or TLS session t on it: like read(2) / write(2) but
 * returning -errno (-EAGAIN: wait); *other is set when TLS waits for the other readiness (a
 * read for the fd to be writable, a write for it to be readable). */
ssize_t net_stream_read(net_tls *t, int fd, void *buf, size_t cap, bool *other);
ssize_t net_stream_write(net_tls *t, int fd, const void *buf, size_t len, bool *other);
/* The text of a net_stream_* error. */
const char *net_stream_strerror(const net_tls *t, ssize_t err);

#endif
