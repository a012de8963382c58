/* node_pubsub.c — pub/sub delivery from the apply path (docs/server.md "Pub/sub").
 *
 * PUBLISH is a log entry like a write: a follower relays it, the leader logs it, and every node
 * hands the message to its own subscribers as it applies the entry. One log order is one
 * delivery order, so every subscriber of a channel, on any node, sees its messages in the same
 * order; keyspace events ride the same path (they are raised by the data layer while a write
 * is applied). Entries this process replays from its own log at start were applied, and
 * possibly delivered, by its previous life (node.replayed_index): they deliver nothing, and a
 * snapshot install applies no entry at all, so no message is delivered twice by one node. */
#include <string.h>
#include <strings.h>

#include "node/node_internal.h"

#ifdef SYNOD_BUG_PUBSUB_LOCAL
/* PLANTED BUG (scripts/build_pubsub_bug.sh; tests/integration/cluster/test_cluster_pubsub.py
 * must fail on it): the node a PUBLISH reaches delivers it to its own subscribers at once, as
 * Redis Cluster does, and skips it when the entry is applied; the others deliver at apply.
 * Every subscriber still gets every message once, but not in one order. */
#define BUG_RING 4096
static uint64_t bug_ring[BUG_RING];
static size_t bug_n;

static uint64_t bug_hash(const data_arg *ch, const data_arg *msg)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < ch->len; i++)
        h = (h ^ (unsigned char)ch->ptr[i]) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull;
    for (size_t i = 0; i < msg->len; i++)
        h = (h ^ (unsigned char)msg->ptr[i]) * 0x100000001b3ull;
    return h | 1;
}

void npubsub_bug_receipt(node *n, int argc, const data_arg *argv, int forwarded)
{
    if (forwarded || argc != 3 || argv[0].len != 7 || strncasecmp(argv[0].ptr, "publish", 7))
        return;
    if (n->host->publish)
        n->host->publish(n->host->host, 0, argv[1].ptr, argv[1].len, argv[2].ptr, argv[2].len);
    bug_ring[bug_n++ % BUG_RING] = bug_hash(&argv[1], &argv[2]);
}

static int bug_delivered(const char *channel, size_t clen, const char *msg, size_t mlen)
{
    data_arg ch = {channel, clen}, m = {msg, mlen};
    uint64_t h = bug_hash(&ch, &m);
    for (size_t i = 0; i < BUG_RING; i++)
        if (bug_ring[i] == h) {
            bug_ring[i] = 0;
            return 1;
        }
    return 0;
}
#endif

static long long on_publish(void *ctx, int shard, const char *channel, size_t clen, const char *msg,
                            size_t mlen)
{
    node *n = ctx;
    if (!n->deliver || !n->host->publish) return 0;
#ifdef SYNOD_BUG_PUBSUB_LOCAL
    if (!shard && bug_delivered(channel, clen, msg, mlen)) return 0;
#endif
    return n->host->publish(n->host->host, shard, channel, clen, msg, mlen);
}

static void on_event(void *ctx, int cls, const char *event, const char *key, size_t klen)
{
    node *n = ctx;
    if (!cls) { /* FLUSHALL / FLUSHDB: every cached key goes */
        if (n->deliver && n->host->key_touched)
            n->host->key_touched(n->host->host, NULL, 0, n->applying_conn);
        return;
    }
    if (n->deliver && n->host->keyspace_event)
        n->host->keyspace_event(n->host->host, cls, event, key, klen);
}

/* A PUBLISH / SPUBLISH this follower relays answers the receivers on this node, counted as it
 * relays it (they get the message when the entry is applied here): Redis Cluster's definition,
 * "clients connected to the same node as the publishing client" (docs/cluster.md). -1: not
 * one. */
long long npubsub_receivers(node *n, int argc, const data_arg *argv)
{
    if (argc != 3 || !n->host->receivers) return -1;
    int shard;
    if (argv[0].len == 7 && !strncasecmp(argv[0].ptr, "publish", 7))
        shard = 0;
    else if (argv[0].len == 8 && !strncasecmp(argv[0].ptr, "spublish", 8))
        shard = 1;
    else
        return -1;
    return n->host->receivers(n->host->host, shard, argv[1].ptr, argv[1].len);
}

void npubsub_touched(node *n, const char *key, size_t len)
{
    if (key && n->deliver && n->host->key_touched) /* flushes come from on_event */
        n->host->key_touched(n->host->host, key, len, n->applying_conn);
}

void npubsub_init(node *n)
{
    data_set_pubsub_hooks(n->ds, on_publish, on_event, n);
}
