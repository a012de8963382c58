/* data_cmds.h — the one table of data commands (an X-macro): name, Redis arity, flags, key
 * positions, key specs, group, since, summary, handler. Internal to src/data. */
#ifndef SYNOD_DATA_CMDS_H
#define SYNOD_DATA_CMDS_H

#define DC_W DATA_CMD_WRITE
#define DC_R DATA_CMD_READONLY
#define DC_F DATA_CMD_FAST
#define DC_M DATA_CMD_DENYOOM
#define DC_K DATA_CMD_MOVABLEKEYS
#define DC_B DATA_CMD_BLOCKING

/* PUBLISH / SPUBLISH (notify.c): writes, so that a replicated node logs them and every node
 * delivers the message as it applies the entry (docs/server.md "Pub/sub"). */
#define DATA_PUBSUB_COMMANDS(X)                                                                    \
    X(publish, 3, DC_W | DC_F, 0, 0, 0, "", "pubsub", "2.0.0", "Post a message to a channel",      \
      cmd_publish)                                                                                 \
    X(spublish, 3, DC_W | DC_F, 1, 1, 1, "not_key@i1+r0,1,0", "pubsub", "7.0.0",                   \
      "Post a message to a shard channel", cmd_spublish)

/* SORT (sort.c). SORT is a write (STORE); its STORE key is found by the data layer. Both have
 * movable keys, as in Redis (BY and GET patterns name keys too). */
#define DATA_SORT_COMMANDS(X)                                                                      \
    X(sort, -2, DC_W | DC_M | DC_K, 1, 1, 1,                                                       \
      "RO access@i1+r0,1,0;RO access@u+u#For the optional BY/GET keyword. It is marked 'unknown' " \
      "because the key names derive from the content of the key we sort;OW update@u+u#For the "    \
      "optional STORE keyword. It is marked 'unknown' because the keyword can appear anywhere in " \
      "the argument array",                                                                        \
      "generic", "1.0.0",                                                                          \
      "Sort the elements in a list, set or sorted set, optionally storing the result", cmd_sort)   \
    X(sort_ro, -2, DC_R | DC_K, 1, 1, 1,                                                           \
      "RO access@i1+r0,1,0;RO access@u+u#For the optional BY/GET keyword. It is marked 'unknown' " \
      "because the key names derive from the content of the key we sort",                          \
      "generic", "7.0.0",                                                                          \
      "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", cmd_sort_ro)

/* Lists (list.c). */
#define DATA_LIST_COMMANDS(X)                                                                      \
    X(lpush, -3, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "list", "1.0.0",              \
      "Prepend one or multiple elements to a list", cmd_lpush)                                     \
    X(rpush, -3, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "list", "1.0.0",              \
      "Append one or multiple elements to a list", cmd_rpush)                                      \
    X(lpushx, -3, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "list", "2.2.0",             \
      "Prepend an element to a list, only if the list exists", cmd_lpushx)                         \
    X(rpushx, -3, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "list", "2.2.0",             \
      "Append an element to a list, only if the list exists", cmd_rpushx)                          \
    X(lpop, -2, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "list", "1.0.0",               \
      "Remove and get the first elements in a list", cmd_lpop)                                     \
    X(rpop, -2, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "list", "1.0.0",               \
      "Remove and get the last elements in a list", cmd_rpop)                                      \
    X(llen, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "list", "1.0.0", "Get the length of a list",  \
      cmd_llen)                                                                                    \
    X(lrange, 4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "list", "1.0.0",                            \
      "Get a range of elements from a list", cmd_lrange)                                           \
    X(lindex, 3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "list", "1.0.0",                            \
      "Get an element from a list by its index", cmd_lindex)                                       \
    X(lset, 4, DC_W | DC_M, 1, 1, 1, "RW update@i1+r0,1,0", "list", "1.0.0",                       \
      "Set the value of an element in a list by its index", cmd_lset)                              \
    X(linsert, 5, DC_W | DC_M, 1, 1, 1, "RW insert@i1+r0,1,0", "list", "2.2.0",                    \
      "Insert an element before or after another element in a list", cmd_linsert)                  \
    X(lrem, 4, DC_W, 1, 1, 1, "RW delete@i1+r0,1,0", "list", "1.0.0",                              \
      "Remove elements from a list", cmd_lrem)                                                     \
    X(ltrim, 4, DC_W, 1, 1, 1, "RW delete@i1+r0,1,0", "list", "1.0.0",                             \
      "Trim a list to the specified range", cmd_ltrim)                                             \
    X(lpos, -3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "list", "6.0.6",                             \
      "Return the index of matching elements on a list", cmd_lpos)                                 \
    X(lmove, 5, DC_W | DC_M, 1, 2, 1, "RW access delete@i1+r0,1,0;RW insert@i2+r0,1,0", "list",    \
      "6.2.0", "Pop an element from a list, push it to another list and return it", cmd_lmove)     \
    X(rpoplpush, 3, DC_W | DC_M, 1, 2, 1, "RW access delete@i1+r0,1,0;RW insert@i2+r0,1,0",        \
      "list", "1.2.0",                                                                             \
      "Remove the last element in a list, prepend it to another list and return it",               \
      cmd_rpoplpush)                                                                               \
    X(lmpop, -4, DC_W | DC_K, 0, 0, 0, "RW access delete@i1+n0,1,1", "list", "7.0.0",              \
      "Pop elements from a list", cmd_lmpop)                                                       \
    X(blpop, -3, DC_W | DC_B, 1, -2, 1, "RW access delete@i1+r-2,1,0", "list", "2.0.0",            \
      "Remove and get the first element in a list, or block until one is available", cmd_blpop)    \
    X(brpop, -3, DC_W | DC_B, 1, -2, 1, "RW access delete@i1+r-2,1,0", "list", "2.0.0",            \
      "Remove and get the last element in a list, or block until one is available", cmd_brpop)     \
    X(blmove, 6, DC_W | DC_M | DC_B, 1, 2, 1, "RW access delete@i1+r0,1,0;RW insert@i2+r0,1,0",    \
      "list", "6.2.0",                                                                             \
      "Pop an element from a list, push it to another list and return it; or block until one is "  \
      "available",                                                                                 \
      cmd_blmove)                                                                                  \
    X(brpoplpush, 4, DC_W | DC_M | DC_B, 1, 2, 1,                                                  \
      "RW access delete@i1+r0,1,0;RW insert@i2+r0,1,0", "list", "2.2.0",                           \
      "Pop an element from a list, push it to another list and return it; or block until one is "  \
      "available",                                                                                 \
      cmd_brpoplpush)                                                                              \
    X(blmpop, -5, DC_W | DC_B | DC_K, 0, 0, 0, "RW access delete@i2+n0,1,1", "list", "7.0.0",      \
      "Pop elements from a list, or block until one is available", cmd_blmpop)

/* Sets (set.c). SPOP_EFFECT is the logged form of SPOP (spop_rewrite): not a Redis command. */
#define DATA_SET_COMMANDS(X)                                                                       \
    X(sadd, -3, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "set", "1.0.0",                \
      "Add one or more members to a set", cmd_sadd)                                                \
    X(srem, -3, DC_W | DC_F, 1, 1, 1, "RW delete@i1+r0,1,0", "set", "1.0.0",                       \
      "Remove one or more members from a set", cmd_srem)                                           \
    X(smembers, 2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "set", "1.0.0",                           \
      "Get all the members in a set", cmd_smembers)                                                \
    X(sismember, 3, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "set", "1.0.0",                          \
      "Determine if a given value is a member of a set", cmd_sismember)                            \
    X(smismember, -3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "set", "6.2.0",                 \
      "Returns the membership associated with the given elements for a set", cmd_smismember)       \
    X(scard, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "set", "1.0.0",                              \
      "Get the number of members in a set", cmd_scard)                                             \
    X(spop, -2, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "set", "1.0.0",                \
      "Remove and return one or multiple random members from a set", cmd_spop)                     \
    X(spop_effect, -4, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "set", "1.0.0",         \
      "Internal: SPOP as logged, naming the members the leader chose", cmd_spop_effect)            \
    X(srandmember, -2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "set", "1.0.0",                       \
      "Get one or multiple random members from a set", cmd_srandmember)                            \
    X(smove, 4, DC_W | DC_F, 1, 2, 1, "RW access delete@i1+r0,1,0;RW insert@i2+r0,1,0", "set",     \
      "1.0.0", "Move a member from one set to another", cmd_smove)                                 \
    X(sinter, -2, DC_R, 1, -1, 1, "RO access@i1+r-1,1,0", "set", "1.0.0",                          \
      "Intersect multiple sets", cmd_sinter)                                                       \
    X(sintercard, -3, DC_R | DC_K, 0, 0, 0, "RO access@i1+n0,1,1", "set", "7.0.0",                 \
      "Intersect multiple sets and return the cardinality of the result", cmd_sintercard)          \
    X(sinterstore, -3, DC_W | DC_M, 1, -1, 1, "RW update@i1+r0,1,0;RO access@i2+r-1,1,0", "set",   \
      "1.0.0", "Intersect multiple sets and store the resulting set in a key", cmd_sinterstore)    \
    X(sunion, -2, DC_R, 1, -1, 1, "RO access@i1+r-1,1,0", "set", "1.0.0", "Add multiple sets",     \
      cmd_sunion)                                                                                  \
    X(sunionstore, -3, DC_W | DC_M, 1, -1, 1, "OW update@i1+r0,1,0;RO access@i2+r-1,1,0", "set",   \
      "1.0.0", "Add multiple sets and store the resulting set in a key", cmd_sunionstore)          \
    X(sdiff, -2, DC_R, 1, -1, 1, "RO access@i1+r-1,1,0", "set", "1.0.0", "Subtract multiple sets", \
      cmd_sdiff)                                                                                   \
    X(sdiffstore, -3, DC_W | DC_M, 1, -1, 1, "OW update@i1+r0,1,0;RO access@i2+r-1,1,0", "set",    \
      "1.0.0", "Subtract multiple sets and store the resulting set in a key", cmd_sdiffstore)      \
    X(sscan, -3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "set", "2.8.0",                             \
      "Incrementally iterate Set elements", cmd_sscan)

/* Sorted sets (zset.c). */
#define DATA_ZSET_COMMANDS(X)                                                                      \
    X(zadd, -4, DC_W | DC_M | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "sorted-set", "1.2.0",         \
      "Add one or more members to a sorted set, or update its score if it already exists",         \
      cmd_zadd)                                                                                    \
    X(zincrby, 4, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "sorted-set",         \
      "1.2.0", "Increment the score of a member in a sorted set", cmd_zincrby)                     \
    X(zscore, 3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "1.2.0",               \
      "Get the score associated with the given member in a sorted set", cmd_zscore)                \
    X(zmscore, -3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "6.2.0",             \
      "Get the score associated with the given members in a sorted set", cmd_zmscore)              \
    X(zcard, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "sorted-set", "1.2.0",                       \
      "Get the number of members in a sorted set", cmd_zcard)                                      \
    X(zcount, 4, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.0.0",               \
      "Count the members in a sorted set with scores within the given values", cmd_zcount)         \
    X(zlexcount, 4, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.8.9",            \
      "Count the number of members in a sorted set between a given lexicographical range",         \
      cmd_zlexcount)                                                                               \
    X(zrange, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "1.2.0",                     \
      "Return a range of members in a sorted set", cmd_zrange)                                     \
    X(zrangestore, -5, DC_W | DC_M, 1, 2, 1, "OW update@i1+r0,1,0;RO access@i2+r0,1,0",            \
      "sorted-set", "6.2.0", "Store a range of members from sorted set into another key",          \
      cmd_zrangestore)                                                                             \
    X(zrangebyscore, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "1.0.5",              \
      "Return a range of members in a sorted set, by score", cmd_zrangebyscore)                    \
    X(zrangebylex, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.8.9",                \
      "Return a range of members in a sorted set, by lexicographical range", cmd_zrangebylex)      \
    X(zrevrange, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "1.2.0",                  \
      "Return a range of members in a sorted set, by index, with scores ordered from high to low", \
      cmd_zrevrange)                                                                               \
    X(zrevrangebyscore, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.2.0",           \
      "Return a range of members in a sorted set, by score, with scores ordered from high to low", \
      cmd_zrevrangebyscore)                                                                        \
    X(zrevrangebylex, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.8.9",             \
      "Return a range of members in a sorted set, by lexicographical range, ordered from higher "  \
      "to lower strings.",                                                                         \
      cmd_zrevrangebylex)                                                                          \
    X(zrank, 3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.0.0",                \
      "Determine the index of a member in a sorted set", cmd_zrank)                                \
    X(zrevrank, 3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.0.0",             \
      "Determine the index of a member in a sorted set, with scores ordered from high to low",     \
      cmd_zrevrank)                                                                                \
    X(zrem, -3, DC_W | DC_F, 1, 1, 1, "RW delete@i1+r0,1,0", "sorted-set", "1.2.0",                \
      "Remove one or more members from a sorted set", cmd_zrem)                                    \
    X(zremrangebyrank, 4, DC_W, 1, 1, 1, "RW delete@i1+r0,1,0", "sorted-set", "2.0.0",             \
      "Remove all members in a sorted set within the given indexes", cmd_zremrangebyrank)          \
    X(zremrangebyscore, 4, DC_W, 1, 1, 1, "RW delete@i1+r0,1,0", "sorted-set", "1.2.0",            \
      "Remove all members in a sorted set within the given scores", cmd_zremrangebyscore)          \
    X(zremrangebylex, 4, DC_W, 1, 1, 1, "RW delete@i1+r0,1,0", "sorted-set", "2.8.9",              \
      "Remove all members in a sorted set between the given lexicographical range",                \
      cmd_zremrangebylex)                                                                          \
    X(zpopmin, -2, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "sorted-set", "5.0.0",      \
      "Remove and return members with the lowest scores in a sorted set", cmd_zpopmin)             \
    X(zpopmax, -2, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "sorted-set", "5.0.0",      \
      "Remove and return members with the highest scores in a sorted set", cmd_zpopmax)            \
    X(zmpop, -4, DC_W | DC_K, 0, 0, 0, "RW access delete@i1+n0,1,1", "sorted-set", "7.0.0",        \
      "Remove and return members with scores in a sorted set", cmd_zmpop)                          \
    X(bzmpop, -5, DC_W | DC_B | DC_K, 0, 0, 0, "RW access delete@i2+n0,1,1", "sorted-set",         \
      "7.0.0",                                                                                     \
      "Remove and return members with scores in a sorted set or block until one is available",     \
      cmd_bzmpop)                                                                                  \
    X(bzpopmin, -3, DC_W | DC_F | DC_B, 1, -2, 1, "RW access delete@i1+r-2,1,0", "sorted-set",     \
      "5.0.0",                                                                                     \
      "Remove and return the member with the lowest score from one or more sorted sets, or block " \
      "until one is available",                                                                    \
      cmd_bzpopmin)                                                                                \
    X(bzpopmax, -3, DC_W | DC_F | DC_B, 1, -2, 1, "RW access delete@i1+r-2,1,0", "sorted-set",     \
      "5.0.0",                                                                                     \
      "Remove and return the member with the highest score from one or more sorted sets, or "      \
      "block until one is available",                                                              \
      cmd_bzpopmax)                                                                                \
    X(zunion, -3, DC_R | DC_K, 0, 0, 0, "RO access@i1+n0,1,1", "sorted-set", "6.2.0",              \
      "Add multiple sorted sets", cmd_zunion)                                                      \
    X(zinter, -3, DC_R | DC_K, 0, 0, 0, "RO access@i1+n0,1,1", "sorted-set", "6.2.0",              \
      "Intersect multiple sorted sets", cmd_zinter)                                                \
    X(zdiff, -3, DC_R | DC_K, 0, 0, 0, "RO access@i1+n0,1,1", "sorted-set", "6.2.0",               \
      "Subtract multiple sorted sets", cmd_zdiff)                                                  \
    X(zunionstore, -4, DC_W | DC_M | DC_K, 1, 1, 1, "OW update@i1+r0,1,0;RO access@i2+n0,1,1",     \
      "sorted-set", "2.0.0",                                                                       \
      "Add multiple sorted sets and store the resulting sorted set in a new key", cmd_zunionstore) \
    X(zinterstore, -4, DC_W | DC_M | DC_K, 1, 1, 1, "OW update@i1+r0,1,0;RO access@i2+n0,1,1",     \
      "sorted-set", "2.0.0",                                                                       \
      "Intersect multiple sorted sets and store the resulting sorted set in a new key",            \
      cmd_zinterstore)                                                                             \
    X(zdiffstore, -4, DC_W | DC_M | DC_K, 1, 1, 1, "OW update@i1+r0,1,0;RO access@i2+n0,1,1",      \
      "sorted-set", "6.2.0",                                                                       \
      "Subtract multiple sorted sets and store the resulting sorted set in a new key",             \
      cmd_zdiffstore)                                                                              \
    X(zintercard, -3, DC_R | DC_K, 0, 0, 0, "RO access@i1+n0,1,1", "sorted-set", "7.0.0",          \
      "Intersect multiple sorted sets and return the cardinality of the result", cmd_zintercard)   \
    X(zrandmember, -2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "6.2.0",                \
      "Get one or multiple random elements from a sorted set", cmd_zrandmember)                    \
    X(zscan, -3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "sorted-set", "2.8.0",                      \
      "Incrementally iterate sorted sets elements and associated scores", cmd_zscan)
/* Geospatial indexes over sorted sets (geo.c). GEORADIUS and GEORADIUSBYMEMBER are writes
 * (their STORE / STOREDIST forms), as in Redis; their STORE key is found by getkeys.c. */
#define DATA_GEO_COMMANDS(X)                                                                       \
    X(geoadd, -5, DC_W | DC_M, 1, 1, 1, "RW update@i1+r0,1,0", "geo", "3.2.0",                     \
      "Add one or more geospatial items in the geospatial index represented using a sorted set",   \
      cmd_geoadd)                                                                                  \
    X(geodist, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "geo", "3.2.0",                           \
      "Returns the distance between two members of a geospatial index", cmd_geodist)               \
    X(geohash, -2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "geo", "3.2.0",                           \
      "Returns members of a geospatial index as standard geohash strings", cmd_geohash)            \
    X(geopos, -2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "geo", "3.2.0",                            \
      "Returns longitude and latitude of members of a geospatial index", cmd_geopos)               \
    X(georadius, -6, DC_W | DC_M | DC_K, 1, 1, 1,                                                  \
      "RO access@i1+r0,1,0;OW update@kSTORE,6+r0,1,0;OW update@kSTOREDIST,6+r0,1,0", "geo",        \
      "3.2.0",                                                                                     \
      "Query a sorted set representing a geospatial index to fetch members matching a given "      \
      "maximum distance from a point",                                                             \
      cmd_georadius)                                                                               \
    X(georadiusbymember, -5, DC_W | DC_M | DC_K, 1, 1, 1,                                          \
      "RO access@i1+r0,1,0;OW update@kSTORE,5+r0,1,0;OW update@kSTOREDIST,5+r0,1,0", "geo",        \
      "3.2.0",                                                                                     \
      "Query a sorted set representing a geospatial index to fetch members matching a given "      \
      "maximum distance from a member",                                                            \
      cmd_georadiusbymember)                                                                       \
    X(georadius_ro, -6, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "geo", "3.2.10",                     \
      "A read-only variant for GEORADIUS", cmd_georadius_ro)                                       \
    X(georadiusbymember_ro, -5, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "geo", "3.2.10",             \
      "A read-only variant for GEORADIUSBYMEMBER", cmd_georadiusbymember_ro)                       \
    X(geosearch, -7, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "geo", "6.2.0",                         \
      "Query a sorted set representing a geospatial index to fetch members inside an area of a "   \
      "box or a circle.",                                                                          \
      cmd_geosearch)                                                                               \
    X(geosearchstore, -8, DC_W | DC_M, 1, 2, 1, "OW update@i1+r0,1,0;RO access@i2+r0,1,0", "geo",  \
      "6.2.0",                                                                                     \
      "Query a sorted set representing a geospatial index to fetch members inside an area of a "   \
      "box or a circle, and store the result in another key.",                                     \
      cmd_geosearchstore)

/* Bitmaps on string values (bitops.c). */
#define DATA_BITMAP_COMMANDS(X)                                                                    \
    X(setbit, 4, DC_W | DC_M, 1, 1, 1, "RW access update@i1+r0,1,0", "bitmap", "2.2.0",            \
      "Sets or clears the bit at offset of the string value. Creates the key if it doesn't "       \
      "exist.",                                                                                    \
      cmd_setbit)                                                                                  \
    X(getbit, 3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "bitmap", "2.2.0",                   \
      "Returns a bit value by offset.", cmd_getbit)                                                \
    X(bitcount, -2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "bitmap", "2.6.0",                       \
      "Counts the number of set bits (population counting) in a string.", cmd_bitcount)            \
    X(bitpos, -3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "bitmap", "2.8.7",                         \
      "Finds the first set (1) or clear (0) bit in a string.", cmd_bitpos)                         \
    X(bitop, -4, DC_W | DC_M, 2, -1, 1, "OW update@i2+r0,1,0;RO access@i3+r-1,1,0", "bitmap",      \
      "2.6.0", "Performs bitwise operations on multiple strings, and stores the result.",          \
      cmd_bitop)                                                                                   \
    X(bitfield, -2, DC_W | DC_M, 1, 1, 1,                                                          \
      "RW access update variable_flags@i1+r0,1,0#This command allows both access and "             \
      "modification of the key",                                                                   \
      "bitmap", "3.2.0", "Performs arbitrary bitfield integer operations on strings.",             \
      cmd_bitfield)                                                                                \
    X(bitfield_ro, -2, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "bitmap", "6.0.0",             \
      "Performs arbitrary read-only bitfield integer operations on strings.", cmd_bitfield_ro)

/* HyperLogLogs on string values (hll.c). PFDEBUG writes: GETREG and TODENSE convert to dense. */
#define DATA_HLL_COMMANDS(X)                                                                       \
    X(pfadd, -2, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "hyperloglog", "2.8.9",       \
      "Adds the specified elements to the specified HyperLogLog.", cmd_pfadd)                      \
    X(pfcount, -2, DC_R, 1, -1, 1,                                                                 \
      "RW access@i1+r-1,1,0#RW because it may change the internal representation of the key, and " \
      "propagate to replicas",                                                                     \
      "hyperloglog", "2.8.9",                                                                      \
      "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",  \
      cmd_pfcount)                                                                                 \
    X(pfmerge, -2, DC_W | DC_M, 1, -1, 1, "RW access insert@i1+r0,1,0;RO access@i2+r-1,1,0",       \
      "hyperloglog", "2.8.9", "Merge N different HyperLogLogs into a single one.", cmd_pfmerge)    \
    X(pfdebug, 3, DC_W | DC_M, 2, 2, 1, "RW access@i2+r0,1,0", "hyperloglog", "2.8.9",             \
      "Internal commands for debugging HyperLogLog values", cmd_pfdebug)                           \
    X(pfselftest, 1, 0, 0, 0, 0, "", "hyperloglog", "2.8.9",                                       \
      "An internal command for testing HyperLogLog values", cmd_pfselftest)

/* Streams (stream.c, stream_group.c). XREAD/XREADGROUP with BLOCK block like the list pops
 * (data_exec_block, data_cmd_may_block); XGROUP and XINFO are containers whose subcommands are
 * checked by the handlers. */
#define DATA_STREAM_COMMANDS(X)                                                                    \
    X(xadd, -5, DC_W | DC_M | DC_F, 1, 1, 1,                                                       \
      "RW update@i1+r0,1,0#UPDATE instead of INSERT because of the optional trimming feature",     \
      "stream", "5.0.0",                                                                           \
      "Appends a new message to a stream. Creates the key if it doesn't exist.", cmd_xadd)         \
    X(xrange, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "stream", "5.0.0",                         \
      "Returns the messages from a stream within a range of IDs.", cmd_xrange)                     \
    X(xrevrange, -4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "stream", "5.0.0",                      \
      "Returns the messages from a stream within a range of IDs in reverse order.", cmd_xrevrange) \
    X(xlen, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "stream", "5.0.0",                            \
      "Return the number of messages in a stream.", cmd_xlen)                                      \
    X(xread, -4, DC_R | DC_B | DC_K, 0, 0, 0, "RO access@kSTREAMS,1+r-1,1,2", "stream", "5.0.0",   \
      "Returns messages from multiple streams with IDs greater than the ones requested.",          \
      cmd_xread)                                                                                   \
    X(xread_woken, -4, DC_R | DC_B | DC_K, 0, 0, 0, "RO access@kSTREAMS,1+r-1,1,2", "stream",      \
      "5.0.0",                                                                                     \
      "Internal: XREAD as retried for a client woken by a write to its one key (Redis's rule)",    \
      cmd_xread_woken)                                                                             \
    X(xreadgroup, -7, DC_W | DC_B | DC_K, 0, 0, 0, "RO access@kSTREAMS,4+r-1,1,2", "stream",       \
      "5.0.0", "Returns new or historical messages from a stream for a consumer in a group.",      \
      cmd_xreadgroup)                                                                              \
    X(xreadgroup_woken, -7, DC_W | DC_B | DC_K, 0, 0, 0, "RO access@kSTREAMS,4+r-1,1,2", "stream", \
      "5.0.0",                                                                                     \
      "Internal: XREADGROUP as retried for a blocked client (Redis's rule for a woken reader)",    \
      cmd_xreadgroup_woken)                                                                        \
    X(xdel, -3, DC_W | DC_F, 1, 1, 1, "RW delete@i1+r0,1,0", "stream", "5.0.0",                    \
      "Returns the number of messages after removing them from a stream.", cmd_xdel)               \
    X(xtrim, -4, DC_W, 1, 1, 1, "RW delete@i1+r0,1,0", "stream", "5.0.0",                          \
      "Deletes messages from the beginning of a stream.", cmd_xtrim)                               \
    X(xadd_effect, -6, DC_W | DC_M | DC_F, 2, 2, 1, "RW update@i2+r0,1,0", "stream", "5.0.0",      \
      "Internal: XADD as logged with the leader's stream-node-max-entries", cmd_xadd_effect)       \
    X(xtrim_effect, -5, DC_W, 2, 2, 1, "RW delete@i2+r0,1,0", "stream", "5.0.0",                   \
      "Internal: XTRIM as logged with the leader's stream-node-max-entries", cmd_xtrim_effect)     \
    X(xsetid, -3, DC_W | DC_M | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "stream", "5.0.0",           \
      "An internal command for replicating stream values.", cmd_xsetid)                            \
    X(xack, -4, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "stream", "5.0.0",                    \
      "Returns the number of messages that were successfully acknowledged by the consumer group "  \
      "member of a stream.",                                                                       \
      cmd_xack)                                                                                    \
    X(xpending, -3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "stream", "5.0.0",                       \
      "Returns the information and entries from a stream consumer group's pending entries list.",  \
      cmd_xpending)                                                                                \
    X(xclaim, -6, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "stream", "5.0.0",                  \
      "Changes, or acquires, ownership of a message in a consumer group, as if the message was "   \
      "delivered a consumer group member.",                                                        \
      cmd_xclaim)                                                                                  \
    X(xautoclaim, -6, DC_W | DC_F, 1, 1, 1, "RW delete@i1+r0,1,0", "stream", "6.2.0",              \
      "Changes, or acquires, ownership of messages in a consumer group, as if the messages were "  \
      "delivered to as consumer group member.",                                                    \
      cmd_xautoclaim)                                                                              \
    X(xgroup, -2, DC_W, 2, 2, 1, "", "stream", "5.0.0",                                            \
      "A container for consumer groups commands.", cmd_xgroup)                                     \
    X(xinfo, -2, DC_R, 2, 2, 1, "", "stream", "5.0.0",                                             \
      "A container for stream introspection commands.", cmd_xinfo)

/* Coordination (coord.c; docs/coordination.md). Not in Redis. LOCK and ELECTION block in
 * their ACQUIRE / CAMPAIGN forms only (data_cmd_may_block). */
#define DATA_COORD_COMMANDS(X)                                                                     \
    X(lease, -2, DC_W, 0, 0, 0, "", "coordination", "synod",                                       \
      "Leases: GRANT ttl-ms, KEEPALIVE id, REVOKE id, TTL id, ATTACH id key..., LIST.", cmd_lease) \
    X(lock, -3, DC_W | DC_B, 0, 0, 0, "", "coordination", "synod",                                 \
      "Locks with fencing tokens: ACQUIRE name lease-id [TIMEOUT ms], RELEASE name token, OWNER "  \
      "name, CHECK name token.",                                                                   \
      cmd_lock)                                                                                    \
    X(election, -3, DC_W | DC_B, 0, 0, 0, "", "coordination", "synod",                             \
      "Leader election: CAMPAIGN name lease-id value [TIMEOUT ms], LEADER name, PROCLAIM name "    \
      "token value, RESIGN name token.",                                                           \
      cmd_election)

/* ACL users (acl.c): what ACL SETUSER / DELUSER are logged as, passwords already hashed, and
 * the error EXEC gives a queued command the user may no longer run. Not a Redis command. */
#define DATA_ACL_COMMANDS(X)                                                                       \
    X(acl_effect, -3, DC_W, 0, 0, 0, "", "server", "synod",                                        \
      "Internal: ACL SETUSER / DELUSER as logged (passwords hashed)", cmd_acl_effect)

/* The cluster's settings (settings.c): what CONFIG SET of a shared setting is logged as. Not a
 * Redis command. */
#define DATA_SETTINGS_COMMANDS(X)                                                                  \
    X(config_effect, -3, DC_W, 0, 0, 0, "", "server", "synod",                                     \
      "Internal: CONFIG SET of the cluster's settings as logged (name value ...)",                 \
      cmd_config_effect)

/* X(name, arity, flags, first_key, last_key, key_step, key_specs, group, since, summary, handler)
 *
 * key_specs are Redis 7.0's key specifications of the command (what COMMAND INFO reports and
 * COMMAND GETKEYSANDFLAGS uses), ';'-separated, each "FLAGS@SEARCH+FIND":
 *   FLAGS  space-separated: RO RW OW RM access update insert delete not_key incomplete
 *          variable_flags
 *   SEARCH iN (the key range starts at argv[N]), kWORD,FROM (after the first WORD looked for
 *          from argv[FROM]; backwards when FROM < 0), u (unknown: found by getkeys.c)
 *   FIND   rLAST,STEP,LIMIT (a range: LAST relative to the start, negative from the end; with
 *          LIMIT, 1/LIMIT of what remains), nIDX,FIRST,STEP (numkeys at start+IDX, the keys from
 *          start+FIRST), u (unknown)
 *   then optionally #NOTES, Redis's notes on the spec (COMMAND INFO), up to the next ';' */
#define DATA_COMMANDS(X)                                                                           \
    X(get, 2, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "string", "1.0.0",                      \
      "Returns the string value of a key.", cmd_get)                                               \
    X(set, -3, DC_W | DC_M, 1, 1, 1,                                                               \
      "RW access update variable_flags@i1+r0,1,0#RW and ACCESS due to the optional `GET` "         \
      "argument",                                                                                  \
      "string", "1.0.0", "Sets the string value of a key, ignoring its type.", cmd_set)            \
    X(setnx, 3, DC_W | DC_M | DC_F, 1, 1, 1, "OW insert@i1+r0,1,0", "string", "1.0.0",             \
      "Set the string value of a key only when the key doesn't exist.", cmd_setnx)                 \
    X(setex, 4, DC_W | DC_M, 1, 1, 1, "OW update@i1+r0,1,0", "string", "2.0.0",                    \
      "Sets the string value and expiration time of a key.", cmd_setex)                            \
    X(psetex, 4, DC_W | DC_M, 1, 1, 1, "OW update@i1+r0,1,0", "string", "2.6.0",                   \
      "Sets both string value and expiration time in milliseconds of a key.", cmd_psetex)          \
    X(getset, 3, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "string", "1.0.0",     \
      "Returns the previous string value of a key after setting it to a new value.", cmd_getset)   \
    X(getdel, 2, DC_W | DC_F, 1, 1, 1, "RW access delete@i1+r0,1,0", "string", "6.2.0",            \
      "Returns the string value of a key after deleting the key.", cmd_getdel)                     \
    X(getex, -2, DC_W | DC_F, 1, 1, 1,                                                             \
      "RW access update@i1+r0,1,0#RW and UPDATE because it changes the TTL", "string", "6.2.0",    \
      "Returns the string value of a key after setting its expiration time.", cmd_getex)           \
    X(mget, -2, DC_R | DC_F, 1, -1, 1, "RO access@i1+r-1,1,0", "string", "1.0.0",                  \
      "Atomically returns the string values of one or more keys.", cmd_mget)                       \
    X(mset, -3, DC_W | DC_M, 1, -1, 2, "OW update@i1+r-1,2,0", "string", "1.0.1",                  \
      "Atomically creates or modifies the string values of one or more keys.", cmd_mset)           \
    X(msetnx, -3, DC_W | DC_M, 1, -1, 2, "OW insert@i1+r-1,2,0", "string", "1.0.1",                \
      "Atomically modifies the string values of one or more keys only when all keys don't "        \
      "exist.",                                                                                    \
      cmd_msetnx)                                                                                  \
    X(incr, 2, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "string", "1.0.0",       \
      "Increments the integer value of a key by one.", cmd_incr)                                   \
    X(decr, 2, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "string", "1.0.0",       \
      "Decrements the integer value of a key by one.", cmd_decr)                                   \
    X(incrby, 3, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "string", "1.0.0",     \
      "Increments the integer value of a key by a number.", cmd_incrby)                            \
    X(decrby, 3, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "string", "1.0.0",     \
      "Decrements a number from the integer value of a key.", cmd_decrby)                          \
    X(incrbyfloat, 3, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "string",         \
      "2.6.0", "Increment the floating point value of a key by a number.", cmd_incrbyfloat)        \
    X(append, 3, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "string", "2.0.0",            \
      "Appends a string to the value of a key. Creates the key if it doesn't exist.", cmd_append)  \
    X(strlen, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "string", "2.2.0",                          \
      "Returns the length of a string value.", cmd_strlen)                                         \
    X(getrange, 4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "string", "2.4.0",                        \
      "Returns a substring of the string stored at a key.", cmd_getrange)                          \
    X(substr, 4, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "string", "1.0.0",                          \
      "Get a substring of the string stored at a key", cmd_getrange)                               \
    X(lcs, -3, DC_R, 1, 2, 1, "RO access@i1+r1,1,0", "string", "7.0.0",                            \
      "Find longest common substring", cmd_lcs)                                                    \
    X(setrange, 4, DC_W | DC_M, 1, 1, 1, "RW update@i1+r0,1,0", "string", "2.2.0",                 \
      "Overwrites a part of a string value with another by an offset.", cmd_setrange)              \
    X(del, -2, DC_W, 1, -1, 1, "RM delete@i1+r-1,1,0", "generic", "1.0.0",                         \
      "Deletes one or more keys.", cmd_del)                                                        \
    X(unlink, -2, DC_W | DC_F, 1, -1, 1, "RM delete@i1+r-1,1,0", "generic", "4.0.0",               \
      "Asynchronously deletes one or more keys.", cmd_unlink)                                      \
    X(exists, -2, DC_R | DC_F, 1, -1, 1, "RO@i1+r-1,1,0", "generic", "1.0.0",                      \
      "Determines whether one or more keys exist.", cmd_exists)                                    \
    X(copy, -3, DC_W | DC_M, 1, 2, 1, "RO access@i1+r0,1,0;OW update@i2+r0,1,0", "generic",        \
      "6.2.0", "Copies the value of a key to a new key.", cmd_copy)                                \
    X(dump, 2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "generic", "2.6.0",                           \
      "Return a serialized version of the value stored at the specified key.", cmd_dump)           \
    X(restore, -4, DC_W | DC_M, 1, 1, 1, "OW update@i1+r0,1,0", "generic", "2.6.0",                \
      "Create a key using the provided serialized value, previously obtained using DUMP.",         \
      cmd_restore)                                                                                 \
    X(restore_asking, -4, DC_W | DC_M, 1, 1, 1, "OW update@i1+r0,1,0", "server", "3.0.0",          \
      "An internal command for migrating keys in a cluster", cmd_restore)                          \
    X(migrate_del, -3, DC_W, 1, -1, 2, "RM delete@i1+r-1,2,0", "generic", "2.6.0",                 \
      "Internal: MIGRATE's deletion, of each key whose digest is still the one given",             \
      cmd_migrate_del)                                                                             \
    X(memory, -2, DC_R, 2, 2, 1, "", "server", "4.0.0",                                            \
      "A container for memory diagnostics commands.", cmd_memory)                                  \
    X(randomkey, 1, DC_R, 0, 0, 0, "", "generic", "1.0.0",                                         \
      "Returns a random key name from the database.", cmd_randomkey)                               \
    X(object, -2, DC_R, 2, 2, 1, "", "generic", "2.2.3",                                           \
      "A container for object introspection commands.", cmd_object)                                \
    X(type, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "generic", "1.0.0",                           \
      "Determines the type of value stored at a key.", cmd_type)                                   \
    X(expire, -3, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "generic", "1.0.0",                 \
      "Sets the expiration time of a key in seconds.", cmd_expire)                                 \
    X(pexpire, -3, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "generic", "2.6.0",                \
      "Sets the expiration time of a key in milliseconds.", cmd_pexpire)                           \
    X(expireat, -3, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "generic", "1.2.0",               \
      "Sets the expiration time of a key to a Unix timestamp.", cmd_expireat)                      \
    X(pexpireat, -3, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "generic", "2.6.0",              \
      "Sets the expiration time of a key to a Unix milliseconds timestamp.", cmd_pexpireat)        \
    X(ttl, 2, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "generic", "1.0.0",                     \
      "Returns the expiration time in seconds of a key.", cmd_ttl)                                 \
    X(pttl, 2, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "generic", "2.6.0",                    \
      "Returns the expiration time in milliseconds of a key.", cmd_pttl)                           \
    X(expiretime, 2, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "generic", "7.0.0",              \
      "Returns the expiration time of a key as a Unix timestamp.", cmd_expiretime)                 \
    X(pexpiretime, 2, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "generic", "7.0.0",             \
      "Returns the expiration time of a key as a Unix milliseconds timestamp.", cmd_pexpiretime)   \
    X(persist, 2, DC_W | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "generic", "2.2.0",                 \
      "Removes the expiration time of a key.", cmd_persist)                                        \
    X(keys, 2, DC_R, 0, 0, 0, "", "generic", "1.0.0",                                              \
      "Returns all key names that match a pattern.", cmd_keys)                                     \
    X(scan, -2, DC_R, 0, 0, 0, "", "generic", "2.8.0",                                             \
      "Iterates over the key names in the database.", cmd_scan)                                    \
    X(rename, 3, DC_W, 1, 2, 1, "RW access delete@i1+r0,1,0;OW update@i2+r0,1,0", "generic",       \
      "1.0.0", "Renames a key and overwrites the destination.", cmd_rename)                        \
    X(renamenx, 3, DC_W | DC_F, 1, 2, 1, "RW access delete@i1+r0,1,0;OW insert@i2+r0,1,0",         \
      "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.",            \
      cmd_renamenx)                                                                                \
    X(touch, -2, DC_R | DC_F, 1, -1, 1, "RO@i1+r-1,1,0", "generic", "3.2.1",                       \
      "Returns the number of existing keys out of those specified after updating the time they "   \
      "were last accessed.",                                                                       \
      cmd_touch)                                                                                   \
    X(hset, -4, DC_W | DC_M | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "hash", "2.0.0",               \
      "Creates or modifies the value of a field in a hash.", cmd_hset)                             \
    X(hsetnx, 4, DC_W | DC_M | DC_F, 1, 1, 1, "RW insert@i1+r0,1,0", "hash", "2.0.0",              \
      "Sets the value of a field in a hash only when the field doesn't exist.", cmd_hsetnx)        \
    X(hget, 3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "2.0.0",                       \
      "Returns the value of a field in a hash.", cmd_hget)                                         \
    X(hmset, -4, DC_W | DC_M | DC_F, 1, 1, 1, "RW update@i1+r0,1,0", "hash", "2.0.0",              \
      "Sets the values of multiple fields.", cmd_hmset)                                            \
    X(hmget, -3, DC_R | DC_F, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "2.0.0",                     \
      "Returns the values of all fields in a hash.", cmd_hmget)                                    \
    X(hgetall, 2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "2.0.0",                           \
      "Returns all fields and values in a hash.", cmd_hgetall)                                     \
    X(hdel, -3, DC_W | DC_F, 1, 1, 1, "RW delete@i1+r0,1,0", "hash", "2.0.0",                      \
      "Deletes one or more fields and their values from a hash. Deletes the hash if no fields "    \
      "remain.",                                                                                   \
      cmd_hdel)                                                                                    \
    X(hexists, 3, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "hash", "2.0.0",                           \
      "Determines whether a field exists in a hash.", cmd_hexists)                                 \
    X(hlen, 2, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "hash", "2.0.0",                              \
      "Returns the number of fields in a hash.", cmd_hlen)                                         \
    X(hkeys, 2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "2.0.0",                             \
      "Returns all fields in a hash.", cmd_hkeys)                                                  \
    X(hvals, 2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "2.0.0",                             \
      "Returns all values in a hash.", cmd_hvals)                                                  \
    X(hincrby, 4, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "hash", "2.0.0",      \
      "Increments the integer value of a field in a hash by a number.", cmd_hincrby)               \
    X(hincrbyfloat, 4, DC_W | DC_M | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "hash", "2.6.0", \
      "Increments the floating point value of a field by a number.", cmd_hincrbyfloat)             \
    X(hrandfield, -2, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "6.2.0",                       \
      "Returns one or more random fields from a hash.", cmd_hrandfield)                            \
    X(hstrlen, 3, DC_R | DC_F, 1, 1, 1, "RO@i1+r0,1,0", "hash", "3.2.0",                           \
      "Returns the length of the value of a field.", cmd_hstrlen)                                  \
    X(hscan, -3, DC_R, 1, 1, 1, "RO access@i1+r0,1,0", "hash", "2.8.0",                            \
      "Iterates over fields and values of a hash.", cmd_hscan)                                     \
    DATA_SET_COMMANDS(X)                                                                           \
    X(dbsize, 1, DC_R | DC_F, 0, 0, 0, "", "server", "1.0.0",                                      \
      "Returns the number of keys in the database.", cmd_dbsize)                                   \
    X(flushdb, -1, DC_W, 0, 0, 0, "", "server", "1.0.0",                                           \
      "Remove all keys from the current database.", cmd_flushdb)                                   \
    X(flushall, -1, DC_W, 0, 0, 0, "", "server", "1.0.0", "Removes all keys from all databases.",  \
      cmd_flushall)                                                                                \
    X(move, 3, DC_W | DC_F, 1, 1, 1, "RW access update@i1+r0,1,0", "generic", "1.0.0",             \
      "Move a key to another database", cmd_move)                                                  \
    X(swapdb, 3, DC_W | DC_F, 0, 0, 0, "", "server", "4.0.0", "Swaps two Redis databases",         \
      cmd_swapdb)                                                                                  \
    DATA_LIST_COMMANDS(X)                                                                          \
    DATA_ZSET_COMMANDS(X)                                                                          \
    DATA_GEO_COMMANDS(X)                                                                           \
    DATA_BITMAP_COMMANDS(X)                                                                        \
    DATA_SORT_COMMANDS(X)                                                                          \
    DATA_HLL_COMMANDS(X)                                                                           \
    DATA_STREAM_COMMANDS(X)                                                                        \
    DATA_COORD_COMMANDS(X)                                                                         \
    DATA_PUBSUB_COMMANDS(X)                                                                        \
    DATA_ACL_COMMANDS(X)                                                                           \
    DATA_SETTINGS_COMMANDS(X)

#endif
