/* raftcodec.c — encoding of raft messages for the peer transport (see raftcodec.h). */
#include "node/raftcodec.h"

#include <stdlib.h>
#include <string.h>

#include "util/assert.h"

enum { F_REJECT = 1, F_TRANSFER = 2, F_SNAP_DONE = 4, F_SYNC_LATER = 8, F_ALL = 15 };

/* fixed part: type u8, flags u8, 10 x u64, snapshot meta (index, term, nv u32, nl u32) */
#define FIXED_BYTES        (1 + 1 + 10 * 8 + 8 + 8 + 4 + 4)
#define ENTRY_HEADER_BYTES (8 + 8 + 1 + 4)

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (i * 8));
    return p;
}
static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(v >> (i * 8));
    return p;
}
static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t rcodec_msg_size(const raft_message *m)
{
    size_t n = FIXED_BYTES;
    n += 8 * ((size_t)m->snapshot.config.n_voters + m->snapshot.config.n_learners);
    n += 4 + m->snap_len;
    n += 4;
    for (uint32_t i = 0; i < m->n_entries; i++)
        n += ENTRY_HEADER_BYTES + m->entries[i].len;
    return n;
}

size_t rcodec_msg_encode(const raft_message *m, uint8_t *out)
{
    uint8_t *p = out;
    SYN_ASSERT(m->snapshot.config.n_voters <= RAFT_MAX_MEMBERS);
    SYN_ASSERT(m->snapshot.config.n_learners <= RAFT_MAX_MEMBERS);
    *p++ = (uint8_t)m->type;
    *p++ = (uint8_t)((m->reject ? F_REJECT : 0) | (m->transfer ? F_TRANSFER : 0) |
                     (m->snap_done ? F_SNAP_DONE : 0) | (m->sync_later ? F_SYNC_LATER : 0));
    p = put64(p, m->from);
    p = put64(p, m->to);
    p = put64(p, m->term);
    p = put64(p, m->log_term);
    p = put64(p, m->index);
    p = put64(p, m->commit);
    p = put64(p, m->reject_hint);
    p = put64(p, m->reject_term);
    p = put64(p, m->snap_offset);
    p = put64(p, m->ctx);
    p = put64(p, m->snapshot.index);
    p = put64(p, m->snapshot.term);
    p = put32(p, m->snapshot.config.n_voters);
    p = put32(p, m->snapshot.config.n_learners);
    for (uint32_t i = 0; i < m->snapshot.config.n_voters; i++)
        p = put64(p, m->snapshot.config.voters[i]);
    for (uint32_t i = 0; i < m->snapshot.config.n_learners; i++)
        p = put64(p, m->snapshot.config.learners[i]);
    p = put32(p, m->snap_len);
    if (m->snap_len) memcpy(p, m->snap_data, m->snap_len);
    p += m->snap_len;
    p = put32(p, m->n_entries);
    for (uint32_t i = 0; i < m->n_entries; i++) {
        const raft_entry *e = &m->entries[i];
        p = put64(p, e->term);
        p = put64(p, e->index);
        *p++ = (uint8_t)e->type;
        p = put32(p, e->len);
        if (e->len) memcpy(p, e->data, e->len);
        p += e->len;
    }
    SYN_ASSERT_CMP((size_t)(p - out), ==, rcodec_msg_size(m));
    return (size_t)(p - out);
}

void rcodec_scratch_deinit(rcodec_scratch *s)
{
    free(s->ents);
    s->ents = NULL;
    s->cap = 0;
}

int rcodec_msg_decode(const uint8_t *p, size_t len, raft_message *m, rcodec_scratch *s)
{
    memset(m, 0, sizeof(*m));
    if (len < FIXED_BYTES) return RCODEC_EMALFORMED;
    const uint8_t *end = p + len;
    uint8_t type = *p++;
    uint8_t flags = *p++;
    if (type < 1 || type > RAFT_MSG_TYPE_MAX || (flags & ~F_ALL)) return RCODEC_EMALFORMED;
    m->type = (raft_msg_type)type;
    m->reject = flags & F_REJECT;
    m->transfer = (flags & F_TRANSFER) != 0;
    m->snap_done = (flags & F_SNAP_DONE) != 0;
    m->sync_later = (flags & F_SYNC_LATER) != 0;
    m->from = get64(p), p += 8;
    m->to = get64(p), p += 8;
    m->term = get64(p), p += 8;
    m->log_term = get64(p), p += 8;
    m->index = get64(p), p += 8;
    m->commit = get64(p), p += 8;
    m->reject_hint = get64(p), p += 8;
    m->reject_term = get64(p), p += 8;
    m->snap_offset = get64(p), p += 8;
    m->ctx = get64(p), p += 8;
    m->snapshot.index = get64(p), p += 8;
    m->snapshot.term = get64(p), p += 8;
    uint32_t nv = get32(p), nl = get32(p + 4);
    p += 8;
    if (nv > RAFT_MAX_MEMBERS || nl > RAFT_MAX_MEMBERS) return RCODEC_EMALFORMED;
    if ((size_t)(end - p) < 8 * ((size_t)nv + nl) + 4) return RCODEC_EMALFORMED;
    m->snapshot.config.n_voters = nv;
    m->snapshot.config.n_learners = nl;
    for (uint32_t i = 0; i < nv; i++)
        m->snapshot.config.voters[i] = get64(p), p += 8;
    for (uint32_t i = 0; i < nl; i++)
        m->snapshot.config.learners[i] = get64(p), p += 8;
    uint32_t sl = get32(p);
    p += 4;
    if ((size_t)(end - p) < (size_t)sl + 4) return RCODEC_EMALFORMED;
    m->snap_len = sl;
    m->snap_data = sl ? p : NULL;
    p += sl;
    uint32_t ne = get32(p);
    p += 4;
    if (ne > RAFT_MAX_MSG_ENTRIES) return RCODEC_EMALFORMED;
    /* every entry needs at least its header: bound the count by the bytes present before
     * allocating anything in proportion to it */
    if ((size_t)ne * ENTRY_HEADER_BYTES > (size_t)(end - p)) return RCODEC_EMALFORMED;
    if (ne > s->cap) {
        size_t ncap = s->cap ? s->cap : 64;
        while (ncap < ne)
            ncap *= 2;
        raft_entry *n = realloc(s->ents, ncap * sizeof(*n));
        if (!n) return RCODEC_ENOMEM;
        s->ents = n;
        s->cap = ncap;
    }
    for (uint32_t i = 0; i < ne; i++) {
        if ((size_t)(end - p) < ENTRY_HEADER_BYTES) return RCODEC_EMALFORMED;
        raft_entry *e = &s->ents[i];
        e->term = get64(p);
        e->index = get64(p + 8);
        uint8_t et = p[16];
        e->len = get32(p + 17);
        p += ENTRY_HEADER_BYTES;
        if (et > RAFT_ENTRY_CONF_CHANGE) return RCODEC_EMALFORMED;
        e->type = (raft_entry_type)et;
        if ((size_t)(end - p) < e->len) return RCODEC_EMALFORMED;
        e->data = e->len ? p : NULL;
        p += e->len;
    }
    if (p != end) return RCODEC_EMALFORMED;
    m->n_entries = ne;
    m->entries = ne ? s->ents : NULL;
    return 0;
}

int rcodec_batch_next(const uint8_t *p, size_t len, size_t *off, uint32_t *left, raft_message *m,
                      rcodec_scratch *s)
{
    if (*off == 0) {
        if (len < 4) return RCODEC_EMALFORMED;
        *left = get32(p);
        *off = 4;
    }
    if (*left == 0) return *off == len ? 0 : RCODEC_EMALFORMED;
    if (len - *off < 4) return RCODEC_EMALFORMED;
    uint32_t ml = get32(p + *off);
    if (len - *off - 4 < ml) return RCODEC_EMALFORMED;
    int rc = rcodec_msg_decode(p + *off + 4, ml, m, s);
    if (rc < 0) return rc;
    *off += 4 + (size_t)ml;
    (*left)--;
    return 1;
}
