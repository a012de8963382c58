/* storage.h — what the WAL and snapshot files share: error codes, the I/O fault hook, logging.
 *
 * Every function of the storage module that can fail returns 0 or one of the negative codes
 * below, and fills a caller-visible message naming the file (and byte offset for corruption). */
#ifndef SYNOD_STORAGE_STORAGE_H
#define SYNOD_STORAGE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

/* One table of error codes and their strings (name, value, text). */
#define STORAGE_ERRORS(X)                                                                          \
    X(STORAGE_OK, 0, "ok")                                                                         \
    X(STORAGE_EIO, -1, "I/O error")                                                                \
    X(STORAGE_ENOSPC, -2, "no space left on device")                                               \
    X(STORAGE_EFAILED, -3, "storage failed earlier and accepts no more writes")                    \
    X(STORAGE_ECORRUPT, -4, "corrupt data on disk")                                                \
    X(STORAGE_ELOCKED, -5, "data directory is locked by another process")                          \
    X(STORAGE_EINVAL, -6, "invalid argument")                                                      \
    X(STORAGE_ENOMEM, -7, "out of memory")                                                         \
    X(STORAGE_ETOOBIG, -8, "record too large")                                                     \
    X(STORAGE_ENOENT, -9, "not found")

enum storage_err {
#define STORAGE_ERR_ENUM(name, value, text) name = value,
    STORAGE_ERRORS(STORAGE_ERR_ENUM)
#undef STORAGE_ERR_ENUM
};

/* Static text for a code from the table above ("unknown error" otherwise). */
const char *storage_strerror(int code);

/* The operations a fault hook can veto. */
enum storage_op {
    STORAGE_OP_WRITE, /* a write of WAL records or snapshot bytes */
    STORAGE_OP_FSYNC, /* fdatasync/fsync of a file or of the directory */
    STORAGE_OP_SPACE, /* asking how much room the file system has (the WAL's zero-filled spare
                         segments): a fault means "as good as full" */
};

/* Called before every write and fsync the module issues. Return 0 to let it proceed, or a
 * positive errno (ENOSPC, EIO, ...) to make it fail as if the kernel had returned that error.
 * For tests (disk full, failing disk); NULL in production. `path` is valid during the call. */
typedef int (*storage_fault_fn)(void *ctx, enum storage_op op, const char *path);

/* Receives one line (no trailing newline) about a notable event: a torn tail truncated, a
 * corrupt snapshot skipped, an I/O failure. NULL means stderr. */
typedef void (*storage_log_fn)(void *ctx, const char *msg);

/* Hooks shared by the WAL and the snapshot code. All fields may be zero. */
struct storage_io {
    storage_fault_fn fault;
    void *fault_ctx;
    storage_log_fn log;
    void *log_ctx;
};

#endif
