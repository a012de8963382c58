/* node_pubsub.c — pub/sub delivery from the apply path (docs/server.md "Pub/sub").
 *
 * PUBLISH is a log entry like a write: a follower relays it, the leader logs it, and every node
 * hands the message to its own subscribers as it applies the entry. One log order is one
 * delivery order, so every subscriber of a channel, on any node, sees its messages in the same
 * order; keyspace events ride the same path (they are raised by the data layer while a write
 * is applied). Entries this process replays from its own log at start were applied, and
 * possibly delivered, by its previous life (node.replayed_index): they deliver nothing, and a
 * snapshot install applies no entry at all, so no message is delivered twice by one node. */
#include "node/node_internal.h"

static long long on_publish(void *ctx, int shard, const char *channel, size_t clen,
                            const char *msg, size_t mlen)
{
    node *n = ctx;
    if (!n->deliver || !n->host->publish) return 0;
    return n->host->publish(n->host->host, shard, channel, clen, msg, mlen);
}

static void on_event(void *ctx, int cls, const char *event, const char *key, size_t klen)
{
    node *n = ctx;
    if (n->deliver && n->host->keyspace_event)
        n->host->keyspace_event(n->host->host, cls, event, key, klen);
}

void npubsub_init(node *n)
{
    data_set_pubsub_hooks(n->ds, on_publish, on_event, n);
}
