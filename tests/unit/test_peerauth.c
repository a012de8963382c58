/* test_peerauth.c — the peer handshake proof: a known answer (computed independently with
 * Python's hmac module over the documented transcript layout), and that the proof changes with
 * the secret, the role and every byte of either hello. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net/peerauth.h"

static const char *SECRET = "0123456789abcdef";
static const uint8_t D[] = "dialer-hello";    /* 12 bytes used */
static const uint8_t A[] = "acceptor-hello!"; /* 15 bytes used */

static void proof(const char *secret, int role, const uint8_t *d, size_t dl, const uint8_t *a,
                  size_t al, uint8_t out[PEERAUTH_PROOF_BYTES])
{
    assert_int_equal(peerauth_proof(secret, strlen(secret), role, d, dl, a, al, out), 0);
}

static void known_answer(void **state)
{
    (void)state;
    static const uint8_t want[PEERAUTH_PROOF_BYTES] = {
        0x7a, 0xcd, 0xb4, 0x13, 0x14, 0xf6, 0x18, 0x75, 0x50, 0xd5, 0x08,
        0x1d, 0x6e, 0xb5, 0x93, 0x8a, 0xc0, 0x1f, 0xca, 0x56, 0x3e, 0xa7,
        0x76, 0xbf, 0xad, 0x6c, 0xac, 0x6e, 0xbd, 0x2f, 0xa7, 0x51};
    uint8_t got[PEERAUTH_PROOF_BYTES];
    proof(SECRET, PEERAUTH_ROLE_ACCEPTOR, D, 12, A, 15, got);
    assert_memory_equal(got, want, sizeof(want));
    assert_true(peerauth_equal(got, want));
    /* each of its bytes counts (mutant A2 in docs/resp-net-mutants.md: half of them compared) */
    for (size_t i = 0; i < sizeof(want); i++) {
        uint8_t bad[PEERAUTH_PROOF_BYTES];
        memcpy(bad, want, sizeof(bad));
        bad[i] ^= 0x80;
        assert_false(peerauth_equal(got, bad));
    }
}

static void proof_binds_everything(void **state)
{
    (void)state;
    uint8_t base[PEERAUTH_PROOF_BYTES], other[PEERAUTH_PROOF_BYTES];
    proof(SECRET, PEERAUTH_ROLE_ACCEPTOR, D, 12, A, 15, base);
    /* the other role (no reflection of a proof back to its sender) */
    proof(SECRET, PEERAUTH_ROLE_DIALER, D, 12, A, 15, other);
    assert_false(peerauth_equal(base, other));
    /* another secret */
    proof("0123456789abcdeX", PEERAUTH_ROLE_ACCEPTOR, D, 12, A, 15, other);
    assert_false(peerauth_equal(base, other));
    /* every byte of both hellos (ids, incarnations, nonces live there) */
    uint8_t d[12], a[15];
    for (size_t i = 0; i < 12 + 15; i++) {
        memcpy(d, D, 12);
        memcpy(a, A, 15);
        if (i < 12)
            d[i] ^= 1;
        else
            a[i - 12] ^= 1;
        proof(SECRET, PEERAUTH_ROLE_ACCEPTOR, d, 12, a, 15, other);
        assert_false(peerauth_equal(base, other));
    }
    /* moving a byte from one hello to the other is a different transcript */
    proof(SECRET, PEERAUTH_ROLE_ACCEPTOR,
          (const uint8_t *)"dialer-hello"
                           "a",
          13, (const uint8_t *)"cceptor-hello!", 14, other);
    assert_false(peerauth_equal(base, other));
}

/* A relay's proof (SYNOD RELAY-PROOF): a known answer (Python's hmac over the layout in
 * peerauth.h), bound to both ids and every nonce byte, and never equal to a peer-link proof over
 * the same bytes (another role). */
static void relay_proof(void **state)
{
    (void)state;
    static const uint8_t want[PEERAUTH_PROOF_BYTES] = {
        0x2b, 0x7a, 0x2d, 0x92, 0x41, 0xc0, 0xcc, 0x75, 0x14, 0xd8, 0x3f,
        0xa0, 0x70, 0xf7, 0x6c, 0xdd, 0xdb, 0x49, 0xed, 0x7f, 0x61, 0xd1,
        0x8f, 0xec, 0xfa, 0x88, 0x5d, 0xbc, 0x14, 0xcf, 0xde, 0x62};
    uint8_t nonce[PEERAUTH_NONCE_BYTES], got[PEERAUTH_PROOF_BYTES], other[PEERAUTH_PROOF_BYTES];
    for (size_t i = 0; i < sizeof nonce; i++)
        nonce[i] = (uint8_t)i;
    size_t sl = strlen(SECRET);
    assert_int_equal(peerauth_relay_proof(SECRET, sl, 2, 1, nonce, got), 0);
    assert_memory_equal(got, want, sizeof(want));
    assert_int_equal(peerauth_relay_proof(SECRET, sl, 1, 2, nonce, other), 0); /* ids swapped */
    assert_false(peerauth_equal(got, other));
    assert_int_equal(peerauth_relay_proof(SECRET, sl, 2, 3, nonce, other), 0);
    assert_false(peerauth_equal(got, other));
    for (size_t i = 0; i < sizeof nonce; i++) {
        nonce[i] ^= 0x80;
        assert_int_equal(peerauth_relay_proof(SECRET, sl, 2, 1, nonce, other), 0);
        assert_false(peerauth_equal(got, other));
        nonce[i] ^= 0x80;
    }
    /* the same transcript bytes as a peer handshake's dialer or acceptor proof */
    uint8_t who[15 + 16] = "synod relay v1";
    who[15] = 2;
    who[23] = 1;
    for (int role = 0; role < 2; role++) {
        proof(SECRET, role ? PEERAUTH_ROLE_DIALER : PEERAUTH_ROLE_ACCEPTOR, who, sizeof who, nonce,
              sizeof nonce, other);
        assert_false(peerauth_equal(got, other));
    }
    proof(SECRET, PEERAUTH_ROLE_RELAY, who, sizeof who, nonce, sizeof nonce, other);
    assert_true(peerauth_equal(got, other)); /* ... which is all that differs */
}

static void random_bytes(void **state)
{
    (void)state;
    uint8_t a[16] = {0}, b[16] = {0};
    assert_int_equal(peerauth_random(a, sizeof a), 0);
    assert_int_equal(peerauth_random(b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_answer),
        cmocka_unit_test(proof_binds_everything),
        cmocka_unit_test(relay_proof),
        cmocka_unit_test(random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
