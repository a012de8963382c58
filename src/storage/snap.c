/* snap.c — snapshot files: atomic write (tmp, fsync, rename, fsync dir), newest-valid load. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snap.h"
#include "storage_internal.h"
#include "util/assert.h"
#include "util/crc32c.h"

#define SNAP_MAGIC   "SYNODSNP"
#define SNAP_VERSION 1u
#define SNAP_HEADER_BYTES                                                                          \
    40u                        /* magic 8, version 4, header crc 4, index 8, term 8, conf len 4, 0 \
                                */
#define SNAP_TRAILER_BYTES 12u /* data len 8, crc32c of every byte before the crc 4 */
#define SNAP_NAME_LEN      43u /* "snap-" 16 hex "-" 16 hex ".snap" */

struct snap_writer {
    char *dir;
    char path[4096]; /* final name; the file being written is path + ".tmp" */
    char tmp[4096 + 8];
    int fd;
    uint64_t off;      /* bytes written so far */
    uint64_t data_len; /* dataset bytes written so far */
    uint32_t crc;      /* over every byte written so far */
    uint64_t index;
    const struct storage_io *io;
};

void snap_deinit(struct snap *s)
{
    free(s->conf);
    free(s->data);
    memset(s, 0, sizeof *s);
}

/* "<dir>/snap-<term>-<index>.snap<suffix>" (the one place the name is spelt). */
static void snap_path(const char *dir, uint64_t index, uint64_t term, const char *suffix, char *out,
                      size_t cap)
{
    snprintf(out, cap, "%s/snap-%016" PRIx64 "-%016" PRIx64 ".snap%s", dir, term, index, suffix);
}

static uint32_t snap_header_crc(const uint8_t *h)
{
    return crc32c(crc32c(0, h, 12), h + 16, SNAP_HEADER_BYTES - 16);
}

/* Parses "snap-<term>-<index>.snap"; false for any other name. */
static bool parse_snap_name(const char *name, uint64_t *term, uint64_t *index)
{
    if (strlen(name) != SNAP_NAME_LEN || strncmp(name, "snap-", 5) != 0 || name[21] != '-' ||
        strcmp(name + 38, ".snap") != 0)
        return false;
    for (int i = 5; i < 38; i++) {
        if (i == 21) continue;
        char c = name[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    *term = strtoull(name + 5, NULL, 16);
    *index = strtoull(name + 22, NULL, 16);
    return true;
}

static int writer_put(struct snap_writer *w, const void *p, size_t len, char *err, size_t err_len)
{
    int rc = st_pwrite_all(w->io, w->fd, w->tmp, w->off, p, len, err, err_len);
    if (rc) return rc;
    w->crc = crc32c(w->crc, p, len);
    w->off += len;
    return 0;
}

int snap_writer_begin(const char *dir, uint64_t index, uint64_t term, const void *conf,
                      uint32_t conf_len, const struct storage_io *io, struct snap_writer **out,
                      char *err, size_t err_len)
{
    *out = NULL;
    if (index == 0 || index == UINT64_MAX || conf_len > SNAP_CONF_MAX_BYTES)
        return st_error(err, err_len, STORAGE_EINVAL, "snapshot: bad index or conf size");
    struct snap_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return st_error(err, err_len, STORAGE_ENOMEM, "snapshot: out of memory");
    }
    w->io = io;
    w->index = index;
    snap_path(dir, index, term, "", w->path, sizeof w->path);
    snprintf(w->tmp, sizeof w->tmp, "%s.tmp", w->path);
    w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        int e = errno;
        st_error(err, err_len, st_errno_code(e), "create %s: %s", w->tmp, strerror(e));
        free(w->dir);
        free(w);
        return st_errno_code(e);
    }
    uint8_t h[SNAP_HEADER_BYTES] = {0};
    memcpy(h, SNAP_MAGIC, 8);
    st_put32(h + 8, SNAP_VERSION);
    st_put64(h + 16, index);
    st_put64(h + 24, term);
    st_put32(h + 32, conf_len);
    st_put32(h + 12, snap_header_crc(h));
    int rc = writer_put(w, h, sizeof h, err, err_len);
    if (!rc && conf_len) rc = writer_put(w, conf, conf_len, err, err_len);
    if (rc) {
        snap_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

int snap_writer_append(struct snap_writer *w, const void *data, size_t len, char *err,
                       size_t err_len)
{
    if (w->data_len + len > SNAP_DATA_MAX_BYTES)
        return st_error(err, err_len, STORAGE_ETOOBIG, "%s: dataset over the limit", w->tmp);
    int rc = writer_put(w, data, len, err, err_len);
    if (!rc) w->data_len += len;
    return rc;
}

void snap_writer_abort(struct snap_writer *w)
{
    if (!w) return;
    if (w->fd >= 0) close(w->fd);
    unlink(w->tmp);
    free(w->dir);
    free(w);
}

/* Deletes every snapshot file of dir other than keep_path whose index is <= max_index. */
static void remove_older(const char *dir, const char *keep_path, uint64_t max_index,
                         const struct storage_io *io)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char path[4096];
    while ((de = readdir(d)) != NULL) {
        uint64_t t, i;
        if (!parse_snap_name(de->d_name, &t, &i) || i > max_index) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (strcmp(path, keep_path) == 0) continue;
        if (unlink(path) != 0)
            st_log(io, "could not remove old snapshot %s: %s", path, strerror(errno));
    }
    closedir(d);
}

int snap_writer_finish(struct snap_writer *w, char *err, size_t err_len)
{
    uint8_t t[SNAP_TRAILER_BYTES];
    st_put64(t, w->data_len);
    w->crc = crc32c(w->crc, t, 8);
    st_put32(t + 8, w->crc);
    int rc = st_pwrite_all(w->io, w->fd, w->tmp, w->off, t, sizeof t, err, err_len);
    if (!rc) rc = st_fsync(w->io, w->fd, w->tmp, err, err_len);
    if (!rc && close(w->fd) != 0)
        rc = st_error(err, err_len, STORAGE_EIO, "close %s: %s", w->tmp, strerror(errno));
    w->fd = -1;
    if (!rc && rename(w->tmp, w->path) != 0)
        rc = st_error(err, err_len, st_errno_code(errno), "rename %s: %s", w->tmp, strerror(errno));
    if (!rc) rc = st_fsync_dir(w->io, w->dir, err, err_len);
    if (!rc) remove_older(w->dir, w->path, w->index, w->io);
    if (rc) {
        snap_writer_abort(w); /* removes the .tmp if the rename did not happen */
        return rc;
    }
    free(w->dir);
    free(w);
    return 0;
}

int snap_save(const char *dir, const struct snap *s, const struct storage_io *io, char *err,
              size_t err_len)
{
    struct snap_writer *w;
    int rc = snap_writer_begin(dir, s->index, s->term, s->conf, s->conf_len, io, &w, err, err_len);
    if (rc) return rc;
    if (s->data_len) rc = snap_writer_append(w, s->data, s->data_len, err, err_len);
    if (rc) {
        snap_writer_abort(w);
        return rc;
    }
    return snap_writer_finish(w, err, err_len);
}

void snap_tmp_path(const char *dir, uint64_t index, uint64_t term, char *out, size_t cap)
{
    snap_path(dir, index, term, ".tmp", out, cap);
}

int snap_open_data(const char *dir, uint64_t index, uint64_t term, int *fd_out, uint64_t *off_out,
                   uint64_t *len_out, char *err, size_t err_len)
{
    char path[4096];
    snap_path(dir, index, term, "", path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return st_error(err, err_len, st_errno_code(e), "open %s: %s", path, strerror(e));
    }
    uint8_t h[SNAP_HEADER_BYTES], t[SNAP_TRAILER_BYTES];
    off_t size = lseek(fd, 0, SEEK_END);
    int rc = 0;
    if (size < (off_t)(SNAP_HEADER_BYTES + SNAP_TRAILER_BYTES) ||
        pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
        pread(fd, t, sizeof t, size - (off_t)sizeof t) != (ssize_t)sizeof t) {
        rc = st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset 0: cannot read header/trailer",
                      path);
    } else if (memcmp(h, SNAP_MAGIC, 8) != 0 || st_get32(h + 8) != SNAP_VERSION ||
               st_get32(h + 12) != snap_header_crc(h) || st_get64(h + 16) != index ||
               st_get64(h + 24) != term) {
        rc = st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset 0: bad header", path);
    } else {
        uint64_t conf_len = st_get32(h + 32), data_len = st_get64(t);
        if (SNAP_HEADER_BYTES + conf_len + data_len + SNAP_TRAILER_BYTES != (uint64_t)size) {
            rc = st_error(err, err_len, STORAGE_ECORRUPT,
                          "%s: sizes do not add up to the file size", path);
        } else {
            *fd_out = fd;
            *off_out = SNAP_HEADER_BYTES + conf_len;
            *len_out = data_len;
            return 0;
        }
    }
    close(fd);
    return rc;
}

int snap_decode(const uint8_t *buf, size_t len, const char *name, struct snap *out, char *err,
                size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (len < SNAP_HEADER_BYTES + SNAP_TRAILER_BYTES)
        return st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset 0: file too short (%zu)", name,
                        len);
    if (memcmp(buf, SNAP_MAGIC, 8) != 0 || st_get32(buf + 8) != SNAP_VERSION)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset 0: not a snapshot of format version %u", name, SNAP_VERSION);
    if (st_get32(buf + 12) != snap_header_crc(buf) || st_get32(buf + 36) != 0)
        return st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset 0: header checksum mismatch",
                        name);
    uint64_t index = st_get64(buf + 16), term = st_get64(buf + 24);
    uint32_t conf_len = st_get32(buf + 32);
    uint64_t data_len = st_get64(buf + len - SNAP_TRAILER_BYTES);
    if (index == 0 || index == UINT64_MAX || conf_len > SNAP_CONF_MAX_BYTES ||
        data_len > SNAP_DATA_MAX_BYTES ||
        SNAP_HEADER_BYTES + (uint64_t)conf_len + data_len + SNAP_TRAILER_BYTES != len)
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: offset %zu: sizes do not add up to the file size %zu", name,
                        len - SNAP_TRAILER_BYTES, len);
    if (st_get32(buf + len - 4) != crc32c(0, buf, len - 4))
        return st_error(err, err_len, STORAGE_ECORRUPT, "%s: offset %zu: checksum mismatch", name,
                        len - 4);
    out->index = index;
    out->term = term;
    out->conf_len = conf_len;
    out->data_len = data_len;
    out->conf = malloc(conf_len ? conf_len : 1);
    out->data = malloc(data_len ? (size_t)data_len : 1);
    if (!out->conf || !out->data) {
        snap_deinit(out);
        return st_error(err, err_len, STORAGE_ENOMEM, "%s: out of memory", name);
    }
    memcpy(out->conf, buf + SNAP_HEADER_BYTES, conf_len);
    memcpy(out->data, buf + SNAP_HEADER_BYTES + conf_len, (size_t)data_len);
    return 0;
}

struct snap_name {
    uint64_t index, term;
    char name[SNAP_NAME_LEN + 1];
};

static int cmp_newest_first(const void *a, const void *b)
{
    const struct snap_name *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? 1 : -1;
    if (x->term != y->term) return x->term < y->term ? 1 : -1;
    return 0;
}

int snap_load_newest(const char *dir, const struct storage_io *io, struct snap *out, char *err,
                     size_t err_len)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) return st_error(err, err_len, STORAGE_EIO, "open %s: %s", dir, strerror(errno));
    struct snap_name *names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        struct snap_name sn;
        if (!parse_snap_name(de->d_name, &sn.term, &sn.index)) continue;
        memcpy(sn.name, de->d_name, SNAP_NAME_LEN + 1);
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct snap_name *nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = st_error(err, err_len, STORAGE_ENOMEM, "%s: out of memory", dir);
                break;
            }
            names = nn;
        }
        names[n++] = sn;
    }
    closedir(d);
    if (rc) {
        free(names);
        return rc;
    }
    if (n) qsort(names, n, sizeof *names, cmp_newest_first);
    rc = st_error(err, err_len, STORAGE_ENOENT, "%s: no valid snapshot", dir);
    char path[4096], why[512];
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i].name);
        uint8_t *buf;
        size_t len;
        int r = st_read_file(path, SNAP_DATA_MAX_BYTES, &buf, &len, why, sizeof why);
        if (r == 0) {
            r = snap_decode(buf, len, path, out, why, sizeof why);
            free(buf);
            if (r == 0 && (out->index != names[i].index || out->term != names[i].term)) {
                snap_deinit(out);
                r = st_error(why, sizeof why, STORAGE_ECORRUPT,
                             "%s: offset 16: header index/term differ from the file name", path);
            }
        }
        if (r == 0) {
            rc = 0;
            break;
        }
        if (r == STORAGE_ENOMEM) {
            rc = st_error(err, err_len, r, "%s", why);
            break;
        }
        st_log(io, "skipping snapshot: %s", why);
    }
    free(names);
    return rc;
}
