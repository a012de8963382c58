/* node_ident.c — the data directory's identity (storage/identity.h) as the node uses it: checked
 * against the flags at start, and the peers' data ids that tell a wiped member from the one the
 * cluster knew. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/peerauth.h"
#include "node/node_internal.h"

/* The --cluster list in one spelling: members sorted by id, "id=host:port" joined by ",". */
static void canonical_cluster(const node_config *cfg, char *out, size_t cap)
{
    int order[NODE_MEMBERS_MAX];
    for (int i = 0; i < cfg->n_members; i++)
        order[i] = i;
    for (int i = 1; i < cfg->n_members; i++)
        for (int j = i; j > 0 && cfg->members[order[j]].id < cfg->members[order[j - 1]].id; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < cfg->n_members && used < cap; k++) {
        const node_member *m = &cfg->members[order[k]];
        int w = snprintf(out + used, cap - used,
                         strchr(m->host, ':') ? "%s%lld=[%s]:%d" : "%s%lld=%s:%d", k ? "," : "",
                         m->id, m->host, m->port);
        if (w < 0) break;
        used += (size_t)w;
    }
}

int node_ident_check(node *n, bool fresh)
{
    const node_config *cfg = &n->cfg;
    char err[1200], cluster[IDENT_CLUSTER_MAX + 1];
    canonical_cluster(cfg, cluster, sizeof(cluster));
    struct identity *id = &n->ident;
    int rc = ident_load(cfg->data_dir, id, err, sizeof(err));
    if (rc < 0 && rc != STORAGE_ENOENT) {
        fprintf(stderr, "synod: %s\n", err);
        return -1;
    }
    if (rc == STORAGE_ENOENT) {
        /* a new directory, or one written before IDENTITY existed: the flags define it now */
        memset(id, 0, sizeof(*id));
        id->node_id = (uint64_t)cfg->id;
        snprintf(id->cluster_id, sizeof(id->cluster_id), "%s", cfg->cluster_id);
        snprintf(id->cluster, sizeof(id->cluster), "%s", cluster);
        id->joined = cfg->join != 0;
        if (peerauth_random(id->data_id, sizeof(id->data_id)) < 0 ||
            ident_save(cfg->data_dir, id, NULL, err, sizeof(err)) < 0) {
            fprintf(stderr, "synod: cannot record the identity of %s: %s\n", cfg->data_dir, err);
            return -1;
        }
        syn_log(SYN_LOG_INFO, "data directory %s: identity recorded (node %lld, %s)", cfg->data_dir,
                cfg->id, fresh ? "new" : "existing data");
        return 0;
    }
    const char *what = NULL;
    char mine[IDENT_CLUSTER_MAX + 64], flags[IDENT_CLUSTER_MAX + 64];
    if (id->node_id != (uint64_t)cfg->id) {
        what = "node id";
        snprintf(mine, sizeof(mine), "%llu", (unsigned long long)id->node_id);
        snprintf(flags, sizeof(flags), "--id %lld", cfg->id);
    } else if (strcmp(id->cluster_id, cfg->cluster_id) != 0) {
        what = "cluster id";
        snprintf(mine, sizeof(mine), "'%s'", id->cluster_id);
        snprintf(flags, sizeof(flags), "--cluster-id '%s'", cfg->cluster_id);
    } else if (strcmp(id->cluster, cluster) != 0) {
        what = "bootstrap membership";
        snprintf(mine, sizeof(mine), "'%s'", id->cluster[0] ? id->cluster : "(this node alone)");
        snprintf(flags, sizeof(flags), "--cluster '%s'", cluster[0] ? cluster : "(none)");
    } else if (id->joined != (cfg->join != 0)) {
        what = "way it entered the cluster";
        snprintf(mine, sizeof(mine), "%s", id->joined ? "joined (--join 1)" : "bootstrap member");
        snprintf(flags, sizeof(flags), "%s", cfg->join ? "--join 1" : "no --join");
    }
    if (what) {
        fprintf(stderr,
                "synod: data directory %s belongs to another configuration: its %s is %s, this "
                "start gives %s. Refusing to start (a node restarted with other flags could count "
                "votes in another membership and split the cluster). Start it with the recorded "
                "values; change membership with SYNOD MEMBER ADD/REMOVE; a different node needs "
                "its own data directory.\n",
                cfg->data_dir, what, mine, flags);
        return -1;
    }
    return 0;
}

int node_ident_peer(node *n, raft_id peer, const uint8_t *data_id, char *err, size_t err_len)
{
    const uint8_t *known = ident_peer_data_id(&n->ident, peer);
    if (known && memcmp(known, data_id, IDENT_DATA_ID_BYTES) == 0) return 0;
    if (known) {
        snprintf(err, err_len,
                 "node %llu's data directory is not the one this cluster knew (its data was lost "
                 "or replaced): it may have voted or acknowledged entries it no longer has, so it "
                 "takes no part until it is removed (SYNOD MEMBER REMOVE %llu) and added again",
                 (unsigned long long)peer, (unsigned long long)peer);
        return -1;
    }
    char e2[512];
    if (!ident_set_peer(&n->ident, peer, data_id) ||
        ident_save(n->cfg.data_dir, &n->ident, NULL, e2, sizeof(e2)) < 0) {
        snprintf(err, err_len, "cannot record node %llu's data id", (unsigned long long)peer);
        return -1;
    }
    return 0;
}

void node_ident_forget(node *n, raft_id peer)
{
    if (!ident_peer_data_id(&n->ident, peer)) return;
    ident_forget_peer(&n->ident, peer);
    char err[512];
    if (ident_save(n->cfg.data_dir, &n->ident, NULL, err, sizeof(err)) < 0)
        syn_log(SYN_LOG_WARN, "cannot update %s/IDENTITY: %s", n->cfg.data_dir, err);
}
