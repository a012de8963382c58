/* frame.h — peer-transport frame codec: checksummed binary frames and the handshake. libc only,
 * no I/O: the server reads bytes into its own buffer and asks frame_decode for whole frames.
 *
 * Wire format (docs/peer-protocol.md), all integers big-endian, 16-byte header:
 *   0  magic   "SYND"
 *   4  u8      frame format version (FRAME_VERSION)
 *   5  u8      type (FRAME_T_*; never 0)
 *   6  u16     reserved, 0
 *   8  u32     payload length (at most the receiver's max_payload <= FRAME_MAX_PAYLOAD_HARD)
 *   12 u32     CRC32C of bytes 0..11 followed by the payload
 *   16 payload
 * A decode error of any kind means the stream cannot be trusted: close the connection. */
#ifndef SYNOD_NET_FRAME_H
#define SYNOD_NET_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_MAGIC                 "SYND"
#define FRAME_VERSION               1
#define FRAME_HEADER_BYTES          16
#define FRAME_MAX_PAYLOAD_DEFAULT   (16u * 1024 * 1024)
#define FRAME_MAX_PAYLOAD_HARD      (256u * 1024 * 1024) /* no receiver accepts more */
#define FRAME_PEER_PROTOCOL_VERSION 2                    /* meaning of the messages (hello) */

/* Frame types. The codec only rejects 0; the server gives meaning to the payloads. */
enum {
    FRAME_T_HELLO = 1,         /* handshake, the first frame in each direction */
    FRAME_T_REJECT = 2,        /* handshake refused: payload is a reason text; then close */
    FRAME_T_RAFT = 3,          /* a batch of consensus messages */
    FRAME_T_FORWARD = 4,       /* a client request forwarded to the leader */
    FRAME_T_FORWARD_REPLY = 5, /* the leader's reply to a FORWARD */
    FRAME_T_PING = 6,          /* keepalive: empty, or FRAME_PING_HELD (1 byte) */
    FRAME_T_AUTH = 7,          /* handshake: proof of the cluster secret (FRAME_AUTH_PROOF_BYTES) */
};

/* A PING's one-byte payload from a node whose event loop is held (sent by its watcher thread):
 * its process lives although its consensus messages wait. Receivers ignore unknown payloads. */
#define FRAME_PING_HELD 1

/* Error codes, one table (X-macro) for codes and texts. */
#define FRAME_ERRORS(X)                                                                            \
    X(FRAME_ERR_MAGIC, -1, "bad magic (not a synod peer stream)")                                  \
    X(FRAME_ERR_VERSION, -2, "unsupported frame format version")                                   \
    X(FRAME_ERR_TYPE, -3, "frame type 0")                                                          \
    X(FRAME_ERR_RESERVED, -4, "reserved header bits set")                                          \
    X(FRAME_ERR_TOO_BIG, -5, "frame larger than the maximum")                                      \
    X(FRAME_ERR_CHECKSUM, -6, "checksum mismatch")                                                 \
    X(FRAME_ERR_HELLO_MALFORMED, -7, "malformed handshake")                                        \
    X(FRAME_ERR_HELLO_VERSION, -8, "peer protocol version differs")                                \
    X(FRAME_ERR_HELLO_CLUSTER, -9, "peer belongs to another cluster")                              \
    X(FRAME_ERR_HELLO_NODE, -10, "peer is not the node expected")                                  \
    X(FRAME_ERR_NOSPACE, -11, "output buffer too small")

enum {
    FRAME_OK = 0,
    FRAME_INCOMPLETE = 1,
#define FRAME_X_ENUM(name, code, text) name = code,
    FRAME_ERRORS(FRAME_X_ENUM)
#undef FRAME_X_ENUM
};

/* Static text for a FRAME_ERR_* code ("unknown frame error" otherwise). */
const char *frame_strerror(int err);

typedef struct {
    uint8_t type;
    uint32_t len;           /* payload bytes */
    const uint8_t *payload; /* points into the buffer given to frame_decode */
} frame;

/* Looks for one frame at buf[0..len). max_payload is this receiver's limit (0 = default; values
 * above FRAME_MAX_PAYLOAD_HARD are clamped to it).
 * FRAME_OK: *f is the frame (payload valid while buf is), *consumed = 16 + f->len.
 * FRAME_INCOMPLETE: *consumed = 0; *need (if not NULL) = bytes still missing for this frame,
 *   known exactly once the header is complete. Only whole frames are ever returned.
 * FRAME_ERR_*: *consumed = 0. Errors are detected as early as the bytes allow: a bad magic or
 *   version from its first bytes, an oversized frame from its header (before the payload is
 *   received, so the caller never buffers it). Never reads outside buf[0..len). Stateless: call
 *   again on the same bytes plus more; the cost is O(1) until the frame is complete. */
int frame_decode(const uint8_t *buf, size_t len, uint32_t max_payload, frame *f, size_t *consumed,
                 size_t *need);

/* Writes the 16-byte header of a frame carrying payload[0..len) (checksum included), so the
 * caller can send header and payload without copying. len must be <= FRAME_MAX_PAYLOAD_HARD
 * and type != 0 (asserted: both are the caller's own values). */
void frame_write_header(uint8_t hdr[FRAME_HEADER_BYTES], uint8_t type, const void *payload,
                        uint32_t len);
/* Header + payload into out[0..cap). Returns the frame's size, or FRAME_ERR_NOSPACE. */
long frame_encode(uint8_t *out, size_t cap, uint8_t type, const void *payload, uint32_t len);

/* ---- handshake ---- */

#define FRAME_CLUSTER_ID_MAX 64
#define FRAME_ADDR_MAX       255
#define FRAME_NONCE_BYTES    16
#define FRAME_DATA_ID_BYTES  16

/* The FRAME_T_HELLO payload. Each side sends one right after connecting and checks the other's
 * with frame_hello_check before any other frame is accepted. */
typedef struct {
    uint16_t version;        /* FRAME_PEER_PROTOCOL_VERSION of the sender */
    uint64_t node_id;        /* sender's id, > 0 */
    uint64_t to_node_id;     /* id the sender believes it is talking to; 0 = unknown */
    uint8_t cluster_id_len;  /* <= FRAME_CLUSTER_ID_MAX */
    uint8_t client_addr_len; /* <= FRAME_ADDR_MAX */
    char cluster_id[FRAME_CLUSTER_ID_MAX + 1]; /* NUL-terminated copy; may hold any bytes */
    char client_addr[FRAME_ADDR_MAX + 1];      /* sender's client address "host:port" */
    /* protocol 2 */
    uint8_t flags;        /* FRAME_HELLO_F_* */
    uint64_t incarnation; /* random per process: two live processes with one node id differ */
    uint8_t nonce[FRAME_NONCE_BYTES];     /* random per connection: the challenge for the proof */
    uint8_t data_id[FRAME_DATA_ID_BYTES]; /* random per data directory (a wiped member differs) */
    /* optional (absent in older hellos: length 0): where the sender's followers relay clients'
     * commands when it leads, "host:port" of its TLS client port under tls-cluster */
    uint8_t relay_addr_len; /* <= FRAME_ADDR_MAX */
    char relay_addr[FRAME_ADDR_MAX + 1];
} frame_hello;

#define FRAME_HELLO_F_SECRET 1 /* the sender proves a cluster secret (FRAME_T_AUTH follows) */
#define FRAME_HELLO_MAX_BYTES                                                                      \
    (2 + 2 + 8 + 8 + 1 + FRAME_CLUSTER_ID_MAX + 1 + FRAME_ADDR_MAX + 1 + 8 + FRAME_NONCE_BYTES +   \
     FRAME_DATA_ID_BYTES + 1 + FRAME_ADDR_MAX)
#define FRAME_AUTH_PROOF_BYTES 32 /* HMAC-SHA-256 (src/net/peerauth.h) */

/* Fills h (strings are truncated to their maxima, which callers should validate earlier);
 * flags, incarnation and nonce are zero: the caller sets them. */
void frame_hello_init(frame_hello *h, uint64_t node_id, uint64_t to_node_id, const char *cluster_id,
                      const char *client_addr);
/* Payload bytes into out[0..cap); returns the length or FRAME_ERR_NOSPACE. */
long frame_hello_encode(const frame_hello *h, uint8_t *out, size_t cap);
/* Parses a HELLO payload. Bytes after the known fields are ignored, so a newer peer's hello
 * still decodes far enough for frame_hello_check to name the version difference.
 * FRAME_OK or FRAME_ERR_HELLO_MALFORMED. */
int frame_hello_decode(const uint8_t *p, size_t len, frame_hello *out);
/* Checks a received hello against our own (`mine`, whose to_node_id is the id we expect at
 * the other end, 0 if unknown). Returns FRAME_OK, or FRAME_ERR_HELLO_VERSION / _CLUSTER / _NODE
 * with a one-line explanation for the log in err[0..err_size) (always NUL-terminated),
 * e.g. "peer node 3 belongs to cluster 'prod-b', this node (1) to cluster 'prod-a'". */
int frame_hello_check(const frame_hello *mine, const frame_hello *theirs, char *err,
                      size_t err_size);

#endif
