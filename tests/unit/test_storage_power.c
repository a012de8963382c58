/* test_storage_power.c — what a power loss may undo: a randomised test of appends, syncs,
 * truncations, snapshots and crashes against an in-memory model (seeded, replayable), the
 * directory's names and the files' synced sizes kept by a fault hook, the data directory's
 * creation, recovered segments synced before use, a vote in a known term. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_storage_helpers.h"

/* ---- randomised test against an in-memory model ---- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static uint64_t rnd_below(uint64_t n)
{
    return n ? rnd() % n : 0;
}

struct model {
    uint64_t terms[20000]; /* terms[i] = term of entry i; entries 1..last */
    uint64_t last;
    uint64_t durable; /* entries <= durable must survive any crash */
    uint64_t snap_index;
    uint64_t term;      /* term for the next appends */
    uint64_t hs_latest; /* hard-state term last saved (terms only grow in this test) */
    bool never;         /* the WAL is open with WAL_FSYNC_NEVER: wal_sync() does not fsync */
    /* What a crash may bring back: the state at the last fsync (cand[0]) or at any later batch
     * end (wal_sync() under NEVER), never anything in between (a batch is whole or absent). */
    struct mstate {
        uint64_t last, hs;
    } cand[2048];
    size_t n_cand;
};

/* Everything written so far is durable (an fsync that covered it). */
static void model_durable(struct model *m)
{
    m->durable = m->last;
    m->cand[0] = (struct mstate){m->last, m->hs_latest};
    m->n_cand = 1;
}

/* A wal_sync(): one batch end. */
static void model_batch(struct model *m)
{
    if (!m->never) {
        model_durable(m);
        return;
    }
    struct mstate now = {m->last, m->hs_latest}, *prev = &m->cand[m->n_cand - 1];
    if (prev->last == now.last && prev->hs == now.hs) return;
    SYN_ASSERT(m->n_cand < sizeof m->cand / sizeof m->cand[0]);
    m->cand[m->n_cand++] = now;
}

/* Power-loss model: the fault hook notes each file's size when it is fsync'd; a crash may then
 * drop any suffix of the bytes written after that, in every segment (not only the last). */
struct synced_sizes {
    char name[4096][48];
    off_t size[4096];
    int n;
};
static struct synced_sizes synced_tab;

static int note_fsync(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    struct stat st;
    if (op != STORAGE_OP_FSYNC || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[48];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base); /* without .log/.tmp */
    int k = 0;
    while (k < synced_tab.n && strcmp(synced_tab.name[k], name) != 0)
        k++;
    if (k == synced_tab.n) {
        SYN_ASSERT(k < 4096);
        synced_tab.n++;
        snprintf(synced_tab.name[k], sizeof synced_tab.name[k], "%s", name);
    }
    synced_tab.size[k] = st.st_size;
    return 0;
}

/* Cuts every WAL segment of dir back to a random length between its synced and current size
 * (to its synced size with `all`); with `zeros`, pads the cut with zeros (a torn write of a
 * block). */
static void lose_unsynced_bytes(const char *dir, bool zeros, bool all)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, "wal-", 4) != 0) continue;
        char path[600], name[64];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(name, sizeof name, "%.*s", (int)strcspn(de->d_name, "."), de->d_name);
        off_t synced = -1, size = file_size(path);
        for (int k = 0; k < synced_tab.n; k++)
            if (strcmp(synced_tab.name[k], name) == 0) synced = synced_tab.size[k];
        if (synced < 0) fail_msg("segment %s was never fsync'd", path);
        if (size <= synced) continue;
        off_t keep = all ? synced : synced + (off_t)rnd_below((uint64_t)(size - synced) + 1);
        assert_int_equal(truncate(path, keep), 0);
        if (zeros && keep < size) assert_int_equal(truncate(path, size), 0);
    }
    closedir(d);
}

static void lose_unsynced(const char *dir, bool zeros)
{
    lose_unsynced_bytes(dir, zeros, false);
}

/* Out-of-order persistence of an unsynced write: a hole of zeros somewhere in the unsynced part
 * of the last segment, with whatever came after it kept. */
static void punch_unsynced_hole(const char *dir)
{
    char path[600], name[64];
    size_t n = count_files(dir, "wal-");
    nth_file(dir, "wal-", n - 1, path, sizeof path);
    const char *base = strrchr(path, '/') + 1;
    snprintf(name, sizeof name, "%.*s", (int)strcspn(base, "."), base);
    off_t synced = -1, size = file_size(path);
    for (int k = 0; k < synced_tab.n; k++)
        if (strcmp(synced_tab.name[k], name) == 0) synced = synced_tab.size[k];
    if (synced < 0) fail_msg("segment %s was never fsync'd", path);
    if (size <= synced) return;
    off_t at = synced + (off_t)rnd_below((uint64_t)(size - synced));
    size_t len = 1 + rnd_below(64);
    if (at + (off_t)len > size) len = (size_t)(size - at);
    uint8_t zeros[64] = {0};
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, zeros, len, at), (ssize_t)len);
    close(fd);
}

static void model_check(struct model *m, struct wal *w, struct wal_recovered *r)
{
    assert_int_equal(r->has_snapshot, m->snap_index > 0);
    if (m->snap_index) assert_int_equal(r->snapshot.index, m->snap_index);
    uint64_t last = m->snap_index + r->n_entries;
    if (r->n_entries == 0 && m->snap_index == 0) last = 0;
    assert_int_equal(wal_last_index(w), last > m->snap_index ? last : m->snap_index);
    uint64_t t = r->hard_state.term;
    size_t k = 0;
    while (k < m->n_cand && !(m->cand[k].last == last && m->cand[k].hs == t))
        k++;
    if (k == m->n_cand) {
        char states[4096] = "";
        for (size_t i = 0; i < m->n_cand && strlen(states) < sizeof states - 64; i++)
            snprintf(states + strlen(states), sizeof states - strlen(states),
                     " (%" PRIu64 ", %" PRIu64 ")", m->cand[i].last, m->cand[i].hs);
        fail_msg("recovered last %" PRIu64 " with hard-state term %" PRIu64
                 ", not the state at a batch end since the last fsync:%s",
                 last, t, states);
    }
    for (size_t i = 0; i < r->n_entries; i++)
        check_entry(&r->entries[i], m->snap_index + 1 + i, m->terms[m->snap_index + 1 + i]);
    if (t) {
        assert_int_equal(r->hard_state.vote, t % 5);
        assert_int_equal(r->hard_state.commit, t * 7);
    }
    m->last = last > m->snap_index ? last : m->snap_index;
    m->hs_latest = t;
    model_durable(m);
}

/* Opens with a random fsync policy: ALWAYS (every batch end durable) or NEVER (batch ends only
 * reach the kernel; a crash may keep any prefix of them, or punch holes). */
static struct wal *model_open(struct model *m, struct wal_options *o, struct wal_recovered *r,
                              const char *dir)
{
    m->never = rnd_below(2);
    o->fsync = m->never ? WAL_FSYNC_NEVER : WAL_FSYNC_ALWAYS;
    return open_ok(dir, o, r);
}

static void random_ops_against_model(void **state)
{
    struct fx *f = *state;
    uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *env = getenv("STORAGE_SEED");
    if (env) seed = strtoull(env, NULL, 0);
    int steps = 1200;
    if (getenv("STORAGE_STEPS")) steps = atoi(getenv("STORAGE_STEPS"));
    if (getenv("STORAGE_TRACE")) setvbuf(stdout, NULL, _IONBF, 0);
    printf("random_ops_against_model: seed=%" PRIu64 " steps=%d (replay: STORAGE_SEED=%" PRIu64
           ")\n",
           seed, steps, seed);
    fflush(stdout); /* seen even if the test aborts (sanitizer) */
    fflush(stdout);
    rng_state = seed;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 1024;
    o.buffer_max_bytes = 256; /* records reach the kernel before wal_sync */
    o.io.fault = note_fsync;
    memset(&synced_tab, 0, sizeof synced_tab);
    struct model *m = calloc(1, sizeof *m);
    m->term = 1;
    model_durable(m);
    struct wal_recovered r;
    struct wal *w = model_open(m, &o, &r, f->dir);
    wal_recovered_deinit(&r);
    int crashes = 0, truncs = 0, compacts = 0, installs = 0, reads = 0, holes = 0;
    for (int step = 0; step < steps; step++) {
        uint64_t op = rnd_below(100);
        if (getenv("STORAGE_TRACE"))
            printf("step %d op %" PRIu64 " last %" PRIu64 " durable %" PRIu64 " snap %" PRIu64
                   " never %d\n",
                   step, op, m->last, m->durable, m->snap_index, m->never);
        if (op < 40 && m->last < 19000) {
            if (rnd_below(10) == 0) m->term++;
            uint64_t k = 1 + rnd_below(8);
            append_range(w, m->last + 1, m->last + k, m->term);
            for (uint64_t i = 1; i <= k; i++)
                m->terms[m->last + i] = m->term;
            m->last += k;
        } else if (op < 55) {
            assert_int_equal(wal_sync(w), 0);
            model_batch(m);
        } else if (op < 62) {
            uint64_t t = ++m->hs_latest;
            struct wal_hard_state hs = {.term = t, .vote = t % 5, .commit = t * 7};
            assert_int_equal(wal_save_hard_state(w, &hs), 0);
        } else if (op < 70) {
            if (m->last <= m->snap_index) continue;
            uint64_t from = m->snap_index + 1 + rnd_below(m->last - m->snap_index + 1);
            assert_int_equal(wal_truncate_suffix(w, from), 0);
            if (from <= m->last) { /* the pending batch is closed and synced, then cut */
                truncs++;
                m->last = from - 1;
                model_durable(m);
            }
        } else if (op < 75) {
            uint64_t idx, term;
            uint64_t kind = rnd_below(8);
            if (kind == 0) { /* a snapshot from the leader, past our log */
                idx = m->last + 1 + rnd_below(5);
                if (idx >= 19000) continue;
                term = ++m->term;
            } else if (kind == 1) { /* the leader's, over a conflicting entry of ours */
                if (m->last <= m->snap_index) continue;
                idx = m->snap_index + 1 + rnd_below(m->last - m->snap_index);
                term = 1 + rnd_below(m->term + 1);
                if (idx < m->last) assert_int_equal(wal_truncate_suffix(w, idx + 1), 0);
                m->last = idx;
                m->term = term;
                installs++;
            } else { /* our own, of durable entries */
                if (m->durable <= m->snap_index) continue;
                idx = m->snap_index + 1 + rnd_below(m->durable - m->snap_index);
                term = m->terms[idx];
            }
            m->terms[idx] = term;
            save_snapshot(f->dir, idx, term);
            assert_int_equal(wal_compact(w, idx, term), 0);
            compacts++;
            m->snap_index = idx;
            if (idx >= m->last) {
                m->last = idx;
                model_durable(m);
            }
            uint64_t t = 0;
            assert_int_equal(wal_term_at(w, idx, &t), 0);
            assert_int_equal(t, term);
        } else if (op < 83) {
            wal_crash(w);
            crashes++;
            uint64_t c = rnd_below(4);
            if (c == 1 || c == 2) lose_unsynced(f->dir, c == 2);
            if (c == 3) punch_unsynced_hole(f->dir), holes++;
            w = model_open(m, &o, &r, f->dir);
            model_check(m, w, &r);
            wal_recovered_deinit(&r);
        } else if (op < 95) {
            /* read a random range back (what a lagging follower would be sent) */
            if (m->last <= m->snap_index) continue;
            uint64_t lo = m->snap_index + 1 + rnd_below(m->last - m->snap_index);
            uint64_t hi = lo + 1 + rnd_below(40);
            uint64_t max_bytes = rnd_below(2) ? UINT64_MAX : rnd_below(200);
            struct wal_entry es[64];
            while (lo < hi && lo <= m->last) {
                size_t n = 0;
                char err[256];
                int rc = wal_read_entries(w, lo, hi, max_bytes, es, 64, &n, err, sizeof err);
                if (rc) fail_msg("read %" PRIu64 "..%" PRIu64 ": %s", lo, hi, err);
                assert_true(n >= 1);
                for (size_t i = 0; i < n; i++) {
                    check_entry(&es[i], lo + i, m->terms[lo + i]);
                    uint64_t t = 0;
                    assert_int_equal(wal_term_at(w, lo + i, &t), 0);
                    assert_int_equal(t, m->terms[lo + i]);
                }
                lo += n;
                reads++;
            }
            uint64_t t = 0;
            char err[256];
            size_t n = 0;
            assert_int_not_equal(
                wal_read_entries(w, m->last + 1, m->last + 2, 100, es, 64, &n, err, sizeof err), 0);
            if (m->snap_index) {
                assert_int_not_equal(wal_read_entries(w, m->snap_index, m->snap_index + 1, 100, es,
                                                      64, &n, err, sizeof err),
                                     0);
                if (m->snap_index > 1)
                    assert_int_not_equal(wal_term_at(w, m->snap_index - 1, &t), 0);
            }
        } else if (op < 97) {
            wal_close(w);
            model_durable(m);
            w = model_open(m, &o, &r, f->dir);
            model_check(m, w, &r);
            wal_recovered_deinit(&r);
        }
        if (m->term < wal_last_term(w)) m->term = wal_last_term(w);
    }
    wal_close(w);
    model_durable(m);
    w = open_ok(f->dir, &o, &r);
    model_check(m, w, &r);
    wal_recovered_deinit(&r);
    wal_close(w);
    printf("random_ops_against_model: %d crashes (%d with a hole), %d truncations, %d compactions "
           "(%d over a conflicting entry), %d reads, last %" PRIu64 "\n",
           crashes, holes, truncs, compacts, installs, reads, m->last);
    assert_true(crashes > 0 && truncs > 0 && compacts > 0 && reads > 0);
    free(m);
}

/* ---- what a power loss may undo: the directory and the files' unsynced bytes ---- */

/* Creating the data directory fsyncs its parent (else a power loss can forget the directory
 * with every synced file in it); creating LOCK fsyncs the directory. */
static char fsynced_paths[4096];
static int note_fsync_path(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    if (op == STORAGE_OP_FSYNC) {
        size_t n = strlen(fsynced_paths);
        snprintf(fsynced_paths + n, sizeof fsynced_paths - n, "%s|", path);
    }
    return 0;
}

static void data_dir_creation_is_durable(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.io.fault = note_fsync_path;
    char dir[128], want[160];
    snprintf(dir, sizeof dir, "%s/data", f->dir);
    fsynced_paths[0] = 0;
    struct wal_recovered r;
    struct wal *w = open_ok(dir, &o, &r);
    wal_close(w);
    wal_recovered_deinit(&r);
    snprintf(want, sizeof want, "|%s|", f->dir); /* after the first entry */
    char with_bar[4200];
    snprintf(with_bar, sizeof with_bar, "|%s", fsynced_paths);
    assert_non_null(strstr(with_bar, want));
    assert_true(strstr(with_bar, want) < strstr(with_bar, "LOCK") || !strstr(with_bar, "LOCK"));
    snprintf(want, sizeof want, "|%s|", dir);
    assert_non_null(strstr(with_bar, want));
    /* Reopening creates nothing: no fsync of the parent. */
    fsynced_paths[0] = 0;
    w = open_ok(dir, &o, &r);
    wal_close(w);
    wal_recovered_deinit(&r);
    snprintf(with_bar, sizeof with_bar, "|%s", fsynced_paths);
    snprintf(want, sizeof want, "|%s|", f->dir);
    assert_null(strstr(with_bar, want));
}

/* A directory-level power-loss model, kept by the fault hook: the names the directory held at
 * its last fsync (a rename or create after that may be undone by a power loss), and each file's
 * size at its last fsync (note_fsync). And one rule checked as it happens: when a new segment's
 * base is fsync'd (its .tmp), every existing segment must already be synced to its end, since
 * from then on only the last segment may have a torn tail (an older one with an unsynced batch
 * is corruption at the next open, or silently loses that batch). */
static char dir_listed[8192];
static const char *model_dir;
static char durability_violation[512];

static bool listed(const char *name)
{
    char want[300];
    snprintf(want, sizeof want, "|%s|", name);
    return strstr(dir_listed, want) != NULL;
}

static off_t synced_size_of(const char *file)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(file, "."), file);
    for (int k = 0; k < synced_tab.n; k++)
        if (strcmp(synced_tab.name[k], name) == 0) return synced_tab.size[k];
    return -1;
}

static int durability_model(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    if (op != STORAGE_OP_FSYNC) return 0;
    if (strcmp(path, model_dir) == 0) {
        DIR *d = opendir(path);
        struct dirent *de;
        snprintf(dir_listed, sizeof dir_listed, "|");
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(dir_listed);
            snprintf(dir_listed + n, sizeof dir_listed - n, "%s|", de->d_name);
        }
        closedir(d);
        return 0;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t blen = strlen(base);
    if (strncmp(base, "wal-", 4) == 0 && blen > 4 && strcmp(base + blen - 4, ".tmp") == 0 &&
        !durability_violation[0]) {
        DIR *d = opendir(model_dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (strncmp(de->d_name, "wal-", 4) != 0 || n < 4 ||
                strcmp(de->d_name + n - 4, ".log") != 0)
                continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", model_dir, de->d_name);
            off_t synced = synced_size_of(de->d_name), size = file_size(p);
            if (synced != size)
                snprintf(durability_violation, sizeof durability_violation,
                         "new segment %s started while %s has %lld bytes, synced %lld", base,
                         de->d_name, (long long)size, (long long)synced);
        }
        closedir(d);
    }
    return note_fsync(ctx, op, path);
}

/* Every segment and snapshot file in the directory was there when the directory was last
 * fsync'd: a rename (or create) not followed by an fsync of the directory may be undone by a
 * power loss, and with it everything synced into the file. */
static void assert_names_durable(const char *dir, const char *when)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        bool seg =
            strncmp(de->d_name, "wal-", 4) == 0 && n > 4 && strcmp(de->d_name + n - 4, ".log") == 0;
        bool snap = strncmp(de->d_name, "snap-", 5) == 0 && n > 5 &&
                    strcmp(de->d_name + n - 5, ".snap") == 0;
        if ((seg || snap) && !listed(de->d_name))
            fail_msg("%s: %s is not in the directory as of its last fsync (%s)", when, de->d_name,
                     dir_listed);
    }
    closedir(d);
    if (durability_violation[0]) fail_msg("%s: %s", when, durability_violation);
}

static void model_reset(const char *dir)
{
    model_dir = dir;
    dir_listed[0] = 0;
    durability_violation[0] = 0;
    synced_tab.n = 0;
}

/* Rollover, truncation, compaction and snapshots make their new files' names durable (fsync of
 * the directory after the rename) and start a new segment only once the older ones are synced
 * to their ends. Under fsync batch, so that wal_sync leaves written bytes unsynced: the
 * structural steps must sync them themselves (docs/storage.md: "Under every policy the
 * structural steps still sync"). */
static void structural_steps_are_durable(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.io.fault = durability_model;
    o.fsync = WAL_FSYNC_BATCH;
    o.batch_interval_ms = 1000000;
    o.segment_max_bytes = 600;
    o.now_ms = fake_clock;
    fake_now = 1;
    model_reset(f->dir);
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    assert_names_durable(f->dir, "open");
    append_batches(w, 1, 60, 1, 4); /* several rollovers */
    struct wal_stats st;
    wal_stats(w, &st);
    assert_true(st.n_segments >= 3);
    assert_names_durable(f->dir, "rollover");
    append_range(w, 61, 64, 2); /* pending: the truncation writes them, as their own batch */
    assert_int_equal(wal_truncate_suffix(w, 63), 0);
    assert_names_durable(f->dir, "truncation");
    append_range(w, 63, 70, 3);
    assert_int_equal(wal_sync(w), 0);
    save_snapshot_io(f->dir, 70, 3, &o.io);
    assert_names_durable(f->dir, "snapshot");
    append_range(w, 71, 72, 3);                 /* pending */
    assert_int_equal(wal_compact(w, 75, 4), 0); /* a leader's snapshot past the log: RESET */
    assert_names_durable(f->dir, "compaction past the log");
    append_batches(w, 76, 90, 4, 5);
    assert_int_equal(wal_compact(w, 80, 4), 0);
    assert_names_durable(f->dir, "compaction");
    wal_close(w);
    wal_recovered_deinit(&r);
}

/* What recovery keeps is fsync'd before the WAL is used: after a process crash the bytes just
 * read may be only in the page cache, and the node is about to vote and acknowledge on them.
 * Both for a clean tail and for a torn one that recovery cuts off. */
static void recovered_segments_are_synced(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.segment_max_bytes = 600;
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    append_batches(w, 1, 40, 1, 4);
    wal_close(w);
    wal_recovered_deinit(&r);
    char last[512];
    for (int torn = 0; torn < 2; torn++) {
        nth_file(f->dir, "wal-", count_files(f->dir, "wal-") - 1, last, sizeof last);
        if (torn) { /* half a record after the last batch end */
            FILE *fp = fopen(last, "ab");
            assert_non_null(fp);
            assert_int_equal(fwrite("\x30\x00\x00\x00\x01\x00\x00", 1, 7, fp), 7);
            fclose(fp);
        }
        o.io.fault = durability_model;
        model_reset(f->dir);
        log_text[0] = 0;
        w = open_ok(f->dir, &o, &r);
        assert_int_equal(r.n_entries, 40);
        if (torn) assert_non_null(strstr(log_text, "torn record"));
        DIR *d = opendir(f->dir);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strncmp(de->d_name, "wal-", 4) != 0) continue;
            char p[600];
            snprintf(p, sizeof p, "%s/%s", f->dir, de->d_name);
            if (synced_size_of(de->d_name) != file_size(p))
                fail_msg("%s%s: %s has %lld bytes after open, synced %lld", torn ? "torn " : "",
                         "tail", de->d_name, (long long)file_size(p),
                         (long long)synced_size_of(de->d_name));
        }
        closedir(d);
        wal_close(w);
        wal_recovered_deinit(&r);
        o.io.fault = NULL;
    }
}

/* Raft §5.2 (Figure 2): the vote is persistent state. A vote granted in a term the node already
 * knew (learned from a leader or a rejected candidate) changes only the vote; it must reach the
 * disk like a new term, or a restart could vote again in that term: two leaders in one term. */
/* A hard state saved alone (a vote, a commit index: no entry in the batch) is fsync'd by
 * wal_sync like entries are: a power loss that drops every unsynced byte keeps it. */
static void vote_in_a_known_term_is_durable(void **state)
{
    struct fx *f = *state;
    struct wal_options o = opts_default();
    o.io.fault = note_fsync;
    memset(&synced_tab, 0, sizeof synced_tab);
    struct wal_recovered r;
    struct wal *w = open_ok(f->dir, &o, &r);
    struct wal_hard_state hs = {.term = 5, .vote = 0, .commit = 0};
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_sync(w), 0);
    hs.vote = 2;
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_crash(w);
    lose_unsynced_bytes(f->dir, false, true);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_int_equal(r.hard_state.term, 5);
    assert_int_equal(r.hard_state.vote, 2);
    hs.commit = 7; /* and a commit index that moved alone */
    assert_int_equal(wal_save_hard_state(w, &hs), 0);
    assert_int_equal(wal_sync(w), 0);
    wal_crash(w);
    lose_unsynced_bytes(f->dir, false, true);
    wal_recovered_deinit(&r);
    w = open_ok(f->dir, &o, &r);
    assert_memory_equal(&r.hard_state, &hs, sizeof hs);
    wal_close(w);
    wal_recovered_deinit(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(data_dir_creation_is_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(random_ops_against_model, setup, teardown),
        cmocka_unit_test_setup_teardown(structural_steps_are_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(recovered_segments_are_synced, setup, teardown),
        cmocka_unit_test_setup_teardown(vote_in_a_known_term_is_durable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
