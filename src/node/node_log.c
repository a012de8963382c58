/* node_log.c — the node's persisted log and latest snapshot, served to the consensus core
 * through raft_storage callbacks, plus the entry payload encoding.
 *
 * Nothing of the log is copied in memory here: the core keeps its recent tail itself
 * (mem_retain_entries); older entries (a lagging follower, a restart) are read back from the WAL
 * segments and terms come from the WAL's term runs. The snapshot is read from its file. */
#include "node/node_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/assert.h"

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (i * 8));
}
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* --- raft_storage callbacks: the WAL is the log ---------------------------------------------- */

static int st_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, raft_entry *out,
                      size_t cap, size_t *n_out)
{
    node *n = ud;
    if (lo <= n->snap_meta.index) return -RAFT_ECOMPACTED;
    if (lo >= hi || hi - 1 > wal_last_index(n->wal)) return -RAFT_EUNAVAIL;
    if (cap > n->rd_cap) {
        struct wal_entry *t = realloc(n->rd_tmp, cap * sizeof(*t));
        if (!t) return -RAFT_ENOMEM;
        n->rd_tmp = t;
        n->rd_cap = cap;
    }
    size_t k = 0;
    char err[512];
    if (wal_read_entries(n->wal, lo, hi, max_bytes, n->rd_tmp, cap, &k, err, sizeof(err)) != 0) {
        syn_log(SYN_LOG_WARN, "reading log entries %llu..%llu back: %s", (unsigned long long)lo,
                (unsigned long long)(hi - 1), err);
        return -RAFT_EUNAVAIL;
    }
    for (size_t i = 0; i < k; i++) {
        const struct wal_entry *w = &n->rd_tmp[i];
        out[i] = (raft_entry){w->term, w->index, (raft_entry_type)w->type, w->len, w->data};
    }
    *n_out = k;
    return 0;
}

static int st_term(void *ud, uint64_t index, uint64_t *term_out)
{
    node *n = ud;
    if (index == n->snap_meta.index) {
        *term_out = n->snap_meta.term;
        return 0;
    }
    if (index < n->snap_meta.index) return -RAFT_ECOMPACTED;
    return wal_term_at(n->wal, index, term_out) == 0 ? 0 : -RAFT_EUNAVAIL;
}

static uint64_t st_first(void *ud)
{
    node *n = ud;
    return n->snap_meta.index + 1;
}

static uint64_t st_last(void *ud)
{
    node *n = ud;
    return wal_last_index(n->wal);
}

/* The nsnap_* stream: header and conf blob from memory, then the dataset from the file. */
static int st_snapshot(void *ud, uint64_t offset, uint8_t *buf, uint32_t cap,
                       raft_snapshot_meta *meta_out, uint32_t *len_out, bool *done_out)
{
    node *n = ud;
    if (!n->snap_meta.index || n->snap_fd < 0 || !n->snap_conf) return -RAFT_EUNAVAIL;
    uint8_t hdr[NSNAP_HDR_BYTES];
    nsnap_header(hdr, n->snap_conf_len);
    uint64_t pre = NSNAP_HDR_BYTES + (uint64_t)n->snap_conf_len, total = pre + n->snap_len;
    if (offset > total) return -RAFT_EINVAL;
    uint64_t left = total - offset;
    uint32_t len = left < cap ? (uint32_t)left : cap;
    uint32_t got = 0;
    for (; got < len && offset + got < pre; got++) {
        uint64_t o = offset + got;
        buf[got] = o < NSNAP_HDR_BYTES ? hdr[o] : n->snap_conf[o - NSNAP_HDR_BYTES];
    }
    while (got < len) {
        uint64_t at = n->snap_off + (offset + got - pre);
        ssize_t r = pread(n->snap_fd, buf + got, len - got, (off_t)at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -RAFT_EUNAVAIL; /* retried later */
        got += (uint32_t)r;
    }
    *meta_out = n->snap_meta;
    *len_out = len;
    *done_out = offset + len >= total;
    return 0;
}

void nlog_deinit(node *n)
{
    free(n->rd_tmp);
    n->rd_tmp = NULL;
    n->rd_cap = 0;
    if (n->snap_fd >= 0) close(n->snap_fd);
    n->snap_fd = -1;
    free(n->snap_conf);
    n->snap_conf = NULL;
    free(n->bg_conf);
    n->bg_conf = NULL;
}

void nlog_storage(node *n, raft_storage *st)
{
    st->ud = n;
    st->entries = st_entries;
    st->term = st_term;
    st->first_index = st_first;
    st->last_index = st_last;
    st->snapshot_chunk = st_snapshot;
}

/* --- snapshot conf blob: membership + peer addresses ------------------------------------- */

size_t nconf_encode(const node *n, const raft_membership *m, uint8_t *out, size_t cap)
{
    size_t need = 8 + 8 * ((size_t)m->n_voters + m->n_learners) + 4;
    for (int i = 0; i < NODE_ADDRS_MAX; i++)
        if (n->addrs[i].id) need += 8 + 2 + strlen(n->addrs[i].addr);
    if (need > cap) return 0;
    uint8_t *p = out;
    put32(p, m->n_voters), put32(p + 4, m->n_learners), p += 8;
    for (uint32_t i = 0; i < m->n_voters; i++)
        put64(p, m->voters[i]), p += 8;
    for (uint32_t i = 0; i < m->n_learners; i++)
        put64(p, m->learners[i]), p += 8;
    uint8_t *cnt = p;
    p += 4;
    uint32_t k = 0;
    for (int i = 0; i < NODE_ADDRS_MAX; i++) {
        if (!n->addrs[i].id) continue;
        size_t l = strlen(n->addrs[i].addr);
        put64(p, n->addrs[i].id), p += 8;
        p[0] = (uint8_t)(l >> 8), p[1] = (uint8_t)l, p += 2;
        memcpy(p, n->addrs[i].addr, l), p += l;
        k++;
    }
    put32(cnt, k);
    return (size_t)(p - out);
}

int nconf_decode(const uint8_t *p, size_t len, raft_membership *m, nconf_addr *addrs,
                 size_t *n_addrs)
{
    const uint8_t *end = p + len;
    memset(m, 0, sizeof(*m));
    *n_addrs = 0;
    if (len < 12) return -1;
    m->n_voters = get32(p), m->n_learners = get32(p + 4), p += 8;
    if (m->n_voters > RAFT_MAX_MEMBERS || m->n_learners > RAFT_MAX_MEMBERS) return -1;
    if ((size_t)(end - p) < 8 * ((size_t)m->n_voters + m->n_learners) + 4) return -1;
    for (uint32_t i = 0; i < m->n_voters; i++)
        m->voters[i] = get64(p), p += 8;
    for (uint32_t i = 0; i < m->n_learners; i++)
        m->learners[i] = get64(p), p += 8;
    uint32_t k = get32(p);
    p += 4;
    if (k > NODE_ADDRS_MAX) return -1;
    for (uint32_t i = 0; i < k; i++) {
        if (end - p < 10) return -1;
        uint64_t id = get64(p);
        size_t l = (size_t)p[8] << 8 | p[9];
        p += 10;
        if ((size_t)(end - p) < l || l >= NODE_ADDR_MAX || id == 0) return -1;
        addrs[i].id = id;
        memcpy(addrs[i].addr, p, l);
        addrs[i].addr[l] = '\0';
        p += l;
    }
    *n_addrs = k;
    return p == end ? 0 : -1;
}

void nconf_apply_addrs(node *n, const nconf_addr *addrs, size_t n_addrs)
{
    for (size_t i = 0; i < n_addrs; i++)
        node_set_addr(n, addrs[i].id, addrs[i].addr);
}

void nsnap_header(uint8_t out[NSNAP_HDR_BYTES], uint32_t conf_len)
{
    memcpy(out, NSNAP_MAGIC, 4);
    put32(out + 4, conf_len);
}

int nsnap_parse(const uint8_t *p, size_t len, const uint8_t **conf, uint32_t *conf_len,
                const uint8_t **data, size_t *data_len)
{
    if (len < NSNAP_HDR_BYTES || memcmp(p, NSNAP_MAGIC, 4) != 0) return -1;
    uint32_t cl = get32(p + 4);
    if (cl > NCONF_MAX_BYTES || cl > len - NSNAP_HDR_BYTES) return -1;
    *conf = p + NSNAP_HDR_BYTES;
    *conf_len = cl;
    *data = p + NSNAP_HDR_BYTES + cl;
    *data_len = len - NSNAP_HDR_BYTES - cl;
    return 0;
}

/* --- entry payloads ------------------------------------------------------------------------ */

void nentry_put_args(resp_buf *b, int argc, const data_arg *argv)
{
    size_t need = 4;
    for (int i = 0; i < argc; i++)
        need += 4 + argv[i].len;
    resp_buf_reserve(b, need);
    uint8_t *p = (uint8_t *)b->data + b->len;
    put32(p, (uint32_t)argc), p += 4;
    for (int i = 0; i < argc; i++) {
        put32(p, (uint32_t)argv[i].len), p += 4;
        memcpy(p, argv[i].ptr, argv[i].len), p += argv[i].len;
    }
    b->len += need;
}

int nentry_get_args(const uint8_t *p, size_t len, size_t *off, data_arg **argv, int *cap)
{
    if (*off == len) return 0;
    size_t o = *off;
    if (len - o < 4) return -1;
    uint32_t k = get32(p + o);
    o += 4;
    if (k == 0 || k > (len - o) / 4) return -1;
    if ((int)k > *cap) {
        data_arg *na = realloc(*argv, k * sizeof(*na));
        if (!na) return -1;
        *argv = na;
        *cap = (int)k;
    }
    for (uint32_t i = 0; i < k; i++) {
        if (len - o < 4) return -1;
        uint32_t l = get32(p + o);
        o += 4;
        if (len - o < l) return -1;
        (*argv)[i].ptr = (const char *)p + o;
        (*argv)[i].len = l;
        o += l;
    }
    *off = o;
    return (int)k;
}

void dbkey_put(resp_buf *b, int db, const char *key, size_t len)
{
    uint8_t hdr[8];
    put32(hdr, (uint32_t)db);
    put32(hdr + 4, (uint32_t)len);
    resp_buf_append(b, hdr, sizeof(hdr));
    resp_buf_append(b, key, len);
}

bool dbkey_next(const resp_buf *b, size_t *off, int *db, const char **key, size_t *len)
{
    const uint8_t *p = (const uint8_t *)b->data + *off;
    if (*off + 8 > b->len) return false;
    *db = (int)get32(p);
    *len = get32(p + 4);
    *key = (const char *)p + 8;
    *off += 8 + *len;
    return true;
}

void nentry_wrap_db(resp_buf *b, int db)
{
    if (db == 0) return;
    size_t len = b->len;
    resp_buf_reserve(b, 5);
    memmove(b->data + 5, b->data, len);
    uint8_t *p = (uint8_t *)b->data;
    p[0] = NENTRY_DB;
    put32(p + 1, (uint32_t)db);
    b->len = len + 5;
}

void nentry_wrap_origin(resp_buf *b, const uint64_t origin[3], const void *data, size_t len)
{
    uint8_t h[25];
    h[0] = NENTRY_ORIGIN;
    for (int i = 0; i < 3; i++)
        put64(h + 1 + 8 * i, origin[i]);
    b->len = 0;
    resp_buf_append(b, h, sizeof(h));
    resp_buf_append(b, data, len);
}

int nentry_unwrap_origin(const uint8_t **p, size_t *len, uint64_t origin[3])
{
    origin[0] = origin[1] = origin[2] = 0;
    if (*len < 1 || (*p)[0] != NENTRY_ORIGIN) return 0;
    if (*len < 26 || (*p)[25] == NENTRY_ORIGIN) return -1;
    for (int i = 0; i < 3; i++)
        origin[i] = get64(*p + 1 + 8 * i);
    *p += 25;
    *len -= 25;
    return 0;
}

void nentry_wrap_repeat(resp_buf *b, uint32_t count)
{
    size_t len = b->len;
    resp_buf_reserve(b, 5);
    memmove(b->data + 5, b->data, len);
    uint8_t *p = (uint8_t *)b->data;
    p[0] = NENTRY_REPEAT;
    put32(p + 1, count);
    b->len = len + 5;
}

int nentry_unwrap_repeat(const uint8_t **p, size_t *len, uint32_t *count)
{
    if (*len < 6 || (*p)[0] != NENTRY_REPEAT || (*p)[5] != NENTRY_CMD) return -1;
    *count = get32(*p + 1);
    if (*count < 1 || *count > NODE_REPEAT_MAX) return -1;
    *p += 5;
    *len -= 5;
    return 0;
}

int nentry_unwrap_db(const uint8_t **p, size_t *len)
{
    if (*len < 1 || (*p)[0] != NENTRY_DB) return 0;
    if (*len < 6 || (*p)[5] == NENTRY_DB) return -1;
    uint32_t db = get32(*p + 1);
    if (db > INT32_MAX) return -1;
    *p += 5;
    *len -= 5;
    return (int)db;
}

void nentry_put_header(resp_buf *b, uint8_t type, int64_t now_ms)
{
    uint8_t h[9];
    h[0] = type;
    put64(h + 1, (uint64_t)now_ms);
    b->len = 0;
    resp_buf_append(b, h, sizeof(h));
}

int nentry_encode_cmd(resp_buf *b, int64_t now_ms, int argc, const data_arg *argv)
{
    nentry_put_header(b, NENTRY_CMD, now_ms);
    nentry_put_args(b, argc, argv);
    return 0;
}

int nentry_decode_cmd(node *n, const uint8_t *p, size_t len, int64_t *now_ms, int *argc)
{
    if (len < 13 || (p[0] != NENTRY_CMD && p[0] != NENTRY_CMD_OOM && p[0] != NENTRY_EXPIRE &&
                     p[0] != NENTRY_EVICT && p[0] != NENTRY_READ))
        return -1;
    *now_ms = (int64_t)get64(p + 1);
    size_t off = 9;
    int k = nentry_get_args(p, len, &off, &n->argv, &n->argv_cap);
    if (k <= 0 || off != len) return -1;
    *argc = k;
    return 0;
}

int nentry_head(const uint8_t *p, size_t len, data_arg *out, int max)
{
    if (len < 13 || (p[0] != NENTRY_CMD && p[0] != NENTRY_CMD_OOM && p[0] != NENTRY_EXPIRE &&
                     p[0] != NENTRY_EVICT))
        return 0;
    uint32_t argc = get32(p + 9);
    size_t off = 13;
    int k = 0;
    if (p[0] == NENTRY_EXPIRE) out[k++] = (data_arg){"expire", 6}; /* argv[0] is the key */
    if (p[0] == NENTRY_EVICT) out[k++] = (data_arg){"evict", 5};
    for (uint32_t i = 0; i < argc && k < max; i++) {
        if (len - off < 4) return 0;
        uint32_t l = get32(p + off);
        if (l > len - off - 4) return 0;
        out[k++] = (data_arg){(const char *)p + off + 4, l};
        off += 4 + l;
    }
    return k;
}

void nentry_encode_addr(resp_buf *b, raft_id id, const char *addr)
{
    size_t l = strlen(addr);
    b->len = 0;
    resp_buf_reserve(b, 1 + 8 + l);
    uint8_t *p = (uint8_t *)b->data;
    p[0] = NENTRY_ADDR;
    put64(p + 1, id);
    memcpy(p + 9, addr, l);
    b->len = 9 + l;
}

int nentry_decode_addr(const uint8_t *p, size_t len, raft_id *id, char *addr, size_t cap)
{
    if (len < 9 || p[0] != NENTRY_ADDR || len - 9 >= cap) return -1;
    *id = get64(p + 1);
    memcpy(addr, p + 9, len - 9);
    addr[len - 9] = '\0';
    return *id ? 0 : -1;
}
