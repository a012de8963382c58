/* identity.c — the IDENTITY file of a data directory (see identity.h). */
#include "identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storage_internal.h"

#define IDENT_FILE    "IDENTITY"
#define IDENT_VERSION 1

static void hex(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static bool unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

int ident_load(const char *dir, struct identity *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof(*out));
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", dir, IDENT_FILE);
    if (access(path, F_OK) != 0 && errno == ENOENT) return STORAGE_ENOENT;
    uint8_t *buf;
    size_t len;
    int rc = st_read_file(path, 1 << 20, &buf, &len, err, err_len);
    if (rc) return rc;
    bool have_version = false, have_node = false, have_data = false;
    size_t line_no = 0;
    char *save = NULL;
    char *text = realloc(buf, len + 1);
    if (!text) {
        free(buf);
        return st_error(err, err_len, STORAGE_ENOMEM, "%s: out of memory", path);
    }
    text[len] = '\0';
    rc = 0;
    for (char *line = strtok_r(text, "\n", &save); line && !rc;
         line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        if (line[0] == '#' || line[0] == '\0') continue;
        char *sp = strchr(line, ' ');
        const char *key = line, *val = sp ? sp + 1 : "";
        if (sp) *sp = '\0';
        bool ok = true;
        if (!strcmp(key, "version")) {
            uint64_t v;
            ok = parse_u64(val, &v) && v == IDENT_VERSION;
            have_version = ok;
        } else if (!strcmp(key, "node-id")) {
            ok = parse_u64(val, &out->node_id) && out->node_id > 0;
            have_node = ok;
        } else if (!strcmp(key, "cluster-id")) {
            ok = strlen(val) <= IDENT_NAME_MAX;
            if (ok) snprintf(out->cluster_id, sizeof(out->cluster_id), "%s", val);
        } else if (!strcmp(key, "cluster")) {
            ok = strlen(val) <= IDENT_CLUSTER_MAX;
            if (ok) snprintf(out->cluster, sizeof(out->cluster), "%s", val);
        } else if (!strcmp(key, "joined")) {
            ok = !strcmp(val, "0") || !strcmp(val, "1");
            out->joined = !strcmp(val, "1");
        } else if (!strcmp(key, "data-id")) {
            ok = unhex(val, out->data_id, IDENT_DATA_ID_BYTES);
            have_data = ok;
        } else if (!strcmp(key, "peer")) {
            char *sp2 = strchr(val, ' ');
            uint64_t id = 0;
            uint8_t d[IDENT_DATA_ID_BYTES];
            if (sp2) *sp2 = '\0';
            ok = sp2 && parse_u64(val, &id) && id > 0 && unhex(sp2 + 1, d, sizeof(d)) &&
                 ident_set_peer(out, id, d);
        } else {
            ok = false;
        }
        if (!ok)
            rc = st_error(err, err_len, STORAGE_ECORRUPT, "%s: line %zu: bad '%s' entry", path,
                          line_no, key);
    }
    free(text);
    if (!rc && (!have_version || !have_node || !have_data))
        rc = st_error(err, err_len, STORAGE_ECORRUPT,
                      "%s: incomplete (version, node-id and data-id are required)", path);
    return rc;
}

int ident_save(const char *dir, const struct identity *id, const struct storage_io *io, char *err,
               size_t err_len)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof(path), "%s/%s", dir, IDENT_FILE);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    char data_hex[2 * IDENT_DATA_ID_BYTES + 1];
    hex(data_hex, id->data_id, IDENT_DATA_ID_BYTES);
    size_t cap = 4096 + IDENT_CLUSTER_MAX + IDENT_PEERS_MAX * 64;
    char *text = malloc(cap);
    if (!text) return st_error(err, err_len, STORAGE_ENOMEM, "%s: out of memory", path);
    int n = snprintf(text, cap,
                     "# synod: which node and cluster this data directory belongs to. Written "
                     "when the directory\n# was new, checked at every start. Do not edit: a "
                     "member whose data is lost must be\n# removed and added again "
                     "(docs/cluster.md).\nversion %d\nnode-id %llu\ncluster-id %s\ncluster "
                     "%s\njoined %d\ndata-id %s\n",
                     IDENT_VERSION, (unsigned long long)id->node_id, id->cluster_id, id->cluster,
                     id->joined ? 1 : 0, data_hex);
    for (size_t i = 0; i < id->n_peers && n > 0 && (size_t)n < cap; i++) {
        char ph[2 * IDENT_DATA_ID_BYTES + 1];
        hex(ph, id->peers[i].data_id, IDENT_DATA_ID_BYTES);
        n += snprintf(text + n, cap - (size_t)n, "peer %llu %s\n",
                      (unsigned long long)id->peers[i].node_id, ph);
    }
    int rc = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = st_error(err, err_len, STORAGE_EIO, "create %s: %s", tmp, strerror(errno));
    } else {
        rc = st_pwrite_all(io, fd, tmp, 0, text, (size_t)n, err, err_len);
        if (!rc) rc = st_fsync(io, fd, tmp, err, err_len);
        close(fd);
        if (!rc && rename(tmp, path) != 0)
            rc = st_error(err, err_len, STORAGE_EIO, "rename %s: %s", tmp, strerror(errno));
        if (!rc) rc = st_fsync_dir(io, dir, err, err_len);
    }
    free(text);
    return rc;
}

const uint8_t *ident_peer_data_id(const struct identity *id, uint64_t node_id)
{
    for (size_t i = 0; i < id->n_peers; i++)
        if (id->peers[i].node_id == node_id) return id->peers[i].data_id;
    return NULL;
}

bool ident_set_peer(struct identity *id, uint64_t node_id, const uint8_t *data_id)
{
    for (size_t i = 0; i < id->n_peers; i++)
        if (id->peers[i].node_id == node_id) {
            memcpy(id->peers[i].data_id, data_id, IDENT_DATA_ID_BYTES);
            return true;
        }
    if (id->n_peers == IDENT_PEERS_MAX) return false;
    id->peers[id->n_peers].node_id = node_id;
    memcpy(id->peers[id->n_peers].data_id, data_id, IDENT_DATA_ID_BYTES);
    id->n_peers++;
    return true;
}

void ident_forget_peer(struct identity *id, uint64_t node_id)
{
    for (size_t i = 0; i < id->n_peers; i++)
        if (id->peers[i].node_id == node_id) {
            id->peers[i] = id->peers[--id->n_peers];
            return;
        }
}
