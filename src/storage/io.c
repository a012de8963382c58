/* io.c — file I/O of the storage module, routed through the fault hook, with messages. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage_internal.h"
#include "util/assert.h"

const char *storage_strerror(int code)
{
    switch (code) {
#define STORAGE_ERR_CASE(name, value, text)                                                        \
    case value: return text;
        STORAGE_ERRORS(STORAGE_ERR_CASE)
#undef STORAGE_ERR_CASE
    }
    return "unknown error";
}

int st_error(char *err, size_t err_len, int code, const char *fmt, ...)
{
    if (err && err_len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

void st_log(const struct storage_io *io, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (io && io->log)
        io->log(io->log_ctx, msg);
    else
        fprintf(stderr, "storage: %s\n", msg);
}

int st_errno_code(int e)
{
    return (e == ENOSPC || e == EDQUOT) ? STORAGE_ENOSPC : STORAGE_EIO;
}

static int st_fault(const struct storage_io *io, enum storage_op op, const char *path)
{
    if (!io || !io->fault) return 0;
    return io->fault(io->fault_ctx, op, path);
}

int st_pwrite_all(const struct storage_io *io, int fd, const char *path, uint64_t off,
                  const void *buf, size_t len, char *err, size_t err_len)
{
    const uint8_t *p = buf;
    int e = st_fault(io, STORAGE_OP_WRITE, path);
    if (e)
        return st_error(err, err_len, st_errno_code(e), "write %s at offset %llu: %s", path,
                        (unsigned long long)off, strerror(e));
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            e = n < 0 ? errno : ENOSPC; /* a zero-byte write means the device is full */
            return st_error(err, err_len, st_errno_code(e), "write %s at offset %llu: %s", path,
                            (unsigned long long)off, strerror(e));
        }
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int st_sync_common(const struct storage_io *io, int fd, const char *path, bool data_only,
                          char *err, size_t err_len)
{
    int e = st_fault(io, STORAGE_OP_FSYNC, path);
    if (!e) {
        int rc = data_only ? fdatasync(fd) : fsync(fd);
        if (rc == 0) return 0;
        e = errno;
    }
    return st_error(err, err_len, st_errno_code(e), "%s %s: %s", data_only ? "fdatasync" : "fsync",
                    path, strerror(e));
}

int st_fdatasync(const struct storage_io *io, int fd, const char *path, char *err, size_t err_len)
{
    return st_sync_common(io, fd, path, true, err, err_len);
}

int st_fsync(const struct storage_io *io, int fd, const char *path, char *err, size_t err_len)
{
    return st_sync_common(io, fd, path, false, err, err_len);
}

int st_fsync_dir(const struct storage_io *io, const char *dir, char *err, size_t err_len)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return st_error(err, err_len, STORAGE_EIO, "open directory %s: %s", dir, strerror(errno));
    int rc = st_fsync(io, fd, dir, err, err_len);
    close(fd);
    return rc;
}

int st_read_file(const char *path, uint64_t max_bytes, uint8_t **out, size_t *len, char *err,
                 size_t err_len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return st_error(err, err_len, STORAGE_EIO, "open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return st_error(err, err_len, STORAGE_EIO, "stat %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max_bytes) {
        close(fd);
        return st_error(err, err_len, STORAGE_ECORRUPT,
                        "%s: not a regular file or too large (%lld bytes, limit %llu)", path,
                        (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return st_error(err, err_len, STORAGE_ENOMEM, "reading %s: out of memory", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return st_error(err, err_len, STORAGE_EIO, "read %s: %s", path, strerror(e));
        }
        if (n == 0) break; /* the file shrank under us: take what is there */
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *len = got;
    return 0;
}
