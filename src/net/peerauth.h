/* peerauth.h — proof of a shared cluster secret in the peer handshake (challenge-response).
 *
 * Each side of a peer connection sends a HELLO carrying a fresh random nonce; then each proves
 * it knows the secret with HMAC-SHA-256(secret, label | role | dialer's hello | acceptor's
 * hello), where role is 'A' for the side that accepted the connection and 'D' for the side that
 * dialled. The secret never crosses the wire; the nonces make every proof good for one
 * connection only, the roles keep a proof from being reflected back, and covering both hellos
 * binds the proof to the node ids, incarnations and addresses they carry. Frames after the
 * handshake are protected by TCP only (TLS on peer links is the answer to an attacker on the
 * path). */
#ifndef SYNOD_NET_PEERAUTH_H
#define SYNOD_NET_PEERAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEERAUTH_PROOF_BYTES 32
#define PEERAUTH_SECRET_MIN  16 /* bytes: shorter secrets are refused by the config */

/* RELAY: a follower's relay connection to the leader's client port (peerauth_relay_proof); no
 * peer-link proof is ever made with it, so neither kind of proof stands in for the other. */
enum { PEERAUTH_ROLE_ACCEPTOR = 'A', PEERAUTH_ROLE_DIALER = 'D', PEERAUTH_ROLE_RELAY = 'R' };

#define PEERAUTH_NONCE_BYTES 32 /* the leader's challenge to a relay (SYNOD RELAY-HELLO) */

/* out = the proof of `role` for the handshake whose hellos (encoded payloads) are given.
 * Returns 0, or -1 if the crypto library failed (then no proof: close the connection). */
int peerauth_proof(const void *secret, size_t secret_len, int role, const uint8_t *dialer_hello,
                   size_t dialer_len, const uint8_t *acceptor_hello, size_t acceptor_len,
                   uint8_t out[PEERAUTH_PROOF_BYTES]);

/* out = the proof a follower gives on its relay connection to the leader (docs/security.md
 * "Relays"): HMAC-SHA-256(secret, label | 'R' | "synod relay v1" follower_id leader_id | nonce),
 * the ids as 8 little-endian bytes each, nonce the leader's fresh challenge for this connection.
 * 0, or -1 if the crypto library failed. */
int peerauth_relay_proof(const void *secret, size_t secret_len, uint64_t follower_id,
                         uint64_t leader_id, const uint8_t nonce[PEERAUTH_NONCE_BYTES],
                         uint8_t out[PEERAUTH_PROOF_BYTES]);

/* Constant-time comparison of two proofs. */
bool peerauth_equal(const uint8_t a[PEERAUTH_PROOF_BYTES], const uint8_t b[PEERAUTH_PROOF_BYTES]);

/* n random bytes from the kernel (nonces, incarnation ids). 0 or -1. */
int peerauth_random(void *buf, size_t n);

#endif
