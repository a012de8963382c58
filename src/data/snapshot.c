/* snapshot.c — versioned, checksummed binary snapshot of the dataset. */
#include "data/data_internal.h"

int data_snapshot_save(const data_store *ds, data_write_cb wr, void *ctx)
{
    (void)ds, (void)wr, (void)ctx;
    return -1;
}

int data_snapshot_load(data_store *ds, const void *buf, size_t len)
{
    (void)ds, (void)buf, (void)len;
    return -1;
}
