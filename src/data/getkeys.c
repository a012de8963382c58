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
#include "util/assert.h"
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
        if (!strcmp(nm, "sort_ro")) return push(pos, 0, cap, 1);
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

/* --- key specs (COMMAND GETKEYSANDFLAGS) ------------------------------------------------- */

static const char *const key_flag_names[DATA_KEY_FLAG_COUNT] = {
    "RO",     "RW",     "OW",      "RM",         "access",         "update",
    "insert", "delete", "not_key", "incomplete", "variable_flags",
};

const char *data_key_flag_name(int i)
{
    SYN_ASSERT(i >= 0 && i < DATA_KEY_FLAG_COUNT);
    return key_flag_names[i];
}

/* An optionally negative decimal at *p, advancing past it (our table's text: asserted). */
static int spec_int(const char **p)
{
    const char *s = *p;
    int neg = *s == '-', v = 0;
    if (neg) s++;
    SYN_ASSERT(*s >= '0' && *s <= '9');
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    *p = s;
    return neg ? -v : v;
}

static void spec_expect(const char **p, char ch)
{
    SYN_ASSERT(**p == ch);
    (*p)++;
}

int data_keyspec_next(const char **p, data_keyspec *out)
{
    const char *s = *p;
    if (*s == '\0') return 0;
    memset(out, 0, sizeof(*out));
    while (*s != '@') {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e != ' ' && *e != '@') {
            SYN_ASSERT(*e != '\0');
            e++;
        }
        int bit = -1;
        for (int i = 0; i < DATA_KEY_FLAG_COUNT; i++)
            if (strlen(key_flag_names[i]) == (size_t)(e - s) &&
                memcmp(key_flag_names[i], s, (size_t)(e - s)) == 0)
                bit = i;
        SYN_ASSERT(bit >= 0);
        out->flags |= 1u << bit;
        s = e;
    }
    s++;
    out->search = *s++;
    if (out->search == 'i') {
        out->index = spec_int(&s);
    } else if (out->search == 'k') {
        out->keyword = s;
        while (*s != ',') {
            SYN_ASSERT(*s != '\0');
            s++;
        }
        out->keyword_len = (size_t)(s - out->keyword);
        s++;
        out->startfrom = spec_int(&s);
    } else {
        SYN_ASSERT(out->search == 'u');
    }
    spec_expect(&s, '+');
    out->find = *s++;
    if (out->find == 'r' || out->find == 'n') {
        for (int i = 0; i < 3; i++) {
            if (i) spec_expect(&s, ',');
            out->fk[i] = spec_int(&s);
        }
    } else {
        SYN_ASSERT(out->find == 'u');
    }
    if (*s == '#') {
        out->notes = ++s;
        while (*s != ';' && *s != '\0')
            s++;
        out->notes_len = (size_t)(s - out->notes);
    }
    SYN_ASSERT(*s == ';' || *s == '\0');
    if (*s == ';') s++;
    *p = s;
    return 1;
}

int data_keyspecs_have_keys(const char *specs)
{
    data_keyspec ks;
    while (data_keyspec_next(&specs, &ks))
        if (!(ks.flags & DATA_KEY_NOT_KEY)) return 1;
    return 0;
}

/* Where a keyword spec's range starts: after the first match of the keyword, looked for from
 * argv[startfrom] towards the end (never the last argument, which nothing can follow), or from
 * argv[argc + startfrom] towards the start (never argv[1]). 0 when it is not there. */
static int keyword_start(const data_keyspec *ks, int argc, const data_arg *argv)
{
    int fwd = ks->startfrom > 0;
    int i = fwd ? ks->startfrom : argc + ks->startfrom;
    for (; fwd ? i < argc - 1 : i > 1; i += fwd ? 1 : -1) {
        if (i < 1 || i >= argc) break;
        if (argv[i].len == ks->keyword_len &&
            strncasecmp(argv[i].ptr, ks->keyword, ks->keyword_len) == 0)
            return i + 1;
    }
    return 0;
}

/* Redis 7.0's reading of key specs: the keys each spec finds, in spec order, with its flags;
 * -1 when a spec cannot say (unknown, incomplete, or arguments that do not fit it). */
static int keys_from_specs(const char *specs, int argc, const data_arg *argv, int *pos,
                           uint32_t *flags, int cap)
{
    data_keyspec ks;
    int n = 0;
    while (data_keyspec_next(&specs, &ks)) {
        if (ks.flags & DATA_KEY_NOT_KEY) continue;
        int first, last, step;
        if (ks.search == 'i') {
            first = ks.index;
        } else if (ks.search == 'k') {
            first = keyword_start(&ks, argc, argv);
            if (!first) continue; /* an optional keyword that is absent */
        } else {
            return -1;
        }
        if (ks.find == 'r') {
            step = ks.fk[1];
            if (ks.fk[0] >= 0)
                last = first + ks.fk[0];
            else if (ks.fk[2] == 0)
                last = argc + ks.fk[0];
            else
                last = first + (argc - first) / ks.fk[2] + ks.fk[0];
        } else if (ks.find == 'n') {
            long long nk;
            int at = first + ks.fk[0];
            if (at >= argc || !syn_string2ll(argv[at].ptr, argv[at].len, &nk) || nk < 0 ||
                nk > argc)
                return -1;
            step = ks.fk[2];
            first += ks.fk[1];
            last = first + (int)nk - 1;
        } else {
            return -1;
        }
        if (last >= argc || last < first || first >= argc) return -1;
        SYN_ASSERT(step > 0);
        for (int i = first; i <= last; i += step) {
            if (n < cap) {
                pos[n] = i;
                flags[n] = ks.flags;
            }
            n++;
        }
        if (ks.flags & DATA_KEY_INCOMPLETE) return -1;
    }
    return n;
}

/* MIGRATE's keys by Redis 7.0's migrateGetKeys (its KEYS spec is incomplete): the key argument,
 * or every argument after KEYS (AUTH's and AUTH2's values are skipped, not taken for it), and
 * none when KEYS comes with a non-empty key argument. */
static int migrate_keys(int argc, const data_arg *argv, int *pos, int cap)
{
    int first = 3, num = 1;
    for (int i = 6; i < argc; i++) {
        if (arg_is(&argv[i], "auth2")) {
            i += 2;
        } else if (arg_is(&argv[i], "auth")) {
            i++;
        } else if (arg_is(&argv[i], "keys")) {
            if (argv[3].len > 0) return 0;
            first = i + 1;
            num = argc - first;
            break;
        }
    }
    for (int i = 0; i < num; i++)
        if (i < cap) pos[i] = first + i;
    return num;
}

/* SET's flags depend on GET anywhere among its options (Redis looks no further). */
static uint32_t set_key_flags(int argc, const data_arg *argv)
{
    for (int i = 3; i < argc; i++)
        if (arg_is(&argv[i], "get")) return DATA_KEY_RW | DATA_KEY_ACCESS | DATA_KEY_UPDATE;
    return DATA_KEY_OW | DATA_KEY_UPDATE;
}

/* BITFIELD reads only when every operation is a well-formed GET (or OVERFLOW). */
static uint32_t bitfield_key_flags(int argc, const data_arg *argv)
{
    for (int i = 2; i < argc; i++) {
        int rest = argc - i - 1;
        if (arg_is(&argv[i], "get") && rest >= 2)
            i += 2;
        else if (arg_is(&argv[i], "overflow") && rest >= 1)
            i += 1;
        else
            return DATA_KEY_RW | DATA_KEY_ACCESS | DATA_KEY_UPDATE;
    }
    return DATA_KEY_RO | DATA_KEY_ACCESS;
}

int data_keys_with_flags(const char *name, const char *specs, int argc, const data_arg *argv,
                         int *pos, uint32_t *flags, int cap)
{
    SYN_ASSERT(argc >= 1 && cap >= 1);
    int variable = 0;
    data_keyspec ks;
    for (const char *p = specs; data_keyspec_next(&p, &ks);)
        variable |= (ks.flags & DATA_KEY_VARIABLE_FLAGS) != 0;
    if (!variable) {
        int n = keys_from_specs(specs, argc, argv, pos, flags, cap);
        if (n >= 0) return n;
    }
    /* the commands whose specs cannot tell, by their own rules */
    if (!strcmp(name, "set") || !strcmp(name, "bitfield")) {
        pos[0] = 1;
        flags[0] = name[0] == 's' ? set_key_flags(argc, argv) : bitfield_key_flags(argc, argv);
        return 1;
    }
    if (!strcmp(name, "migrate")) {
        int n = migrate_keys(argc, argv, pos, cap);
        for (int i = 0; i < n && i < cap; i++)
            flags[i] = DATA_KEY_RW | DATA_KEY_ACCESS | DATA_KEY_DELETE;
        return n;
    }
    if (!strcmp(name, "sort") || !strcmp(name, "sort_ro")) {
        int n = name[4] ? push(pos, 0, cap, 1) : sort_keys(argc, argv, pos, cap);
        for (int i = 0; i < n && i < cap; i++)
            flags[i] = i == 0 ? DATA_KEY_RO | DATA_KEY_ACCESS : DATA_KEY_OW | DATA_KEY_UPDATE;
        return n;
    }
    return 0;
}

int data_cmd_acl_keys(const data_cmd *dc, const char *sub_name, const char *sub_specs, int argc,
                      const data_arg *argv, int *pos, unsigned *need, int cap)
{
    const data_cmd_info *in = data_cmd_describe(dc);
    const char *name = sub_specs && sub_specs[0] ? sub_name : in->name;
    const char *specs = sub_specs && sub_specs[0] ? sub_specs : in->key_specs;
    uint32_t *fl = dmem_alloc(NULL, (size_t)(cap > 0 ? cap : 1) * sizeof(*fl));
    int n = cap > 0 && specs[0] ? data_keys_with_flags(name, specs, argc, argv, pos, fl, cap) : 0;
    if (n > 0) {
        if (n > cap) n = cap;
        for (int i = 0; i < n; i++) /* Redis's ACLSelectorCheckKey */
            need[i] = ((fl[i] & DATA_KEY_ACCESS) ? 1u : 0u) |
                      ((fl[i] & (DATA_KEY_INSERT | DATA_KEY_DELETE | DATA_KEY_UPDATE)) ? 2u : 0u);
    } else { /* no spec to go by (a container's subcommand): the command's own read/write */
        n = data_cmd_getkeys(dc, argc, argv, pos, cap);
        if (n < 0) n = 0;
        if (n > cap) n = cap;
        for (int i = 0; i < n; i++)
            need[i] = (in->flags & DATA_CMD_WRITE) ? 2u : 1u;
    }
    dmem_free(NULL, fl);
    return n;
}
