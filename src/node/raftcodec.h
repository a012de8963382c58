/* raftcodec.h — raft_message <-> bytes, for the payload of FRAME_T_RAFT peer frames.
 *
 * A FRAME_T_RAFT payload is a batch: u32 count, then each message as u32 length + body
 * (big-endian, layout in docs/peer-protocol.md "Raft messages"). The decoder trusts nothing:
 * every length is checked against the bytes present and against the caps of raft.h
 * (RAFT_MAX_MSG_ENTRIES, RAFT_MAX_MEMBERS); a malformed batch is an error and the caller closes
 * the connection. raft_step validates the semantics (consecutive indexes, ...) afterwards. */
#ifndef SYNOD_SERVER_RAFTCODEC_H
#define SYNOD_SERVER_RAFTCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/raft.h"

#define RCODEC_EMALFORMED (-1)
#define RCODEC_ENOMEM     (-2)

/* Exact encoded size of one message body (without its u32 length prefix). */
size_t rcodec_msg_size(const raft_message *m);
/* Writes the body of m at out (rcodec_msg_size(m) bytes available). Returns bytes written. */
size_t rcodec_msg_encode(const raft_message *m, uint8_t *out);

/* Decoder scratch: the entry array decoded messages point into. Reused between calls. */
typedef struct {
    raft_entry *ents;
    size_t cap; /* elements in ents */
} rcodec_scratch;

void rcodec_scratch_deinit(rcodec_scratch *s);

/* Decodes one message body p[0..len) (exactly len bytes must be consumed). On success *m points
 * into p (entry data, snapshot data) and into s->ents: valid until p changes or the next decode
 * with s. Returns 0, RCODEC_EMALFORMED or RCODEC_ENOMEM. */
int rcodec_msg_decode(const uint8_t *p, size_t len, raft_message *m, rcodec_scratch *s);

/* Iterates over a batch payload: *off starts at 0; each call decodes the next message.
 * Returns 1 with *m filled, 0 at the end, or a negative error (malformed: close). The header
 * count is checked at the end (a batch with fewer or more messages than declared is an error). */
int rcodec_batch_next(const uint8_t *p, size_t len, size_t *off, uint32_t *left, raft_message *m,
                      rcodec_scratch *s);

#endif
