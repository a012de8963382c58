/* frame.c — peer-transport frames: header, CRC32C, incremental decode, handshake. */
#include "net/frame.h"

#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/crc32c.h"

const char *frame_strerror(int err)
{
    switch (err) {
#define FRAME_X_CASE(name, code, text)                                                             \
    case name: return text;
        FRAME_ERRORS(FRAME_X_CASE)
#undef FRAME_X_CASE
    case FRAME_OK: return "ok";
    case FRAME_INCOMPLETE: return "incomplete frame";
    default: return "unknown frame error";
    }
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v >> 32));
    put_u32(p + 4, (uint32_t)v);
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

static uint32_t frame_crc(const uint8_t *hdr, const void *payload, uint32_t len)
{
    uint32_t c = crc32c(0, hdr, 12);
    return len ? crc32c(c, payload, len) : c;
}

void frame_write_header(uint8_t hdr[FRAME_HEADER_BYTES], uint8_t type, const void *payload,
                        uint32_t len)
{
    SYN_ASSERT(type != 0);
    SYN_ASSERT_CMP(len, <=, FRAME_MAX_PAYLOAD_HARD);
    SYN_ASSERT(len == 0 || payload != NULL);
    memcpy(hdr, FRAME_MAGIC, 4);
    hdr[4] = FRAME_VERSION;
    hdr[5] = type;
    put_u16(hdr + 6, 0);
    put_u32(hdr + 8, len);
    put_u32(hdr + 12, frame_crc(hdr, payload, len));
}

long frame_encode(uint8_t *out, size_t cap, uint8_t type, const void *payload, uint32_t len)
{
    if (cap < FRAME_HEADER_BYTES || cap - FRAME_HEADER_BYTES < len) return FRAME_ERR_NOSPACE;
    frame_write_header(out, type, payload, len);
    if (len) memmove(out + FRAME_HEADER_BYTES, payload, len);
    return (long)(FRAME_HEADER_BYTES + (size_t)len);
}

int frame_decode(const uint8_t *buf, size_t len, uint32_t max_payload, frame *f, size_t *consumed,
                 size_t *need)
{
    SYN_ASSERT(f != NULL && consumed != NULL);
    SYN_ASSERT(buf != NULL || len == 0);
    *consumed = 0;
    if (max_payload == 0) max_payload = FRAME_MAX_PAYLOAD_DEFAULT;
    if (max_payload > FRAME_MAX_PAYLOAD_HARD) max_payload = FRAME_MAX_PAYLOAD_HARD;

    if (len == 0) {
        if (need) need[0] = FRAME_HEADER_BYTES;
        return FRAME_INCOMPLETE;
    }
    /* judge each header field as soon as its bytes are present */
    size_t m = len < 4 ? len : 4;
    if (memcmp(buf, FRAME_MAGIC, m) != 0) return FRAME_ERR_MAGIC;
    if (len > 4 && buf[4] != FRAME_VERSION) return FRAME_ERR_VERSION;
    if (len > 5 && buf[5] == 0) return FRAME_ERR_TYPE;
    if (len > 6 && buf[6] != 0) return FRAME_ERR_RESERVED;
    if (len > 7 && buf[7] != 0) return FRAME_ERR_RESERVED;
    if (len < 12) {
        if (need) need[0] = FRAME_HEADER_BYTES - len; /* at least */
        return FRAME_INCOMPLETE;
    }
    uint32_t plen = get_u32(buf + 8);
    if (plen > max_payload) return FRAME_ERR_TOO_BIG;
    size_t total = FRAME_HEADER_BYTES + (size_t)plen;
    if (len < total) {
        if (need) need[0] = total - len;
        return FRAME_INCOMPLETE;
    }
    if (frame_crc(buf, buf + FRAME_HEADER_BYTES, plen) != get_u32(buf + 12))
        return FRAME_ERR_CHECKSUM;
    f->type = buf[5];
    f->len = plen;
    f->payload = buf + FRAME_HEADER_BYTES;
    *consumed = total;
    if (need) need[0] = 0;
    return FRAME_OK;
}

/* ---- handshake ---- */

static uint8_t copy_str(char *dst, size_t max, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n > max) n = max;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
    return (uint8_t)n;
}

void frame_hello_init(frame_hello *h, uint64_t node_id, uint64_t to_node_id, const char *cluster_id,
                      const char *client_addr)
{
    memset(h, 0, sizeof *h);
    h->version = FRAME_PEER_PROTOCOL_VERSION;
    h->node_id = node_id;
    h->to_node_id = to_node_id;
    h->cluster_id_len = copy_str(h->cluster_id, FRAME_CLUSTER_ID_MAX, cluster_id);
    h->client_addr_len = copy_str(h->client_addr, FRAME_ADDR_MAX, client_addr);
}

/* Layout: u16 version, u16 reserved (0), u64 node_id, u64 to_node_id,
 * u8 cluster_id_len, cluster_id, u8 client_addr_len, client_addr,
 * (protocol 2) u8 flags, u64 incarnation, nonce[FRAME_NONCE_BYTES], data_id[16],
 * then, optional (decoders before it ignore it), u8 relay_addr_len, relay_addr. */
long frame_hello_encode(const frame_hello *h, uint8_t *out, size_t cap)
{
    SYN_ASSERT(h->cluster_id_len <= FRAME_CLUSTER_ID_MAX);
    size_t n = 2 + 2 + 8 + 8 + 1 + (size_t)h->cluster_id_len + 1 + (size_t)h->client_addr_len + 1 +
               8 + FRAME_NONCE_BYTES + FRAME_DATA_ID_BYTES + 1 + (size_t)h->relay_addr_len;
    if (cap < n) return FRAME_ERR_NOSPACE;
    uint8_t *p = out;
    put_u16(p, h->version);
    put_u16(p + 2, 0);
    put_u64(p + 4, h->node_id);
    put_u64(p + 12, h->to_node_id);
    p += 20;
    *p++ = h->cluster_id_len;
    memcpy(p, h->cluster_id, h->cluster_id_len);
    p += h->cluster_id_len;
    *p++ = h->client_addr_len;
    memcpy(p, h->client_addr, h->client_addr_len);
    p += h->client_addr_len;
    *p++ = h->flags;
    put_u64(p, h->incarnation);
    p += 8;
    memcpy(p, h->nonce, FRAME_NONCE_BYTES);
    p += FRAME_NONCE_BYTES;
    memcpy(p, h->data_id, FRAME_DATA_ID_BYTES);
    p += FRAME_DATA_ID_BYTES;
    *p++ = h->relay_addr_len;
    memcpy(p, h->relay_addr, h->relay_addr_len);
    p += h->relay_addr_len;
    SYN_ASSERT((size_t)(p - out) == n);
    return (long)n;
}

int frame_hello_decode(const uint8_t *p, size_t len, frame_hello *out)
{
    memset(out, 0, sizeof *out);
    if (len < 2) return FRAME_ERR_HELLO_MALFORMED;
    out->version = get_u16(p);
    if (len < 21) return FRAME_ERR_HELLO_MALFORMED;
    out->node_id = get_u64(p + 4);
    out->to_node_id = get_u64(p + 12);
    size_t at = 20;
    size_t n = p[at++];
    if (n > FRAME_CLUSTER_ID_MAX || len - at < n + 1) return FRAME_ERR_HELLO_MALFORMED;
    memcpy(out->cluster_id, p + at, n);
    out->cluster_id_len = (uint8_t)n;
    at += n;
    n = p[at++];
    if (len - at < n) return FRAME_ERR_HELLO_MALFORMED;
    memcpy(out->client_addr, p + at, n);
    out->client_addr_len = (uint8_t)n;
    at += n;
    /* protocol 1 stops here; frame_hello_check then names the version difference */
    if (out->version < 2) return FRAME_OK;
    if (len - at < 1 + 8 + FRAME_NONCE_BYTES + FRAME_DATA_ID_BYTES)
        return FRAME_ERR_HELLO_MALFORMED;
    out->flags = p[at++];
    out->incarnation = get_u64(p + at);
    at += 8;
    memcpy(out->nonce, p + at, FRAME_NONCE_BYTES);
    at += FRAME_NONCE_BYTES;
    memcpy(out->data_id, p + at, FRAME_DATA_ID_BYTES);
    at += FRAME_DATA_ID_BYTES;
    if (len - at < 1) return FRAME_OK; /* a hello without the optional relay address */
    n = p[at++];
    if (len - at < n) return FRAME_ERR_HELLO_MALFORMED;
    memcpy(out->relay_addr, p + at, n);
    out->relay_addr_len = (uint8_t)n;
    return FRAME_OK;
}

/* Quotes s[0..n) for a log line: printable ASCII as is, anything else as \xHH. */
static void quote(char *dst, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
            dst[o++] = (char)c;
        else
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
    }
    dst[o] = '\0';
}

int frame_hello_check(const frame_hello *mine, const frame_hello *theirs, char *err,
                      size_t err_size)
{
    SYN_ASSERT(err != NULL && err_size > 0);
    unsigned long long me = mine->node_id, them = theirs->node_id;
    err[0] = '\0';
    if (theirs->version != mine->version) {
        snprintf(err, err_size,
                 "peer node %llu speaks peer protocol version %u, this node (%llu) "
                 "version %u",
                 them, theirs->version, me, mine->version);
        return FRAME_ERR_HELLO_VERSION;
    }
    if (theirs->cluster_id_len != mine->cluster_id_len ||
        memcmp(theirs->cluster_id, mine->cluster_id, mine->cluster_id_len) != 0) {
        char a[FRAME_CLUSTER_ID_MAX * 4 + 1], b[FRAME_CLUSTER_ID_MAX * 4 + 1];
        quote(a, sizeof a, theirs->cluster_id, theirs->cluster_id_len);
        quote(b, sizeof b, mine->cluster_id, mine->cluster_id_len);
        snprintf(err, err_size,
                 "peer node %llu belongs to cluster '%s', this node (%llu) to cluster '%s'", them,
                 a, me, b);
        return FRAME_ERR_HELLO_CLUSTER;
    }
    if (them == 0 || them == me) {
        snprintf(err, err_size, "peer claims node id %llu, which is %s", them,
                 them == 0 ? "invalid" : "this node's own id");
        return FRAME_ERR_HELLO_NODE;
    }
    if (mine->to_node_id != 0 && them != mine->to_node_id) {
        snprintf(err, err_size, "expected node %llu at this address, but node %llu answered",
                 (unsigned long long)mine->to_node_id, them);
        return FRAME_ERR_HELLO_NODE;
    }
    if (theirs->to_node_id != 0 && theirs->to_node_id != me) {
        snprintf(err, err_size, "peer node %llu expected node %llu here, but this is node %llu",
                 them, (unsigned long long)theirs->to_node_id, me);
        return FRAME_ERR_HELLO_NODE;
    }
    return FRAME_OK;
}
