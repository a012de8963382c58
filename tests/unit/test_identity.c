/* test_identity.c — the IDENTITY file: round trip, peers, and bad files reported (not crashed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage/identity.h"
#include "storage/storage.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/synod-ident-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *text)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/IDENTITY", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void round_trip(void **state)
{
    (void)state;
    struct identity a, b;
    char err[512];
    assert_int_equal(ident_load(dir, &a, err, sizeof(err)), STORAGE_ENOENT);
    memset(&a, 0, sizeof(a));
    a.node_id = 3;
    snprintf(a.cluster_id, sizeof(a.cluster_id), "prod");
    snprintf(a.cluster, sizeof(a.cluster), "1=10.0.0.1:7379,3=10.0.0.3:7379");
    a.joined = true;
    for (int i = 0; i < IDENT_DATA_ID_BYTES; i++)
        a.data_id[i] = (uint8_t)(i * 7);
    uint8_t d[IDENT_DATA_ID_BYTES];
    memset(d, 0xab, sizeof(d));
    assert_true(ident_set_peer(&a, 1, d));
    d[0] = 1;
    assert_true(ident_set_peer(&a, 2, d));
    assert_true(ident_set_peer(&a, 2, d)); /* replaces */
    assert_int_equal(a.n_peers, 2);
    assert_int_equal(ident_save(dir, &a, NULL, err, sizeof(err)), 0);
    assert_int_equal(ident_load(dir, &b, err, sizeof(err)), 0);
    assert_int_equal(b.node_id, 3);
    assert_string_equal(b.cluster_id, "prod");
    assert_string_equal(b.cluster, a.cluster);
    assert_true(b.joined);
    assert_memory_equal(b.data_id, a.data_id, IDENT_DATA_ID_BYTES);
    assert_int_equal(b.n_peers, 2);
    assert_memory_equal(ident_peer_data_id(&b, 2), d, IDENT_DATA_ID_BYTES);
    assert_null(ident_peer_data_id(&b, 9));
    ident_forget_peer(&b, 1);
    assert_null(ident_peer_data_id(&b, 1));
    assert_non_null(ident_peer_data_id(&b, 2));
}

/* The storage operations ident_save makes, in order ("fsync:<path>|", "write:<path>|"...). */
static char ops_seen[4096];
static int note_op(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx;
    size_t n = strlen(ops_seen);
    const char *what = op == STORAGE_OP_FSYNC ? "fsync" : op == STORAGE_OP_WRITE ? "write" : "op";
    snprintf(ops_seen + n, sizeof(ops_seen) - n, "%s:%s|", what, path);
    return 0;
}

/* Durable as the WAL's files are: the .tmp written and fsync'd, then renamed, then the
 * directory fsync'd (a power loss cannot leave a renamed file without its bytes, nor undo the
 * rename). A failing disk is an error, not a crash. */
static void save_is_durable(void **state)
{
    (void)state;
    struct identity a;
    memset(&a, 0, sizeof(a));
    a.node_id = 1;
    snprintf(a.cluster_id, sizeof(a.cluster_id), "c");
    struct storage_io io = {0};
    io.fault = note_op;
    char err[512], want[512];
    ops_seen[0] = 0;
    assert_int_equal(ident_save(dir, &a, &io, err, sizeof(err)), 0);
    snprintf(want, sizeof(want), "write:%s/IDENTITY.tmp|fsync:%s/IDENTITY.tmp|fsync:%s|", dir, dir,
             dir);
    assert_string_equal(ops_seen, want);
    io.fault = NULL;
    struct identity b;
    assert_int_equal(ident_load(dir, &b, err, sizeof(err)), 0);
    assert_int_equal(b.node_id, 1);
}

static int fail_fsync(void *ctx, enum storage_op op, const char *path)
{
    (void)ctx, (void)path;
    return op == STORAGE_OP_FSYNC ? EIO : 0;
}

static void save_reports_a_failing_disk(void **state)
{
    (void)state;
    struct identity a;
    memset(&a, 0, sizeof(a));
    a.node_id = 2;
    struct storage_io io = {0};
    io.fault = fail_fsync;
    char err[512];
    assert_true(ident_save(dir, &a, &io, err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "IDENTITY.tmp"));
}

static void bad_files_are_errors(void **state)
{
    (void)state;
    struct identity a;
    char err[512];
    static const char *bad[] = {
        "version 1\nnode-id 0\ndata-id 000102030405060708090a0b0c0d0e0f\n",
        "version 2\nnode-id 1\ndata-id 000102030405060708090a0b0c0d0e0f\n",
        "version 1\nnode-id 1\ndata-id 00\n",
        "version 1\nnode-id 1\n",
        "version 1\nnode-id 1\ndata-id 000102030405060708090a0b0c0d0e0f\nbogus x\n",
        "version 1\nnode-id 1\ndata-id 000102030405060708090a0b0c0d0e0f\npeer 2 zz\n",
        "\xff\xfe garbage",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(bad[i]);
        err[0] = '\0';
        assert_int_equal(ident_load(dir, &a, err, sizeof(err)), STORAGE_ECORRUPT);
        assert_non_null(strstr(err, "IDENTITY"));
    }
    write_file("# comment\nversion 1\nnode-id 7\ndata-id 000102030405060708090a0b0c0d0e0f\n");
    assert_int_equal(ident_load(dir, &a, err, sizeof(err)), 0);
    assert_int_equal(a.node_id, 7);
}

/* The peer table holds IDENT_PEERS_MAX members: one more is refused (in memory and in a file
 * that lists too many), never written past the table. */
static void peer_table_is_bounded(void **state)
{
    (void)state;
    struct identity a;
    memset(&a, 0, sizeof(a));
    uint8_t d[IDENT_DATA_ID_BYTES] = {1, 2, 3};
    for (uint64_t id = 1; id <= IDENT_PEERS_MAX; id++)
        assert_true(ident_set_peer(&a, id, d));
    assert_false(ident_set_peer(&a, IDENT_PEERS_MAX + 1, d));
    assert_int_equal(a.n_peers, IDENT_PEERS_MAX);
    assert_true(ident_set_peer(&a, 5, d)); /* an update of a known peer still fits */
    assert_int_equal(a.n_peers, IDENT_PEERS_MAX);
    char text[8192];
    int n = snprintf(text, sizeof(text),
                     "version 1\nnode-id 1\ndata-id 000102030405060708090a0b0c0d0e0f\n");
    for (int id = 2; id <= IDENT_PEERS_MAX + 2; id++)
        n += snprintf(text + n, sizeof(text) - (size_t)n,
                      "peer %d 000102030405060708090a0b0c0d0e0f\n", id);
    write_file(text);
    char err[512] = "";
    assert_int_equal(ident_load(dir, &a, err, sizeof(err)), STORAGE_ECORRUPT);
    assert_non_null(strstr(err, "peer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_files_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(save_is_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(save_reports_a_failing_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(peer_table_is_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
