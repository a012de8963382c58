/* test_tls_net.c — src/net/tls.c on a non-blocking socketpair against an OpenSSL client: the
 * handshake driven by the readiness it asks for, multi-MiB transfers through tiny socket
 * buffers (partial writes, WANT_WRITE retries with a moved buffer, several records per read),
 * garbage instead of a ClientHello, client certificates required, and the startup errors that
 * name the option. The certificates are made in memory and written to a temp dir. Every test
 * arms alarm() as a watchdog. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "net/net.h"
#include "net/tls.h"

#define WATCHDOG_S 20

static char dir[] = "/tmp/synod-test-tls-XXXXXX";
static char crt_path[256], key_path[256], other_key_path[256], other_crt_path[256];
static EVP_PKEY *key;
static X509 *crt;

static void write_pem(const char *path, EVP_PKEY *k, X509 *x)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    if (k) assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    if (x) assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
}

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *x = X509_new();
    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, k, EVP_sha256()) > 0);
    return x;
}

/* A self-signed P-256 certificate (it is its own CA) and an unrelated second key with its own
 * self-signed certificate (a stranger). */
static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    key = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    assert_true(key && other);
    crt = self_signed(key, "test");
    X509 *other_crt = self_signed(other, "stranger");
    snprintf(crt_path, sizeof(crt_path), "%s/c.crt", dir);
    snprintf(key_path, sizeof(key_path), "%s/c.key", dir);
    snprintf(other_key_path, sizeof(other_key_path), "%s/o.key", dir);
    snprintf(other_crt_path, sizeof(other_crt_path), "%s/o.crt", dir);
    write_pem(crt_path, NULL, crt);
    write_pem(key_path, key, NULL);
    write_pem(other_key_path, other, NULL);
    write_pem(other_crt_path, NULL, other_crt);
    X509_free(other_crt);
    EVP_PKEY_free(other);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(crt_path);
    unlink(key_path);
    unlink(other_key_path);
    unlink(other_crt_path);
    rmdir(dir);
    X509_free(crt);
    EVP_PKEY_free(key);
    return 0;
}

static net_tls_ctx *server_ctx(int auth)
{
    net_tls_opts o = {crt_path, key_path, crt_path, auth, "", "", "", 0, NULL, NULL};
    char err[256];
    net_tls_ctx *c = net_tls_ctx_create(&o, err, sizeof(err));
    if (!c) fail_msg("%s", err);
    return c;
}

/* An OpenSSL client on fd (trusting the test certificate; with it as its own if with_cert). */
static SSL *client_new(SSL_CTX **cctx, int fd, int with_cert)
{
    *cctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(*cctx);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(*cctx), crt);
    SSL_CTX_set_verify(*cctx, SSL_VERIFY_PEER, NULL);
    if (with_cert) {
        assert_int_equal(SSL_CTX_use_certificate(*cctx, crt), 1);
        assert_int_equal(SSL_CTX_use_PrivateKey(*cctx, key), 1);
    }
    SSL *s = SSL_new(*cctx);
    SSL_set_fd(s, fd);
    SSL_set_connect_state(s);
    return s;
}

/* A non-blocking socketpair with small kernel buffers, so writes of a few KB already block. */
static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    for (int i = 0; i < 2; i++) {
        int sz = 4096;
        setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK);
    }
}

/* Waits until fd is ready as `want` (NET_READABLE / NET_WRITABLE) or 1 s passes. */
static void wait_fd(int fd, int want)
{
    struct pollfd p = {
        fd, (short)((want & NET_READABLE ? POLLIN : 0) | (want & NET_WRITABLE ? POLLOUT : 0)), 0};
    (void)poll(&p, 1, 1000);
}

/* Both handshakes to completion, each side only stepping when its fd is ready as asked.
 * Returns 0, or -1 if the server side failed. */
static int handshake(net_tls *t, int sfd, SSL *cl)
{
    int sdone = 0, cdone = 0, want = NET_READABLE;
    for (int i = 0; i < 1000 && !(sdone && cdone); i++) {
        if (!cdone) {
            int r = SSL_do_handshake(cl);
            if (r == 1)
                cdone = 1;
            else if (SSL_get_error(cl, r) != SSL_ERROR_WANT_READ &&
                     SSL_get_error(cl, r) != SSL_ERROR_WANT_WRITE)
                cdone = 1; /* the client failed: the server says why */
        }
        if (!sdone) {
            struct pollfd p = {
                sfd,
                (short)((want & NET_READABLE ? POLLIN : 0) | (want & NET_WRITABLE ? POLLOUT : 0)),
                0};
            if (poll(&p, 1, 10) <= 0) continue;
            int rc = net_tls_handshake(t);
            if (rc < 0) return -1;
            if (rc == 0)
                sdone = 1;
            else
                want = rc;
        }
    }
    assert_true(sdone && cdone);
    return 0;
}

static void test_transfer_both_ways(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_tls_ctx *ctx = server_ctx(NET_TLS_AUTH_YES);
    int sv[2];
    pair(sv);
    SSL_CTX *cctx;
    SSL *cl = client_new(&cctx, sv[1], 1);
    net_tls *t = net_tls_new(ctx, sv[0]);
    assert_int_equal(handshake(t, sv[0], cl), 0);

    /* server -> client: 3 MiB through a 4 KB socket buffer */
    size_t n = 3u << 20;
    unsigned char *out = malloc(n), *in = malloc(n);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(i * 7 + i / 1000);
    size_t sent = 0, got = 0;
    int blocked = 0;
    while (got < n) {
        if (sent < n) {
            /* a copy that moves between calls, as the server's output buffer may (of at most
             * 256 KB: copying all that is left at every call took seconds under ASan) */
            size_t len = n - sent < (256u << 10) ? n - sent : (256u << 10);
            unsigned char *moving = malloc(len);
            memcpy(moving, out + sent, len);
            bool other = true;
            ssize_t w = net_stream_write(t, sv[0], moving, len, &other);
            free(moving);
            if (w == -EAGAIN) {
                blocked++;
                /* a full socket: the write waits for writability, not the other readiness
                 * (mutant T20 in docs/resp-net-mutants.md said the other) */
                struct pollfd pw = {sv[0], POLLOUT, 0};
                if (poll(&pw, 1, 0) == 0) assert_false(other);
            } else {
                assert_true(w > 0 && (size_t)w <= len);
                sent += (size_t)w;
            }
        }
        size_t r = 0;
        if (SSL_read_ex(cl, in + got, n - got, &r) == 1) got += r;
    }
    assert_true(blocked > 0); /* the small buffer really made writes wait */
    assert_memory_equal(in, out, n);

    /* client -> server: reads take several records while a whole one still fits */
    sent = got = 0;
    while (got < n) {
        size_t w = 0;
        if (sent < n && SSL_write_ex(cl, out + sent, n - sent > 50000 ? 50000 : n - sent, &w))
            sent += w;
        int want = 0;
        ssize_t r = net_tls_read(t, in + got, n - got, &want);
        if (r == -EAGAIN) {
            assert_int_equal(want, NET_READABLE);
            assert_false(net_tls_has_pending(t));
            continue;
        }
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_memory_equal(in, out, n);

    /* a read into less room than a record leaves bytes inside OpenSSL: has_pending says so */
    size_t w = 0;
    assert_int_equal(SSL_write_ex(cl, out, 3000, &w), 1); /* fits the socket buffer */
    wait_fd(sv[0], NET_READABLE);
    int want = 0;
    ssize_t r;
    do {
        r = net_tls_read(t, in, 100, &want);
    } while (r == -EAGAIN && (wait_fd(sv[0], NET_READABLE), 1));
    assert_int_equal(r, 100);
    assert_true(net_tls_has_pending(t));
    struct pollfd pf = {sv[0], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 0), 0); /* epoll would never report these bytes */
    r = net_tls_read(t, in + 100, n - 100, &want);
    assert_int_equal(r, 2900);
    assert_false(net_tls_has_pending(t));
    assert_memory_equal(in, out, 3000);

    /* the client closes: the read says 0 */
    SSL_shutdown(cl);
    wait_fd(sv[0], NET_READABLE);
    assert_int_equal(net_tls_read(t, in, 100, &want), 0);
    /* and its socket is gone: a write fails, never says "0 bytes written", which a caller's
     * write loop would retry for ever (mutant T11 in docs/resp-net-mutants.md) */
    close(sv[1]);
    assert_int_equal(net_tls_write(t, out, 100, &want), -EIO);
    net_tls_free(t);
    SSL_free(cl);
    SSL_CTX_free(cctx);
    close(sv[0]);
    net_tls_ctx_destroy(ctx);
    free(out);
    free(in);
    alarm(0);
}

static void test_client_certificate_required(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    for (int auth = 0; auth < 3; auth++) {
        net_tls_ctx *ctx = server_ctx(auth);
        int sv[2];
        pair(sv);
        SSL_CTX *cctx;
        SSL *cl = client_new(&cctx, sv[1], 0); /* no certificate */
        /* the default protocols take a TLS 1.2 client too (mutant T9: TLS 1.3 only) */
        if (auth == NET_TLS_AUTH_NO) SSL_set_max_proto_version(cl, TLS1_2_VERSION);
        net_tls *t = net_tls_new(ctx, sv[0]);
        int rc = handshake(t, sv[0], cl);
        if (auth == NET_TLS_AUTH_YES) {
            assert_int_equal(rc, -1);
            assert_true(strlen(net_tls_error(t)) > 0);
        } else if (auth == NET_TLS_AUTH_NO) {
            assert_int_equal(rc, 0);
            assert_string_equal(SSL_get_version(cl), "TLSv1.2");
            /* closing sends close_notify: the client sees a clean end, not a truncation (mutant
             * T8 in docs/resp-net-mutants.md sent none) */
            net_tls_free(t);
            t = NULL;
            wait_fd(sv[1], NET_READABLE);
            char b[16];
            int ret = SSL_read(cl, b, sizeof(b));
            assert_true(ret <= 0);
            assert_int_equal(SSL_get_error(cl, ret), SSL_ERROR_ZERO_RETURN);
        } else {
            assert_int_equal(rc, 0);
            /* a client that just closes (no close_notify) has ended, not failed: the read says
             * 0 (mutant T14 in docs/resp-net-mutants.md said -EIO) */
            close(sv[1]);
            sv[1] = -1;
            wait_fd(sv[0], NET_READABLE);
            int want = 0;
            char b[16];
            assert_int_equal(net_tls_read(t, b, sizeof(b), &want), 0);
        }
        net_tls_free(t);
        SSL_free(cl);
        SSL_CTX_free(cctx);
        close(sv[0]);
        if (sv[1] >= 0) close(sv[1]);
        net_tls_ctx_destroy(ctx);
    }
    alarm(0);
}

static void test_garbage_instead_of_client_hello(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_tls_ctx *ctx = server_ctx(NET_TLS_AUTH_YES);
    const char *inputs[] = {"PING\r\n", "*1\r\n$4\r\nPING\r\n", "\x16\x03\x01\xff\xff garbage"};
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        int sv[2];
        pair(sv);
        net_tls *t = net_tls_new(ctx, sv[0]);
        /* nothing yet: it waits, without blocking */
        assert_int_equal(net_tls_handshake(t), NET_READABLE);
        assert_true(write(sv[1], inputs[i], strlen(inputs[i])) > 0);
        int rc = net_tls_handshake(t);
        if (rc == NET_READABLE) { /* a record header promising more: the peer then goes away */
            close(sv[1]);
            sv[1] = -1;
            rc = net_tls_handshake(t);
        }
        assert_int_equal(rc, -1);
        assert_true(strlen(net_tls_error(t)) > 0);
        assert_int_equal(net_tls_handshake(t), -1); /* stays failed */
        net_tls_free(t);
        close(sv[0]);
        if (sv[1] >= 0) close(sv[1]);
    }
    net_tls_ctx_destroy(ctx);
    alarm(0);
}

static void expect_error(net_tls_opts o, const char *needle)
{
    char err[512] = "";
    net_tls_ctx *c = net_tls_ctx_create(&o, err, sizeof(err));
    if (c) fail_msg("accepted, expected an error with '%s'", needle);
    if (!strstr(err, needle)) fail_msg("error '%s' lacks '%s'", err, needle);
    assert_int_equal(ERR_peek_error(), 0); /* the error queue is left empty */
}

static void test_startup_errors_name_the_option(void **state)
{
    (void)state;
    net_tls_opts ok = {crt_path, key_path, crt_path, NET_TLS_AUTH_YES, "", "", "", 0, NULL, NULL};
    net_tls_opts o = ok;
    o.cert_file = "/nonexistent.crt";
    expect_error(o, "tls-cert-file: cannot use '/nonexistent.crt': No such file or directory");
    o = ok;
    o.cert_file = key_path;
    expect_error(o, "tls-cert-file");
    o = ok;
    o.key_file = other_key_path;
    expect_error(o, "(not the key of tls-cert-file)");
    o = ok;
    o.ca_cert_file = key_path;
    expect_error(o, "tls-ca-cert-file");
    o = ok;
    o.protocols = "TLSv1.2 TLSv1.1";
    expect_error(o, "tls-protocols: 'TLSv1.1' is not supported");
    o = ok;
    o.ciphers = "NOPE";
    expect_error(o, "tls-ciphers");
    o = ok;
    o.ciphersuites = "NOPE";
    expect_error(o, "tls-ciphersuites");
    o = ok;
    o.protocols = "tlsv1.3 tlsv1.2"; /* any case, as Redis (mutant T24: only TLSv1.2's) */
    char err[256];
    net_tls_ctx *c = net_tls_ctx_create(&o, err, sizeof(err));
    assert_non_null(c);
    net_tls_ctx_destroy(c);
}

/* Both sides through net_tls (the client side as peer links and relays use it): each steps its
 * handshake when its fd is ready as asked. Returns 0 when both finished; -1 if the client
 * failed, -2 if the server did (after the client finished: TLS 1.3 checks the client's
 * certificate last). */
static int net_handshake(net_tls *cl, int cfd, net_tls *sv, int sfd)
{
    int cw = NET_WRITABLE, sw = NET_READABLE, cdone = 0, sdone = 0;
    for (int i = 0; i < 1000 && !(cdone && sdone); i++) {
        struct pollfd p[2] = {{cfd, (short)(cw & NET_READABLE ? POLLIN : POLLOUT), 0},
                              {sfd, (short)(sw & NET_READABLE ? POLLIN : POLLOUT), 0}};
        if (poll(p, 2, 10) <= 0) continue;
        if (!cdone && p[0].revents) {
            int rc = net_tls_handshake(cl);
            if (rc < 0) return -1;
            cdone = rc == 0;
            if (rc > 0) cw = rc;
        }
        if (!sdone && p[1].revents) {
            int rc = net_tls_handshake(sv);
            if (rc < 0) return -2;
            sdone = rc == 0;
            if (rc > 0) sw = rc;
        }
    }
    assert_true(cdone && sdone);
    return 0;
}

static net_tls_ctx *client_ctx(const char *cert, const char *k, const char *ca)
{
    net_tls_opts o = {cert, k, ca, 0, "", "", "", 0, NULL, NULL};
    o.client = 1;
    char err[256];
    net_tls_ctx *c = net_tls_ctx_create(&o, err, sizeof(err));
    if (!c) fail_msg("%s", err);
    return c;
}

/* tls-cluster's mutual authentication with net_tls on both ends: a member (certificate signed by
 * the CA) gets through both ways; a server whose certificate the CA did not sign is refused by
 * the dialler; a dialler with a stranger's certificate or none is refused by the acceptor. */
static void test_client_side_mutual_authentication(void **state)
{
    (void)state;
    alarm(WATCHDOG_S);
    net_tls_ctx *sctx = server_ctx(NET_TLS_AUTH_YES);
    net_tls_opts so = {other_crt_path,
                       other_key_path,
                       other_crt_path,
                       NET_TLS_AUTH_YES,
                       "",
                       "",
                       "",
                       0,
                       NULL,
                       NULL};
    char err[256];
    net_tls_ctx *stranger_srv = net_tls_ctx_create(&so, err, sizeof(err));
    assert_non_null(stranger_srv);
    struct {
        net_tls_ctx *cl, *sv;
        int expect;
    } cases[] = {
        {client_ctx(crt_path, key_path, crt_path), sctx, 0},
        {client_ctx(crt_path, key_path, crt_path), stranger_srv, -1},
        {client_ctx(other_crt_path, other_key_path, crt_path), sctx, -2},
        {client_ctx("", "", crt_path), sctx, -2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int sv[2];
        pair(sv);
        net_tls *c = net_tls_new(cases[i].cl, sv[1]);
        net_tls *s = net_tls_new(cases[i].sv, sv[0]);
        int rc = net_handshake(c, sv[1], s, sv[0]);
        if (rc == 0 && cases[i].expect == -2) {
            /* TLS 1.3: the client is done before the server judged its certificate; the server's
             * verdict comes with its first read */
            int want = 0;
            char b[16];
            ssize_t r = net_tls_read(s, b, sizeof(b), &want);
            rc = r == -EIO ? -2 : 0;
        }
        if (rc != cases[i].expect) fail_msg("case %zu: %d, expected %d", i, rc, cases[i].expect);
        if (rc == 0) { /* bytes both ways */
            int want = 0;
            char b[16];
            assert_int_equal(net_tls_write(c, "ping", 4, &want), 4);
            wait_fd(sv[0], NET_READABLE);
            assert_int_equal(net_tls_read(s, b, sizeof(b), &want), 4);
            assert_int_equal(net_tls_write(s, "pong", 4, &want), 4);
            wait_fd(sv[1], NET_READABLE);
            assert_int_equal(net_tls_read(c, b, sizeof(b), &want), 4);
            assert_memory_equal(b, "pong", 4);
        }
        net_tls_free(c);
        net_tls_free(s);
        close(sv[0]);
        close(sv[1]);
        net_tls_ctx_destroy(cases[i].cl);
    }
    net_tls_ctx_destroy(sctx);
    net_tls_ctx_destroy(stranger_srv);
    /* a dialling context cannot verify anyone without a CA; errors name the client options */
    net_tls_opts o = {crt_path, key_path, "", 0, "", "", "", 0, NULL, NULL};
    o.client = 1;
    expect_error(o, "tls-ca-cert-file");
    o.ca_cert_file = crt_path;
    o.key_file = other_key_path;
    o.cert_option = "tls-client-cert-file";
    o.key_option = "tls-client-key-file";
    expect_error(o, "tls-client-key-file: cannot use");
    expect_error(o, "(not the key of tls-client-cert-file)");
    alarm(0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* writes to a closed peer return EPIPE, as in the server */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_both_ways),
        cmocka_unit_test(test_client_certificate_required),
        cmocka_unit_test(test_garbage_instead_of_client_hello),
        cmocka_unit_test(test_startup_errors_name_the_option),
        cmocka_unit_test(test_client_side_mutual_authentication),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
