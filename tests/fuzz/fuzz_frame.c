// fuzz-sources: src/net/frame.c src/util/crc32c.c src/util/assert.c
/* fuzz_frame.c — libFuzzer target for the peer frame decoder and the handshake.
 *
 * Byte 0 picks the mode:
 *  even: the rest is a raw byte stream from a peer. Decoding it whole and in fragments
 *        (sizes drawn from byte 1) must give the same frames and the same final error; each
 *        frame lies inside the buffer and re-encodes to exactly the bytes it was decoded from;
 *        HELLO payloads decode, re-encode and check without crashing.
 *  odd:  the rest is a list of records [type][len][len bytes] that are encoded into a valid
 *        stream (checksums right, so the fuzzer gets past them), then byte 1 names one byte to
 *        corrupt (0 = none). Uncorrupted, the decoded frames must equal the records; corrupted,
 *        decoding must fail or still return only well-formed frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) __builtin_trap();                                                                \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 512

typedef struct {
    int n;
    uint8_t type[MAX_FRAMES];
    uint32_t len[MAX_FRAMES];
    size_t off[MAX_FRAMES]; /* payload offset in the stream */
    int end;                /* FRAME_INCOMPLETE or the error that stopped decoding */
    size_t left;
} result;

static void check_hello(const frame *f)
{
    frame_hello h, h2, me;
    int r = frame_hello_decode(f->payload, f->len, &h);
    CHECK(r == FRAME_OK || r == FRAME_ERR_HELLO_MALFORMED);
    if (r != FRAME_OK) return;
    CHECK(h.cluster_id_len <= FRAME_CLUSTER_ID_MAX && h.cluster_id[h.cluster_id_len] == '\0');
    CHECK(h.client_addr[h.client_addr_len] == '\0');
    uint8_t buf[FRAME_HELLO_MAX_BYTES];
    long n = frame_hello_encode(&h, buf, sizeof buf);
    /* the encoder writes protocol 2's fields (a protocol 1 hello decoded without them) and the
     * optional relay address (length byte even when empty, an older hello has none): compared
     * up to there */
    size_t tail = 1 + (size_t)h.relay_addr_len;
    size_t cmp = h.version >= 2
                     ? (size_t)n - tail
                     : (size_t)n - tail - (1 + 8 + FRAME_NONCE_BYTES + FRAME_DATA_ID_BYTES);
    CHECK(n > 0 && cmp <= f->len && memcmp(buf + 4, f->payload + 4, cmp - 4) == 0);
    CHECK(frame_hello_decode(buf, (size_t)n, &h2) == FRAME_OK);
    CHECK(h2.version == h.version && h2.node_id == h.node_id && h2.to_node_id == h.to_node_id);
    frame_hello_init(&me, 1, 2, "cluster", "127.0.0.1:7001");
    char err[300];
    r = frame_hello_check(&me, &h, err, sizeof err);
    CHECK(r == FRAME_OK || r == FRAME_ERR_HELLO_VERSION || r == FRAME_ERR_HELLO_CLUSTER ||
          r == FRAME_ERR_HELLO_NODE);
    CHECK(memchr(err, '\0', sizeof err) != NULL && strchr(err, '\n') == NULL);
    CHECK((r == FRAME_OK) == (err[0] == '\0'));
}

/* Decodes s[0..len), fed in fragments (frag_max 0 = whole); exact-size copies catch overreads. */
static void decode_stream(const uint8_t *s, size_t len, unsigned frag_max, unsigned seed,
                          result *res, int deep)
{
    memset(res, 0, sizeof *res);
    size_t start = 0, have = 0;
    uint32_t x = seed | 1;
    res->end = FRAME_INCOMPLETE;
    while (have < len) {
        size_t step = len - have;
        if (frag_max) {
            x = x * 1103515245u + 12345u;
            size_t k = 1 + (x >> 16) % frag_max;
            if (k < step) step = k;
        }
        have += step;
        for (;;) {
            size_t avail = have - start;
            uint8_t *copy = malloc(avail ? avail : 1);
            CHECK(copy != NULL);
            if (avail) memcpy(copy, s + start, avail);
            frame f;
            size_t consumed = 99, need = 0;
            int r = frame_decode(avail ? copy : NULL, avail, 4096, &f, &consumed, &need);
            if (r != FRAME_OK) {
                free(copy);
                CHECK(consumed == 0);
                if (r == FRAME_INCOMPLETE) {
                    CHECK(need > 0);
                    break;
                }
                CHECK(r < 0 && frame_strerror(r)[0] != '\0');
                res->end = r;
                res->left = len - start;
                return;
            }
            CHECK(consumed == FRAME_HEADER_BYTES + (size_t)f.len && consumed <= avail);
            CHECK(f.payload == copy + FRAME_HEADER_BYTES && f.type != 0 && f.len <= 4096);
            /* re-encoding gives back exactly the decoded bytes */
            uint8_t *re = malloc(consumed);
            CHECK(re != NULL);
            CHECK(frame_encode(re, consumed, f.type, f.payload, f.len) == (long)consumed);
            CHECK(memcmp(re, copy, consumed) == 0);
            free(re);
            if (deep && f.type == FRAME_T_HELLO) check_hello(&f);
            if (res->n < MAX_FRAMES) {
                res->type[res->n] = f.type;
                res->len[res->n] = f.len;
                res->off[res->n] = start + FRAME_HEADER_BYTES;
                res->n++;
            }
            start += consumed;
            free(copy);
        }
    }
    res->left = len - start;
}

static void same(const result *a, const result *b)
{
    CHECK(a->n == b->n && a->end == b->end && a->left == b->left);
    for (int i = 0; i < a->n; i++)
        CHECK(a->type[i] == b->type[i] && a->len[i] == b->len[i] && a->off[i] == b->off[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    uint8_t mode = data[0], aux = data[1];
    data += 2;
    size -= 2;
    static result whole, split;
    if ((mode & 1) == 0) {
        decode_stream(data, size, 0, 0, &whole, 1);
        decode_stream(data, size, 1 + aux % 40, mode, &split, 0);
        same(&whole, &split);
        /* the raw input as a hello payload */
        frame_hello h;
        int r = frame_hello_decode(data, size, &h);
        CHECK(r == FRAME_OK || r == FRAME_ERR_HELLO_MALFORMED);
        return 0;
    }
    /* build a valid stream from records */
    uint8_t *s = malloc(size * (FRAME_HEADER_BYTES + 1) + FRAME_HEADER_BYTES + 1);
    CHECK(s != NULL);
    size_t slen = 0, i = 0;
    int nrec = 0;
    uint8_t rtype[MAX_FRAMES];
    uint32_t rlen[MAX_FRAMES];
    while (i + 2 <= size && nrec < MAX_FRAMES) {
        uint8_t t = data[i] ? data[i] : 1;
        size_t n = data[i + 1];
        i += 2;
        if (n > size - i) n = size - i;
        long w = frame_encode(s + slen, FRAME_HEADER_BYTES + n, t, data + i, (uint32_t)n);
        CHECK(w == (long)(FRAME_HEADER_BYTES + n));
        rtype[nrec] = t;
        rlen[nrec] = (uint32_t)n;
        nrec++;
        slen += (size_t)w;
        i += n;
    }
    if (aux != 0 && slen > 0) s[(aux * 7u) % slen] ^= (uint8_t)(aux | 1);
    decode_stream(s, slen, 0, 0, &whole, 1);
    decode_stream(s, slen, 1 + aux % 23, mode, &split, 0);
    same(&whole, &split);
    if (aux == 0) {
        CHECK(whole.end == FRAME_INCOMPLETE && whole.left == 0 && whole.n == nrec);
        for (int k = 0; k < nrec; k++)
            CHECK(whole.type[k] == rtype[k] && whole.len[k] == rlen[k]);
    } else {
        CHECK(whole.n <= nrec);
    }
    free(s);
    return 0;
}
