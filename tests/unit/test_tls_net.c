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
static char crt_path[256], key_path[256], other_key_path[256];
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

/* A self-signed P-256 certificate (it is its own CA) and an unrelated second key. */
static int setup(void **state)
{
    (void)state;
    assert_non_null(mkdtemp(dir));
    key = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    crt = X509_new();
    assert_true(key && other && crt);
    X509_set_version(crt, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(crt), -60);
    X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
    X509_set_pubkey(crt, key);
    X509_NAME *name = X509_get_subject_name(crt);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
    X509_set_issuer_name(crt, name);
    assert_true(X509_sign(crt, key, EVP_sha256()) > 0);
    snprintf(crt_path, sizeof(crt_path), "%s/c.crt", dir);
    snprintf(key_path, sizeof(key_path), "%s/c.key", dir);
    snprintf(other_key_path, sizeof(other_key_path), "%s/o.key", dir);
    write_pem(crt_path, NULL, crt);
    write_pem(key_path, key, NULL);
    write_pem(other_key_path, other, NULL);
    EVP_PKEY_free(other);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(crt_path);
    unlink(key_path);
    unlink(other_key_path);
    rmdir(dir);
    X509_free(crt);
    EVP_PKEY_free(key);
    return 0;
}

static net_tls_ctx *server_ctx(int auth)
{
    net_tls_opts o = {crt_path, key_path, crt_path, auth, "", "", ""};
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
            /* a copy that moves between calls, as the server's output buffer may */
            unsigned char *moving = malloc(n - sent);
            memcpy(moving, out + sent, n - sent);
            int want = 0;
            ssize_t w = net_tls_write(t, moving, n - sent, &want);
            free(moving);
            if (w == -EAGAIN) {
                blocked++;
                assert_true(want == NET_WRITABLE || want == NET_READABLE);
            } else {
                assert_true(w > 0 && (size_t)w <= n - sent);
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
    net_tls_free(t);
    SSL_free(cl);
    SSL_CTX_free(cctx);
    close(sv[0]);
    close(sv[1]);
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
        net_tls *t = net_tls_new(ctx, sv[0]);
        int rc = handshake(t, sv[0], cl);
        if (auth == NET_TLS_AUTH_YES) {
            assert_int_equal(rc, -1);
            assert_true(strlen(net_tls_error(t)) > 0);
        } else {
            assert_int_equal(rc, 0);
        }
        net_tls_free(t);
        SSL_free(cl);
        SSL_CTX_free(cctx);
        close(sv[0]);
        close(sv[1]);
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
    net_tls_opts ok = {crt_path, key_path, crt_path, NET_TLS_AUTH_YES, "", "", ""};
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
    o.protocols = "tlsv1.3";
    char err[256];
    net_tls_ctx *c = net_tls_ctx_create(&o, err, sizeof(err));
    assert_non_null(c);
    net_tls_ctx_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_both_ways),
        cmocka_unit_test(test_client_certificate_required),
        cmocka_unit_test(test_garbage_instead_of_client_hello),
        cmocka_unit_test(test_startup_errors_name_the_option),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
