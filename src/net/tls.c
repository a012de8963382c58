/* tls.c — TLS on non-blocking sockets with OpenSSL, server and client side (see tls.h). */
#include "net/tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/net.h"
#include "util/assert.h"

struct net_tls_ctx {
    SSL_CTX *ctx;
    int client; /* connections dial (SSL_connect) instead of accepting */
};

struct net_tls {
    SSL *ssl;
    int failed;     /* a fatal error happened: no close_notify, every later call fails */
    int eof;        /* the peer closed; reported by the next read (bytes came first) */
    char error[96]; /* the reason of the last failure, for logs */
};

static void errf(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

/* The oldest queued OpenSSL error as text (then the queue is emptied), or `dflt`. */
static void take_ssl_error(char *out, size_t cap, const char *dflt)
{
    unsigned long e = ERR_get_error();
    if (e) {
        const char *reason = ERR_reason_error_string(e);
        if (ERR_SYSTEM_ERROR(e)) /* the reason is an errno (a missing file, ...) */
            snprintf(out, cap, "%s", strerror(ERR_GET_REASON(e)));
        else if (reason)
            snprintf(out, cap, "%s", reason);
        else
            ERR_error_string_n(e, out, cap);
    } else {
        snprintf(out, cap, "%s", dflt);
    }
    ERR_clear_error();
}

/* "TLSv1.2 TLSv1.3" (any case, any order, spaces between) into a min..max version range. */
static int parse_protocols(const char *s, int *min, int *max, char *err, size_t cap)
{
    int has12 = 0, has13 = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p) break;
        size_t n = strcspn(p, " \t");
        if (n == 7 && strncasecmp(p, "TLSv1.2", 7) == 0) {
            has12 = 1;
        } else if (n == 7 && strncasecmp(p, "TLSv1.3", 7) == 0) {
            has13 = 1;
        } else {
            errf(err, cap, "tls-protocols: '%.*s' is not supported (TLSv1.2 and TLSv1.3 only)",
                 (int)n, p);
            return -1;
        }
        p += n;
    }
    if (!has12 && !has13) has12 = has13 = 1; /* "" = the default */
    *min = has12 ? TLS1_2_VERSION : TLS1_3_VERSION;
    *max = has13 ? TLS1_3_VERSION : TLS1_2_VERSION;
    return 0;
}

net_tls_ctx *net_tls_ctx_create(const net_tls_opts *o, char *err, size_t cap)
{
    char why[256];
    int min_v, max_v;
    if (parse_protocols(o->protocols ? o->protocols : "", &min_v, &max_v, err, cap) < 0)
        return NULL;
    ERR_clear_error();
    if (o->client && (!o->ca_cert_file || !o->ca_cert_file[0])) {
        errf(err, cap, "tls-ca-cert-file: needed to verify the certificates of other nodes");
        return NULL;
    }
    net_tls_ctx *c = calloc(1, sizeof(*c));
    SSL_CTX *ctx = c ? SSL_CTX_new(o->client ? TLS_client_method() : TLS_server_method()) : NULL;
    if (!ctx) {
        take_ssl_error(why, sizeof(why), "out of memory");
        errf(err, cap, "tls: cannot create a TLS context: %s", why);
        free(c);
        return NULL;
    }
    c->ctx = ctx;
    c->client = o->client;
    SSL_CTX_set_min_proto_version(ctx, min_v);
    SSL_CTX_set_max_proto_version(ctx, max_v);
    /* renegotiation would let a peer restart the handshake under a running connection; an EOF
     * without close_notify (clients that just close) is an ordinary end, not an error */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
    /* partial writes: each SSL_write reports the records it wrote; moving buffer: the output
     * buffer may be compacted between a blocked write and its retry */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);

    const char *what = NULL, *file = NULL, *hint = "";
    const char *cert_opt = o->cert_option ? o->cert_option : "tls-cert-file";
    const char *key_opt = o->key_option ? o->key_option : "tls-key-file";
    /* a client without a certificate of its own (none configured) just does not present one */
    int own_cert = !o->client || (o->cert_file && o->cert_file[0]);
    char not_key[96];
    snprintf(not_key, sizeof(not_key), " (not the key of %s)", cert_opt);
    if (own_cert && SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
        what = cert_opt, file = o->cert_file, hint = " (a PEM certificate is expected)";
    } else if (own_cert && SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
        what = key_opt, file = o->key_file;
        hint = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH
                   ? not_key
                   : " (an unencrypted PEM private key is expected)";
    } else if (own_cert && SSL_CTX_check_private_key(ctx) != 1) {
        what = key_opt, file = o->key_file, hint = not_key;
    } else if (o->ca_cert_file && o->ca_cert_file[0] &&
               SSL_CTX_load_verify_locations(ctx, o->ca_cert_file, NULL) != 1) {
        what = "tls-ca-cert-file", file = o->ca_cert_file,
        hint = " (PEM CA certificates are expected)";
    } else if (o->ciphers && o->ciphers[0] && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) {
        what = "tls-ciphers", file = o->ciphers;
    } else if (o->ciphersuites && o->ciphersuites[0] &&
               SSL_CTX_set_ciphersuites(ctx, o->ciphersuites) != 1) {
        what = "tls-ciphersuites", file = o->ciphersuites;
    }
    if (what) {
        take_ssl_error(why, sizeof(why), "rejected by OpenSSL");
        errf(err, cap, "%s: cannot use '%s': %s%s", what, file, why, hint);
        net_tls_ctx_destroy(c);
        return NULL;
    }
    if (o->client) {
        /* the server must show a certificate signed by the CA (its name is not checked: any
         * holder of a certificate from the cluster's CA is a member, docs/cluster.md "TLS") */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else if (o->auth_clients != NET_TLS_AUTH_NO) {
        /* the CA names go into the CertificateRequest, so a client can pick its certificate */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_cert_file);
        if (names) SSL_CTX_set_client_CA_list(ctx, names);
        int mode = SSL_VERIFY_PEER;
        if (o->auth_clients == NET_TLS_AUTH_YES) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(ctx, mode, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    ERR_clear_error();
    return c;
}

void net_tls_ctx_destroy(net_tls_ctx *c)
{
    if (!c) return;
    SSL_CTX_free(c->ctx);
    free(c);
}

net_tls *net_tls_new(net_tls_ctx *c, int fd)
{
    SYN_ASSERT(c != NULL && fd >= 0);
    net_tls *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->ssl = SSL_new(c->ctx);
    if (!t->ssl || SSL_set_fd(t->ssl, fd) != 1) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return NULL;
    }
    if (c->client)
        SSL_set_connect_state(t->ssl);
    else
        SSL_set_accept_state(t->ssl);
    return t;
}

void net_tls_forget(net_tls *t)
{
    if (!t) return;
    SSL_free(t->ssl); /* sends nothing: the session goes on in another process */
    ERR_clear_error();
    free(t);
}

void net_tls_free(net_tls *t)
{
    if (!t) return;
    if (!t->failed && SSL_is_init_finished(t->ssl)) {
        /* one non-blocking attempt: the fd is closed right after, nobody waits for the reply */
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl);
    }
    SSL_free(t->ssl);
    ERR_clear_error();
    free(t);
}

/* Maps the outcome of an SSL_* call that did not succeed: -EAGAIN with *want set, 0 for a clean
 * close by the peer, or -EIO (t->failed, reason kept). */
static int io_status(net_tls *t, int ret, int *want)
{
    int e = SSL_get_error(t->ssl, ret);
    int saved_errno = errno;
    switch (e) {
    case SSL_ERROR_WANT_READ: *want = NET_READABLE; return -EAGAIN;
    case SSL_ERROR_WANT_WRITE: *want = NET_WRITABLE; return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN: ERR_clear_error(); return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            if (saved_errno == EAGAIN || saved_errno == EINTR) { /* not expected; be safe */
                *want = NET_READABLE;
                return -EAGAIN;
            }
            snprintf(t->error, sizeof(t->error), "%s",
                     saved_errno ? strerror(saved_errno) : "connection closed");
            ERR_clear_error();
            break;
        }
        take_ssl_error(t->error, sizeof(t->error), "system error");
        break;
    default: take_ssl_error(t->error, sizeof(t->error), "protocol error"); break;
    }
    t->failed = 1;
    return -EIO;
}

int net_tls_handshake(net_tls *t)
{
    if (t->failed) return -1;
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1) return 0;
    int want = 0;
    int rc = io_status(t, ret, &want);
    if (rc == -EAGAIN) return want;
    if (rc == 0) {
        snprintf(t->error, sizeof(t->error), "closed during the handshake");
        t->failed = 1;
    }
    return -1;
}

ssize_t net_tls_read(net_tls *t, void *buf, size_t cap, int *want)
{
    if (t->failed) return -EIO;
    if (t->eof) return 0;
    size_t total = 0;
    /* several records per call while each still fits whole: fewer passes through epoll */
    while (total == 0 || cap - total >= NET_TLS_RECORD_MAX) {
        size_t got = 0;
        ERR_clear_error();
        int ret = SSL_read_ex(t->ssl, (char *)buf + total, cap - total, &got);
        if (ret == 1) {
            total += got;
            continue;
        }
        int rc = io_status(t, ret, want);
        if (total == 0) return rc;
        /* bytes already read are returned first; an EOF or error (t->failed) comes next call */
        if (rc == 0) t->eof = 1;
        return (ssize_t)total;
    }
    return (ssize_t)total;
}

ssize_t net_tls_write(net_tls *t, const void *buf, size_t len, int *want)
{
    SYN_ASSERT(len > 0);
    if (t->failed) return -EIO;
    size_t done = 0;
    ERR_clear_error();
    int ret = SSL_write_ex(t->ssl, buf, len, &done);
    if (ret == 1) return (ssize_t)done;
    int rc = io_status(t, ret, want);
    if (rc == 0) { /* close_notify seen while writing: the peer is gone */
        snprintf(t->error, sizeof(t->error), "connection closed by the peer");
        t->failed = 1;
        return -EIO;
    }
    return rc;
}

int net_tls_has_pending(const net_tls *t)
{
    /* decrypted bytes only: SSL_has_pending also counts a partial record, whose rest makes the
     * fd readable again (read_ahead is off, so OpenSSL never holds a whole unread record) */
    return SSL_pending(t->ssl) > 0;
}

int net_tls_peer_verified(const net_tls *t)
{
    if (!t || t->failed || !SSL_is_init_finished(t->ssl)) return 0;
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    if (!cert) return 0;
    X509_free(cert);
    return SSL_get_verify_result(t->ssl) == X509_V_OK;
}

const char *net_tls_error(const net_tls *t)
{
    return t->error;
}

ssize_t net_stream_read(net_tls *t, int fd, void *buf, size_t cap, bool *other)
{
    if (t) {
        int want = 0;
        ssize_t n = net_tls_read(t, buf, cap, &want);
        *other = n == -EAGAIN && want == NET_WRITABLE;
        return n;
    }
    ssize_t n = read(fd, buf, cap);
    return n < 0 ? -errno : n;
}

ssize_t net_stream_write(net_tls *t, int fd, const void *buf, size_t len, bool *other)
{
    if (t) {
        int want = 0;
        ssize_t n = net_tls_write(t, buf, len, &want);
        *other = n == -EAGAIN && want == NET_READABLE;
        return n;
    }
    ssize_t n = write(fd, buf, len);
    return n < 0 ? -errno : n;
}

const char *net_stream_strerror(const net_tls *t, ssize_t err)
{
    return t && err == -EIO ? net_tls_error(t) : strerror((int)-err);
}
