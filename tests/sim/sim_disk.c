/* sim_disk.c — fake disk with fsync, torn writes and crash (see sim_disk.h). */
#include "sim_disk.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *dup_bytes(const void *p, uint32_t len)
{
    if (len == 0) return NULL;
    uint8_t *c = malloc(len);
    if (c) memcpy(c, p, len);
    return c;
}

static void log_truncate_from(sim_disk_log *l, uint64_t index)
{
    while (l->len > 0 && l->base + l->len >= index) {
        free(l->e[l->len - 1].data);
        l->len--;
    }
}

static void log_clear(sim_disk_log *l, uint64_t base)
{
    log_truncate_from(l, 0);
    l->base = base;
}

/* Puts a copy of e at e->index, replacing any entry >= that index. Entries at or below the
 * base (compacted) are ignored. */
static int log_put(sim_disk_log *l, const sim_disk_entry *e)
{
    if (e->index <= l->base) return 0;
    log_truncate_from(l, e->index);
    if (e->index != l->base + l->len + 1) return -1; /* a gap: the caller broke the contract */
    if (l->len == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 256;
        sim_disk_entry *n = realloc(l->e, ncap * sizeof *n);
        if (!n) return -1;
        l->e = n;
        l->cap = ncap;
    }
    sim_disk_entry c = *e;
    c.data = dup_bytes(e->data, e->len);
    if (e->len && !c.data) return -1;
    l->e[l->len++] = c;
    return 0;
}

/* Drops entries <= index (they are in the snapshot). */
static void log_compact(sim_disk_log *l, uint64_t index)
{
    if (index <= l->base) return;
    if (index >= l->base + l->len) {
        log_clear(l, index);
        return;
    }
    size_t drop = index - l->base;
    for (size_t i = 0; i < drop; i++)
        free(l->e[i].data);
    memmove(l->e, l->e + drop, (l->len - drop) * sizeof *l->e);
    l->len -= drop;
    l->base = index;
}

static void image_free(sim_disk_image *img)
{
    log_clear(&img->log, 0);
    free(img->log.e);
    free(img->snap_data);
    memset(img, 0, sizeof *img);
}

static int image_set_snapshot(sim_disk_image *img, const raft_snapshot_meta *m, const uint8_t *data,
                              uint32_t len, bool reset_log)
{
    uint8_t *c = dup_bytes(data, len);
    if (len && !c) return -1;
    free(img->snap_data);
    img->snap_data = c;
    img->snap_len = len;
    img->snap = *m;
    if (reset_log)
        log_clear(&img->log, m->index);
    else
        log_compact(&img->log, m->index);
    return 0;
}

static int image_copy(sim_disk_image *dst, const sim_disk_image *src)
{
    image_free(dst);
    dst->hs = src->hs;
    if (image_set_snapshot(dst, &src->snap, src->snap_data, src->snap_len, true) != 0) return -1;
    dst->log.base = src->log.base;
    for (size_t i = 0; i < src->log.len; i++)
        if (log_put(&dst->log, &src->log.e[i]) != 0) return -1;
    return 0;
}

static void op_free(sim_disk_op *op)
{
    free(op->entry.data);
    free(op->snap_data);
}

static int apply_op(sim_disk *d, sim_disk_image *img, const sim_disk_op *op, bool durable)
{
    switch (op->kind) {
    case SIM_DISK_APPEND: return log_put(&img->log, &op->entry);
    case SIM_DISK_HS:
        img->hs = op->hs;
        if (durable && d->on_durable_hs) d->on_durable_hs(d->ud, &op->hs);
        return 0;
    case SIM_DISK_SNAPSHOT:
        return image_set_snapshot(img, &op->snap, op->snap_data, op->snap_len, true);
    case SIM_DISK_END: return 0;
    }
    return -1;
}

static int push_op(sim_disk *d, sim_disk_op *op)
{
    if (apply_op(d, &d->vol, op, false) != 0) {
        op_free(op);
        return -1;
    }
    if (d->n_pending == d->cap_pending) {
        size_t ncap = d->cap_pending ? d->cap_pending * 2 : 64;
        sim_disk_op *n = realloc(d->pending, ncap * sizeof *n);
        if (!n) {
            op_free(op);
            return -1;
        }
        d->pending = n;
        d->cap_pending = ncap;
    }
    op->batch = d->batch;
    d->pending[d->n_pending++] = *op;
    return 0;
}

void sim_disk_init(sim_disk *d)
{
    memset(d, 0, sizeof *d);
}

void sim_disk_deinit(sim_disk *d)
{
    for (size_t i = 0; i < d->n_pending; i++)
        op_free(&d->pending[i]);
    free(d->pending);
    image_free(&d->durable);
    image_free(&d->vol);
    memset(d, 0, sizeof *d);
}

void sim_disk_wipe(sim_disk *d)
{
    void (*cb)(void *, const raft_hard_state *) = d->on_durable_hs;
    void *ud = d->ud;
    sim_disk_deinit(d);
    d->on_durable_hs = cb;
    d->ud = ud;
}

int sim_disk_end_batch(sim_disk *d)
{
    sim_disk_op op = {.kind = SIM_DISK_END};
    int rc = push_op(d, &op);
    d->batch++;
    return rc;
}

int sim_disk_append(sim_disk *d, const raft_entry *e)
{
    sim_disk_op op = {.kind = SIM_DISK_APPEND};
    op.entry = (sim_disk_entry){.index = e->index,
                                .term = e->term,
                                .type = (uint8_t)e->type,
                                .len = e->len,
                                .data = dup_bytes(e->data, e->len)};
    if (e->len && !op.entry.data) return -1;
    return push_op(d, &op);
}

int sim_disk_set_hs(sim_disk *d, const raft_hard_state *hs)
{
    sim_disk_op op = {.kind = SIM_DISK_HS, .hs = *hs};
    return push_op(d, &op);
}

int sim_disk_install_snapshot(sim_disk *d, const raft_snapshot_meta *m, const uint8_t *data,
                              uint32_t len)
{
    sim_disk_op op = {.kind = SIM_DISK_SNAPSHOT, .snap = *m, .snap_len = len};
    op.snap_data = dup_bytes(data, len);
    if (len && !op.snap_data) return -1;
    return push_op(d, &op);
}

int sim_disk_local_snapshot(sim_disk *d, const raft_snapshot_meta *m, const uint8_t *data,
                            uint32_t len)
{
    if (image_set_snapshot(&d->durable, m, data, len, false) != 0) return -1;
    return image_set_snapshot(&d->vol, m, data, len, false);
}

int sim_disk_sync(sim_disk *d)
{
    int rc = 0;
    for (size_t i = 0; i < d->n_pending; i++) {
        if (rc == 0 && apply_op(d, &d->durable, &d->pending[i], true) != 0) rc = -1;
        op_free(&d->pending[i]);
    }
    d->ops_base += d->n_pending;
    d->n_pending = 0;
    return rc;
}

uint64_t sim_disk_mark(const sim_disk *d)
{
    return d->ops_base + d->n_pending;
}

int sim_disk_sync_upto(sim_disk *d, uint64_t mark)
{
    if (mark <= d->ops_base) return 0;
    size_t k = (size_t)(mark - d->ops_base);
    if (k > d->n_pending) k = d->n_pending;
    if (k == 0) return 0;
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        if (rc == 0 && apply_op(d, &d->durable, &d->pending[i], true) != 0) rc = -1;
        op_free(&d->pending[i]);
    }
    memmove(d->pending, d->pending + k, (d->n_pending - k) * sizeof *d->pending);
    d->n_pending -= k;
    d->ops_base += k;
    return rc;
}

int sim_disk_crash(sim_disk *d, sim_rng *rng, bool torn_prefix, size_t *kept_records)
{
    /* How many pending records are readable: the kernel wrote them in order and the power
     * went at a random point, or (one crash in four) each sector persisted or not on its own,
     * and the first one that did not ends what recovery can read. */
    size_t intact = 0;
    if (d->n_pending > 0) {
        if (sim_rng_below(rng, 4) != 0) {
            intact = (size_t)sim_rng_below(rng, d->n_pending + 1);
        } else {
            while (intact < d->n_pending && sim_rng_below(rng, 8) != 0)
                intact++;
        }
    }
    /* recovery: an unfinished batch (no batch end after it) is truncated */
    size_t keep = intact;
    if (!torn_prefix)
        while (keep > 0 && d->pending[keep - 1].kind != SIM_DISK_END)
            keep--;
    int rc = 0;
    for (size_t i = 0; i < d->n_pending; i++) {
        if (i < keep && rc == 0 && apply_op(d, &d->durable, &d->pending[i], true) != 0) rc = -1;
        op_free(&d->pending[i]);
    }
    d->ops_base += d->n_pending;
    d->n_pending = 0;
    if (kept_records) *kept_records = keep;
    if (rc == 0) rc = image_copy(&d->vol, &d->durable);
    return rc;
}

uint64_t sim_disk_last_index(const sim_disk_image *img)
{
    return img->log.base + img->log.len;
}

uint64_t sim_disk_last_term(const sim_disk_image *img)
{
    return img->log.len ? img->log.e[img->log.len - 1].term : img->snap.term;
}

const sim_disk_entry *sim_disk_at(const sim_disk_image *img, uint64_t index)
{
    if (index <= img->log.base || index > img->log.base + img->log.len) return NULL;
    return &img->log.e[index - img->log.base - 1];
}

/* ---- raft_storage callbacks over the volatile image ---- */

static int st_entries(void *ud, uint64_t lo, uint64_t hi, uint64_t max_bytes, raft_entry *out,
                      size_t cap, size_t *n_out)
{
    const sim_disk_image *img = &((sim_disk *)ud)->vol;
    *n_out = 0;
    if (lo <= img->log.base) return -RAFT_ECOMPACTED;
    if (lo >= hi || hi > sim_disk_last_index(img) + 1) return -RAFT_EUNAVAIL;
    uint64_t bytes = 0;
    size_t n = 0;
    for (uint64_t i = lo; i < hi && n < cap; i++) {
        const sim_disk_entry *e = sim_disk_at(img, i);
        if (n > 0 && bytes + e->len > max_bytes) break;
        bytes += e->len;
        out[n++] = (raft_entry){
            .term = e->term, .index = e->index, .type = e->type, .len = e->len, .data = e->data};
    }
    *n_out = n;
    return n ? 0 : -RAFT_EUNAVAIL;
}

static int st_term(void *ud, uint64_t index, uint64_t *term_out)
{
    const sim_disk_image *img = &((sim_disk *)ud)->vol;
    if (index == img->log.base) {
        *term_out = img->snap.term;
        return 0;
    }
    if (index < img->log.base) return -RAFT_ECOMPACTED;
    const sim_disk_entry *e = sim_disk_at(img, index);
    if (!e) return -RAFT_EUNAVAIL;
    *term_out = e->term;
    return 0;
}

static uint64_t st_first_index(void *ud)
{
    return ((sim_disk *)ud)->vol.log.base + 1;
}

static uint64_t st_last_index(void *ud)
{
    return sim_disk_last_index(&((sim_disk *)ud)->vol);
}

static int st_snapshot_chunk(void *ud, uint64_t offset, uint8_t *buf, uint32_t cap,
                             raft_snapshot_meta *meta_out, uint32_t *len_out, bool *done_out)
{
    const sim_disk_image *img = &((sim_disk *)ud)->vol;
    if (img->snap.index == 0 || offset > img->snap_len) return -RAFT_EUNAVAIL;
    uint64_t left = img->snap_len - offset;
    uint32_t n = left < cap ? (uint32_t)left : cap;
    if (n) memcpy(buf, img->snap_data + offset, n);
    *meta_out = img->snap;
    *len_out = n;
    *done_out = offset + n >= img->snap_len;
    return 0;
}

raft_storage sim_disk_storage(sim_disk *d)
{
    return (raft_storage){.ud = d,
                          .entries = st_entries,
                          .term = st_term,
                          .first_index = st_first_index,
                          .last_index = st_last_index,
                          .snapshot_chunk = st_snapshot_chunk};
}
