/* node_cmd.c — the SYNOD command: CONSISTENCY, SNAPSHOT, TRANSFER-LEADER, MEMBER ADD/REMOVE/LIST,
 * FORWARDED (internal: marks a follower's relay connection). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "node/node_internal.h"

static bool is(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static int parse_id(const data_arg *a, raft_id *out)
{
    char buf[32];
    if (a->len == 0 || a->len >= sizeof(buf)) return -1;
    memcpy(buf, a->ptr, a->len);
    buf[a->len] = '\0';
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (*end || v == 0 || buf[0] == '-') return -1;
    *out = v;
    return 0;
}

static const char *const help_lines[] = {
    "SYNOD <subcommand> [<arg> ...]. Subcommands are:",
    "CONSISTENCY [linearizable|lease|stale]",
    "    Set (or get) the read consistency of this connection.",
    "SNAPSHOT",
    "    Snapshot the dataset now and compact the log behind it.",
    "TRANSFER-LEADER <id>",
    "    Hand leadership to node <id>.",
    "MEMBER ADD <id> <host:port>",
    "    Add node <id> (peer address host:port) as a learner; promoted once caught up.",
    "MEMBER REMOVE <id>",
    "    Remove node <id> from the cluster.",
    "MEMBER LIST",
    "    List the members: id, peer address, role.",
    "DIGEST",
    "    Digest of this node's applied dataset and its last applied log index.",
};

/* A node whose storage failed takes no part in membership or leadership any more (its raft
 * instance is frozen, node_fail): such commands get an error, here and not relayed (it no
 * longer knows the leader). */
static bool refuse_failed(node *n, client *c)
{
    if (!n->failed) return false;
    nreply_errorf(n, c, "ERR storage failure on this node: %s", n->fail_msg);
    return true;
}

/* Leader-only subcommands run on a follower are relayed to the leader. */
static bool relay(node *n, client *c, int argc, const data_arg *argv)
{
    if (n->role == RAFT_LEADER) return false;
    if (!n->leader || c->forwarded || !n->fw) {
        nreply_error(n, c, "TRYAGAIN not the leader and no leader known");
        return true;
    }
    const char *addr = n->leader == (raft_id)n->cfg.id ? n->cfg.client_addr
                                                       : peer_net_client_addr(n->pn, n->leader);
    if (!addr[0] || fwd_send(n->fw, addr, c, argc, argv) < 0)
        nreply_error(n, c, "TRYAGAIN the leader cannot be reached");
    return true;
}

static void member_cmd(node *n, client *c, int argc, const data_arg *argv)
{
    if (argc == 3 && is(&argv[2], "list")) {
        raft_status st;
        raft_status_get(n->r, &st);
        nreply_array(n, c, st.config.n_voters + st.config.n_learners);
        for (int k = 0; k < 2; k++) {
            uint32_t cnt = k ? st.config.n_learners : st.config.n_voters;
            for (uint32_t i = 0; i < cnt; i++) {
                raft_id id = k ? st.config.learners[i] : st.config.voters[i];
                nreply_array(n, c, 3);
                nreply_int(n, c, (long long)id);
                nreply_cstr(n, c, node_get_addr(n, id));
                bool lead = id == st.leader && !n->failed; /* frozen: may be stale */
                nreply_cstr(n, c, k ? "learner" : lead ? "leader" : "voter");
            }
        }
        return;
    }
    raft_id id;
    bool add = argc == 5 && is(&argv[2], "add");
    bool rem = argc == 4 && is(&argv[2], "remove");
    if (!add && !rem) {
        nreply_error(n, c, "ERR syntax: SYNOD MEMBER ADD <id> <host:port> | REMOVE <id> | LIST");
        return;
    }
    if (parse_id(&argv[3], &id) < 0) {
        nreply_error(n, c, "ERR invalid node id");
        return;
    }
    if (refuse_failed(n, c) || relay(n, c, argc, argv)) return;
    int rc;
    if (add) {
        char a[NODE_ADDR_MAX], host[NODE_ADDR_MAX];
        int port;
        if (argv[4].len >= sizeof(a)) {
            nreply_error(n, c, "ERR invalid address");
            return;
        }
        memcpy(a, argv[4].ptr, argv[4].len);
        a[argv[4].len] = '\0';
        if (net_parse_hostport(a, host, sizeof(host), &port) < 0 || port == 0) {
            nreply_error(n, c, "ERR invalid address (expected HOST:PORT)");
            return;
        }
        nentry_encode_addr(&n->scratch, id, a);
        rc = node_propose(n, NULL, n->scratch.data, n->scratch.len);
        if (rc == 0) {
            raft_conf_change cc = {RAFT_CC_ADD_LEARNER, id};
            rc = node_propose_cc(n, c, &cc);
        }
    } else {
        raft_conf_change cc = {RAFT_CC_REMOVE, id};
        rc = node_propose_cc(n, c, &cc);
    }
    if (rc < 0) nreply_errorf(n, c, "ERR membership change refused: %s", node_strerror(rc));
}

void node_cmd_synod(node *n, client *c, int argc, const data_arg *argv)
{
    if (argc < 2) {
        nreply_error(n, c, "ERR wrong number of arguments for 'synod' command");
        return;
    }
    const data_arg *sub = &argv[1];
    if (is(sub, "help")) {
        size_t k = sizeof(help_lines) / sizeof(help_lines[0]);
        nreply_array(n, c, k);
        for (size_t i = 0; i < k; i++)
            nreply_status(n, c, help_lines[i]);
    } else if (is(sub, "forwarded") && argc == 2) {
        c->forwarded = 1;
        nreply_status(n, c, "OK");
    } else if (is(sub, "prelude") && argc == 2) { /* internal: a relay's next request's */
        c->prelude_wanted = c->forwarded;         /* script prelude runs here */
        nreply_status(n, c, "OK");
    } else if (is(sub, "watched")) { /* internal: a follower's watched keys ahead of its EXEC */
        nwatch_relayed(n, c, argc, argv);
    } else if (is(sub, "evictions") && argc == 3) {
        /* internal: a follower over maxmemory by <bytes> asks before a tracking read (node.c
         * evictions_wait); this leader's OOM gate evicted for it already (server/client.c) */
        nreply_int(n, c, n->role == RAFT_LEADER ? (long long)n->evict_wait_index : 0);
    } else if (is(sub, "consistency") && argc <= 3) {
        static const char *names[] = {"linearizable", "lease", "stale"};
        if (argc == 2) {
            nreply_cstr(n, c, names[c->consistency]);
            return;
        }
        for (int i = 0; i < 3; i++) {
            if (is(&argv[2], names[i])) {
                c->consistency = i;
                nreply_status(n, c, "OK");
                return;
            }
        }
        nreply_error(n, c, "ERR consistency must be linearizable, lease or stale");
    } else if (is(sub, "digest") && argc == 2) {
        /* this node's state, with no network (compare nodes at the same applied index) */
        char d[33];
        data_digest(n->ds, d);
        nreply_array(n, c, 2);
        nreply_cstr(n, c, d);
        nreply_int(n, c, (long long)n->applied);
    } else if (is(sub, "snapshot") && argc == 2) {
        if (refuse_failed(n, c)) return;
        char err[512];
        if (node_snapshot(n, err, sizeof(err)) < 0)
            nreply_errorf(n, c, "ERR snapshot failed: %s", err);
        else
            nreply_status(n, c, "OK");
    } else if (is(sub, "transfer-leader") && argc == 3) {
        raft_id id;
        if (parse_id(&argv[2], &id) < 0) {
            nreply_error(n, c, "ERR invalid node id");
            return;
        }
        if (refuse_failed(n, c)) return;
        if (id == (raft_id)n->cfg.id && n->role == RAFT_LEADER) {
            nreply_status(n, c, "OK");
            return;
        }
        if (relay(n, c, argc, argv)) return;
        int rc = raft_transfer_leader(n->r, id);
        if (rc < 0)
            nreply_errorf(n, c, "ERR transfer refused: %s", raft_strerror(rc));
        else
            nreply_status(n, c, "OK");
    } else if (is(sub, "member") && argc >= 3) {
        member_cmd(n, c, argc, argv);
    } else {
        nreply_errorf(n, c,
                      "ERR unknown subcommand or wrong number of arguments for '%.*s'. "
                      "Try SYNOD HELP.",
                      (int)(sub->len > 64 ? 64 : sub->len), sub->ptr);
    }
}
