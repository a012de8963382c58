/* acl.h — ACL users as Redis 7.0 has them (ACL SETUSER rules, command categories, key and
 * channel patterns, selectors), kept as replicated state of the data layer: changed only by
 * applied log entries (ACL_EFFECT, data_cmds.h), carried by the snapshot (record kind 9), the
 * same on every replica. No I/O, no clock, no hashing: passwords arrive already hashed
 * (SHA-256, 64 lower-case hex digits); the server turns `>pass` / `<pass` into `#hash` /
 * `!hash` before anything is logged, so clear text never reaches the log or a snapshot.
 *
 * The command catalog (every command and subcommand with its categories) belongs to the
 * server; it hands it over once (data_acl_set_catalog) and it must stay valid and unchanged
 * for the life of the store. A command's id is its index in the catalog. The catalog is the
 * same on every node running the same build; snapshots store each user as its rule string
 * (ACL LIST's form), not as bits, so they stay valid when the catalog grows.
 *
 * Ownership: users and strings returned here belong to the table and stay valid until the
 * next change of the table (acl_generation moves on every change). */
#ifndef SYNOD_DATA_ACL_H
#define SYNOD_DATA_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"

/* Redis 7.0's categories, in its order (ACL CAT). Bit i of a command's cats is category i. */
#define ACL_CATS 21
extern const char *const acl_cat_names[ACL_CATS];
int acl_cat_lookup(const char *name, size_t len); /* case-insensitive; -1 if unknown */

enum { ACL_CMD_NO_AUTH = 1u << 0 }; /* AUTH, HELLO, QUIT, RESET: every user may run them */
typedef struct {
    const char *name; /* full name, lower case: "get", "client|kill" */
    uint32_t cats;    /* bit i: acl_cat_names[i] */
    int parent;       /* catalog index of its container command, -1 for a top-level command */
    unsigned flags;   /* ACL_CMD_* */
} acl_cmd;
/* Containers come before their subcommands (a subcommand's parent index is smaller). */
typedef struct {
    const acl_cmd *cmds;
    size_t n;
} acl_catalog;
/* A command's id by full name ("config|get"), case-insensitive; -1 if unknown. */
int acl_catalog_find(const acl_catalog *cat, const char *name, size_t len);

typedef struct acl_table acl_table;
typedef struct acl_user acl_user;

/* A table holding only the default user ("on nopass ~* &* +@all"). NULL out of memory. */
acl_table *acl_create(const acl_catalog *cat);
void acl_destroy(acl_table *t);
const acl_catalog *acl_get_catalog(const acl_table *t);
uint64_t acl_generation(const acl_table *t); /* changes on every change of any user */

const acl_user *acl_find(const acl_table *t, const char *name, size_t len);
size_t acl_count(const acl_table *t);
const acl_user *acl_at(const acl_table *t, size_t i); /* by name, byte order (ACL USERS) */
const char *acl_user_name(const acl_user *u, size_t *len);
int acl_user_enabled(const acl_user *u);
int acl_user_nopass(const acl_user *u);
int acl_user_sanitize(const acl_user *u); /* 1 sanitize-payload, -1 skip-sanitize-payload, 0 */
size_t acl_user_passwords(const acl_user *u);
const char *acl_user_password(const acl_user *u, size_t i); /* 64 hex digits, NUL-terminated */
/* Is hex (64 lower-case hex digits of SHA-256) one of u's passwords? Takes the same time
 * whichever password matches, or none. */
int acl_user_hash_ok(const acl_user *u, const char *hex);

/* ACL SETUSER name op...: ops in the logged form (no `>` / `<`: those are refused). Applies all
 * ops to a copy and installs it only if every op is valid (Redis 7.0's rule); creates the user
 * if needed. Returns 0, or -1 with Redis's error text (without "ERR ") in err. */
int acl_setuser(acl_table *t, const data_arg *name, int nops, const data_arg *ops, char *err,
                size_t err_cap);
/* ACL DELUSER name...: how many existed (and were deleted), or -1 with the error in err (the
 * default user cannot be removed; then nothing is deleted). */
int acl_deluser(acl_table *t, int n, const data_arg *names, char *err, size_t err_cap);

/* Text forms, into a growing buffer the caller frees (p is NUL-terminated; p NULL = empty). */
typedef struct {
    char *p;
    size_t len, cap;
} acl_buf;
void acl_buf_free(acl_buf *b);
void acl_describe(const acl_table *t, const acl_user *u, acl_buf *out); /* ACL LIST, no name */
size_t acl_user_selectors(const acl_user *u); /* including the root selector (index 0) */
/* GETUSER's fields of selector i: "commands" (always starts +@all or -@all), "keys",
 * "channels". */
void acl_describe_commands(const acl_table *t, const acl_user *u, size_t sel, acl_buf *out);
void acl_describe_keys(const acl_user *u, size_t sel, acl_buf *out);
void acl_describe_channels(const acl_user *u, size_t sel, acl_buf *out);

/* Permission checks (Redis's ACL_* results; a higher value is the more relevant denial). */
enum {
    ACL_OK = 0,
    ACL_DENIED_CMD = 1,
    ACL_DENIED_KEY = 2,
    ACL_DENIED_AUTH = 3,
    ACL_DENIED_CHANNEL = 4
};
enum { ACL_KEY_READ = 1u << 0, ACL_KEY_WRITE = 1u << 1 }; /* a key reference's access */
enum { ACL_CH_PATTERN = 1u << 2 }; /* a channel reference is a PSUBSCRIBE pattern */
typedef struct {
    int pos; /* argv index */
    unsigned flags;
} acl_ref;
/* May u run command id with these arguments, keys and channels (argv indexes found by the
 * caller)? ACL_OK, or the denial and in *idx the argv index of the key or channel refused. */
int acl_check(const acl_table *t, const acl_user *u, int id, int argc, const data_arg *argv,
              const acl_ref *keys, int nkeys, const acl_ref *chans, int nchans, int *idx);
/* acl_check for a data command (as a script's redis.call runs it): its catalog id (a data
 * container's subcommand when argv[1] names one), its keys (read access for a read-only
 * command, write access for a write) and PUBLISH / SPUBLISH's channel. ACL_OK if the catalog
 * does not know the command. */
int acl_check_data(const acl_table *t, const acl_user *u, const data_cmd *dc, int argc,
                   const data_arg *argv, int *idx);
/* May u use this channel (pattern: a PSUBSCRIBE pattern, matched literally)? */
int acl_channel_ok(const acl_user *u, const char *ch, size_t len, int pattern);
/* Is u free of any key, channel and command restriction (every selector aside)? */
int acl_user_unrestricted(const acl_user *u);

/* Snapshot codec: does the table differ from a fresh one (only then is it saved)? */
int acl_is_default(const acl_table *t);
typedef void (*acl_put_cb)(void *ctx, const void *p, size_t len);
void acl_save(const acl_table *t, acl_put_cb put, void *ctx);
/* Parses what acl_save wrote (advancing *p, *left): a new table, NULL if malformed. */
acl_table *acl_load(const acl_catalog *cat, const unsigned char **p, size_t *left);

/* The store's table (data_set_acl_catalog replaces it with a fresh one on the new catalog;
 * until then the catalog is empty). Data commands reach it through ACL_EFFECT. */
void data_set_acl_catalog(data_store *ds, const acl_catalog *cat);
const acl_table *data_acl(const data_store *ds);
/* Called after an applied ACL_EFFECT changed users, on every replica: name of the user set or
 * deleted (deleted = 1), or name NULL after a snapshot load replaced the whole table. Must not
 * call back into the store. NULL = none. */
typedef void (*data_acl_cb)(void *ctx, const char *name, size_t len, int deleted);
void data_set_acl_hook(data_store *ds, data_acl_cb cb, void *ctx);

#endif
