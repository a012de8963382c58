/* getkeys.c — which arguments of a data command are keys (COMMAND GETKEYS, and anything else
 * that must know a command's keys before running it).
 *
 * Fixed positions come from the table (first_key, last_key, key_step); commands flagged
 * DATA_CMD_MOVABLEKEYS find theirs as Redis 7.0's key specs and getkeys procs do:
 *   numkeys at a fixed index (LMPOP, BLMPOP, ZMPOP, BZMPOP, SINTERCARD, ZINTERCARD, ZUNION,
 *   ZINTER, ZDIFF; ZUNIONSTORE/ZINTERSTORE/ZDIFFSTORE after their destination), the STREAMS
 *   keyword (XREAD, XREADGROUP: the first half of what follows it), the STORE option (SORT), the
 *   STORE and STOREDIST keywords (GEORADIUS, GEORADIUSBYMEMBER: the first of each). */
#include <string.h>
#include <strings.h>

#include "data/data_internal.h"
#include "util/strconv.h"

static int arg_is(const data_arg *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

static int push(int *pos, int n, int cap, int p)
{
    if (n < cap) pos[n] = p;
    return n + 1;
}

/* numkeys at argv[at], keys right after it. */
static int keynum(int argc, const data_arg *argv, int at, int *pos, int n, int cap)
{
    long long nk;
    if (at >= argc || !syn_string2ll(argv[at].ptr, argv[at].len, &nk) || nk <= 0 ||
        nk > argc - at - 1)
        return -1;
    for (int i = 0; i < (int)nk; i++)
        n = push(pos, n, cap, at + 1 + i);
    return n;
}

static int sort_keys(int argc, const data_arg *argv, int *pos, int cap)
{
    int n = push(pos, 0, cap, 1), store = 0;
    for (int i = 2; i < argc; i++) {
        if (arg_is(&argv[i], "limit"))
            i += 2;
        else if (arg_is(&argv[i], "get") || arg_is(&argv[i], "by"))
            i += 1;
        else if (arg_is(&argv[i], "store") && i + 1 < argc)
            store = ++i; /* the last STORE wins, as when the command runs */
    }
    return store ? push(pos, n, cap, store) : n;
}

/* GEORADIUS / GEORADIUSBYMEMBER as Redis 7.0's key specs find them (its GETKEYS prefers them
 * to georadiusGetKeys): the source, then the argument after the first STORE and the one after
 * the first STOREDIST, each keyword looked for from argv[from] up to the next-to-last argument. */
static int keyword_key(int argc, const data_arg *argv, int from, const char *kw)
{
    for (int i = from; i < argc - 1; i++)
        if (arg_is(&argv[i], kw)) return i + 1;
    return 0;
}

static int georadius_keys(int argc, const data_arg *argv, int from, int *pos, int cap)
{
    int n = push(pos, 0, cap, 1);
    int store = keyword_key(argc, argv, from, "store");
    int storedist = keyword_key(argc, argv, from, "storedist");
    if (store) n = push(pos, n, cap, store);
    if (storedist) n = push(pos, n, cap, storedist);
    return n;
}

static int xread_keys(int argc, const data_arg *argv, int group, int *pos, int cap)
{
    int streams = 0;
    for (int i = 1; i < argc && !streams; i++) {
        if (arg_is(&argv[i], "block") || arg_is(&argv[i], "count"))
            i++;
        else if (group && arg_is(&argv[i], "group"))
            i += 2;
        else if (group && arg_is(&argv[i], "noack"))
            continue;
        else if (arg_is(&argv[i], "streams"))
            streams = i;
        else
            return -1;
    }
    /* the first half of what follows STREAMS (an odd count rounds down, as Redis's key spec) */
    int rest = streams ? argc - streams - 1 : 0;
    if (rest / 2 == 0) return -1;
    int n = 0;
    for (int i = 0; i < rest / 2; i++)
        n = push(pos, n, cap, streams + 1 + i);
    return n;
}

int data_cmd_getkeys(const data_cmd *cmd, int argc, const data_arg *argv, int *pos, int cap)
{
    const data_cmd_info *in = data_cmd_describe(cmd);
    const char *nm = in->name;
    if (in->flags & DATA_CMD_MOVABLEKEYS) {
        if (!strcmp(nm, "sort")) return sort_keys(argc, argv, pos, cap);
        if (!strcmp(nm, "georadius")) return georadius_keys(argc, argv, 6, pos, cap);
        if (!strcmp(nm, "georadiusbymember")) return georadius_keys(argc, argv, 5, pos, cap);
        if (!strcmp(nm, "xread") || !strcmp(nm, "xread_woken"))
            return xread_keys(argc, argv, 0, pos, cap);
        if (!strcmp(nm, "xreadgroup") || !strcmp(nm, "xreadgroup_woken"))
            return xread_keys(argc, argv, 1, pos, cap);
        if (!strcmp(nm, "blmpop") || !strcmp(nm, "bzmpop"))
            return keynum(argc, argv, 2, pos, 0, cap);
        if (!strcmp(nm, "zunionstore") || !strcmp(nm, "zinterstore") || !strcmp(nm, "zdiffstore"))
            return keynum(argc, argv, 2, pos, push(pos, 0, cap, 1), cap);
        return keynum(argc, argv, 1, pos, 0, cap); /* numkeys first */
    }
    if (in->first_key <= 0) return 0;
    int last = in->last_key < 0 ? argc + in->last_key : in->last_key;
    if (last >= argc) last = argc - 1;
    int step = in->key_step > 0 ? in->key_step : 1, n = 0;
    for (int i = in->first_key; i <= last; i += step)
        n = push(pos, n, cap, i);
    return n;
}
