/* peerauth.c — see peerauth.h. HMAC-SHA-256 from OpenSSL's libcrypto. */
#include "net/peerauth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>

#define LABEL "synod peer handshake v2"

int peerauth_proof(const void *secret, size_t secret_len, int role, const uint8_t *dialer_hello,
                   size_t dialer_len, const uint8_t *acceptor_hello, size_t acceptor_len,
                   uint8_t out[PEERAUTH_PROOF_BYTES])
{
    /* lengths are framed so that no two different transcripts hash the same bytes */
    uint8_t head[sizeof(LABEL) + 1 + 8];
    memcpy(head, LABEL, sizeof(LABEL)); /* with its NUL */
    head[sizeof(LABEL)] = (uint8_t)role;
    uint32_t dl = (uint32_t)dialer_len, al = (uint32_t)acceptor_len;
    for (int i = 0; i < 4; i++) {
        head[sizeof(LABEL) + 1 + i] = (uint8_t)(dl >> (8 * i));
        head[sizeof(LABEL) + 5 + i] = (uint8_t)(al >> (8 * i));
    }
    /* one buffer, one HMAC() call (the CTX interface is deprecated in OpenSSL 3) */
    uint8_t msg[sizeof(head) + 2 * 1024];
    if (dialer_len > 1024 || acceptor_len > 1024) return -1;
    memcpy(msg, head, sizeof(head));
    memcpy(msg + sizeof(head), dialer_hello, dialer_len);
    memcpy(msg + sizeof(head) + dialer_len, acceptor_hello, acceptor_len);
    unsigned int n = 0;
    int ok = HMAC(EVP_sha256(), secret, (int)secret_len, msg,
                  sizeof(head) + dialer_len + acceptor_len, out, &n) != NULL &&
             n == PEERAUTH_PROOF_BYTES;
    return ok ? 0 : -1;
}

int peerauth_relay_proof(const void *secret, size_t secret_len, uint64_t follower_id,
                         uint64_t leader_id, const uint8_t nonce[PEERAUTH_NONCE_BYTES],
                         uint8_t out[PEERAUTH_PROOF_BYTES])
{
    static const char tag[] = "synod relay v1"; /* with its NUL */
    uint8_t who[sizeof(tag) + 16];
    memcpy(who, tag, sizeof(tag));
    for (int i = 0; i < 8; i++) {
        who[sizeof(tag) + i] = (uint8_t)(follower_id >> (8 * i));
        who[sizeof(tag) + 8 + i] = (uint8_t)(leader_id >> (8 * i));
    }
    return peerauth_proof(secret, secret_len, PEERAUTH_ROLE_RELAY, who, sizeof(who), nonce,
                          PEERAUTH_NONCE_BYTES, out);
}

bool peerauth_equal(const uint8_t a[PEERAUTH_PROOF_BYTES], const uint8_t b[PEERAUTH_PROOF_BYTES])
{
    return CRYPTO_memcmp(a, b, PEERAUTH_PROOF_BYTES) == 0;
}

int peerauth_random(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t k = getrandom(p, n, 0);
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}
