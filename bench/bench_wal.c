/* bench_wal.c — WAL group commit: appends + one fdatasync per batch, for batches of 1, 16 and
 * 128 entries of 100 bytes, on a fresh directory (argv[1], default a mkdtemp under /tmp).
 * Prints batches (= fdatasyncs) per second, entries per second and the fsync latency. */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "storage/wal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MAX_BATCHES 200000

static int run(const char *parent, size_t batch, double seconds)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/bench-wal-%zu", parent, batch);
    char err[512];
    struct wal *w;
    struct wal_recovered rec;
    struct wal_options o = {.fsync = WAL_FSYNC_ALWAYS};
    if (wal_open(dir, &o, &w, &rec, err, sizeof err) != 0) {
        fprintf(stderr, "bench_wal: %s\n", err);
        return 1;
    }
    wal_recovered_deinit(&rec);
    uint8_t payload[100];
    memset(payload, 'v', sizeof payload);
    struct wal_entry *e = calloc(batch, sizeof *e);
    double *lat = malloc(MAX_BATCHES * sizeof *lat);
    if (!e || !lat) return 1;
    uint64_t index = 0, batches = 0;
    double start = now_s(), end = start + seconds;
    while (now_s() < end && batches < MAX_BATCHES) {
        double t0 = now_s();
        for (size_t i = 0; i < batch; i++)
            e[i] = (struct wal_entry){
                .index = ++index, .term = 1, .type = 1, .len = sizeof payload, .data = payload};
        int rc = wal_append(w, e, batch);
        if (!rc) rc = wal_sync(w);
        if (rc) {
            fprintf(stderr, "bench_wal: %s\n", wal_last_error(w));
            return 1;
        }
        lat[batches++] = now_s() - t0;
    }
    double elapsed = now_s() - start;
    qsort(lat, batches, sizeof *lat, cmp_double);
    printf("batch %4zu x 100 B: %8.0f fdatasync/s %10.0f entries/s  p50 %6.3f ms  p99 %6.3f ms\n",
           batch, (double)batches / elapsed, (double)index / elapsed, lat[batches / 2] * 1e3,
           lat[batches * 99 / 100] * 1e3);
    wal_close(w);
    free(e);
    free(lat);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/synod-bench-wal-XXXXXX";
    const char *parent = argc > 1 ? argv[1] : mkdtemp(tmp);
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    if (!parent) {
        perror("mkdtemp");
        return 1;
    }
    printf("bench_wal: WAL appends + fdatasync (fsync always) in %s, %.1f s per size\n", parent,
           seconds);
    int rc = 0;
    size_t sizes[] = {1, 16, 128};
    for (size_t i = 0; i < 3 && rc == 0; i++)
        rc = run(parent, sizes[i], seconds);
    if (argc <= 1) remove(parent);
    return rc;
}
