/* cmd_acl.c — the ACL command family, Redis 7.0's replies: CAT, DELUSER / SETUSER (only when
 * not rewritten into ACL_EFFECT, which does not happen), DRYRUN, GENPASS, GETUSER, HELP, LIST,
 * LOAD / SAVE (refused: no ACL file), LOG, USERS, WHOAMI. Everything here reads this node's
 * applied user table (src/data/acl.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/server.h"
#include "util/strconv.h"

static int arg_is(const data_arg *a, const char *s)
{
    return data_arg_is(a, s);
}

static void reply_buf(client *c, acl_buf *b)
{
    srv_reply_bulk(c, b->p ? b->p : "", b->len);
    acl_buf_free(b);
}

static void reply_selector(const acl_table *t, client *c, const acl_user *u, size_t sel)
{
    acl_buf b = {0};
    srv_reply_cstr(c, "commands");
    acl_describe_commands(t, u, sel, &b);
    reply_buf(c, &b);
    srv_reply_cstr(c, "keys");
    acl_describe_keys(u, sel, &b);
    reply_buf(c, &b);
    srv_reply_cstr(c, "channels");
    acl_describe_channels(u, sel, &b);
    reply_buf(c, &b);
}

static void getuser(server *s, client *c, const data_arg *name)
{
    const acl_table *t = data_acl(s->ds);
    const acl_user *u = acl_find(t, name->ptr, name->len);
    if (!u) {
        srv_reply_null(c);
        return;
    }
    srv_reply_map(c, 6);
    srv_reply_cstr(c, "flags");
    const char *flags[4];
    size_t nf = 0;
    flags[nf++] = acl_user_enabled(u) ? "on" : "off";
    if (acl_user_nopass(u)) flags[nf++] = "nopass";
    if (acl_user_sanitize(u) < 0) flags[nf++] = "skip-sanitize-payload";
    if (acl_user_sanitize(u) > 0) flags[nf++] = "sanitize-payload";
    srv_reply_set(c, nf);
    for (size_t i = 0; i < nf; i++)
        srv_reply_cstr(c, flags[i]);
    srv_reply_cstr(c, "passwords");
    srv_reply_array(c, acl_user_passwords(u));
    for (size_t i = 0; i < acl_user_passwords(u); i++)
        srv_reply_cstr(c, acl_user_password(u, i));
    reply_selector(t, c, u, 0);
    srv_reply_cstr(c, "selectors");
    size_t ns = acl_user_selectors(u);
    srv_reply_array(c, ns - 1);
    for (size_t i = 1; i < ns; i++) {
        srv_reply_map(c, 3);
        reply_selector(t, c, u, i);
    }
}

static void list(server *s, client *c, int names_only)
{
    const acl_table *t = data_acl(s->ds);
    size_t n = acl_count(t);
    srv_reply_array(c, n);
    for (size_t i = 0; i < n; i++) {
        const acl_user *u = acl_at(t, i);
        size_t nl;
        const char *name = acl_user_name(u, &nl);
        if (names_only) {
            srv_reply_bulk(c, name, nl);
            continue;
        }
        acl_buf d = {0};
        acl_describe(t, u, &d);
        size_t len = 5 + nl + 1 + d.len;
        char *p = malloc(len + 1);
        if (!p) {
            acl_buf_free(&d);
            srv_reply_bulk(c, "", 0);
            continue;
        }
        memcpy(p, "user ", 5);
        memcpy(p + 5, name, nl);
        p[5 + nl] = ' ';
        memcpy(p + 6 + nl, d.p, d.len);
        srv_reply_bulk(c, p, len);
        free(p);
        acl_buf_free(&d);
    }
}

static void cat(server *s, client *c, int argc, const data_arg *argv)
{
    if (argc == 2) {
        srv_reply_array(c, ACL_CATS);
        for (int i = 0; i < ACL_CATS; i++)
            srv_reply_cstr(c, acl_cat_names[i]);
        return;
    }
    int k = acl_cat_lookup(argv[2].ptr, argv[2].len);
    if (k < 0) {
        srv_reply_errorf(c, "ERR Unknown category '%.*s'",
                         (int)(argv[2].len > 128 ? 128 : argv[2].len), argv[2].ptr);
        return;
    }
    const acl_catalog *ct = srv_acl_catalog(s);
    size_t n = 0;
    for (size_t i = 0; i < ct->n; i++)
        n += (ct->cmds[i].cats >> k) & 1;
    srv_reply_array(c, n);
    for (size_t i = 0; i < ct->n; i++)
        if ((ct->cmds[i].cats >> k) & 1) srv_reply_cstr(c, ct->cmds[i].name);
}

static void dryrun(server *s, client *c, int argc, const data_arg *argv)
{
    const acl_user *u = acl_find(data_acl(s->ds), argv[2].ptr, argv[2].len);
    if (!u) {
        srv_reply_errorf(c, "ERR User '%.*s' not found", (int)argv[2].len, argv[2].ptr);
        return;
    }
    const data_arg *cargv = argv + 3;
    int cargc = argc - 3;
    char buf[96];
    int arity_ok, flags, arity;
    const char *nm = srv_cmd_stat_name(cargc, cargv, &arity_ok, &flags, &arity, buf, sizeof(buf));
    if (!nm) nm = srv_cmd_acl_name(cargc, cargv, buf, sizeof(buf));
    if (!nm) {
        srv_reply_errorf(c, "ERR Command '%.*s' not found", (int)cargv[0].len, cargv[0].ptr);
        return;
    }
    if (!arity_ok) {
        srv_reply_errorf(c, "ERR wrong number of arguments for '%s' command", nm);
        return;
    }
    int idx = 0;
    const char *name;
    int rc = srv_acl_check_user(s, u, cargc, cargv, &idx, &name, buf, sizeof(buf));
    char msg[512];
    if (rc == ACL_OK) {
        srv_reply_status(c, "OK");
        return;
    }
    if (rc == ACL_DENIED_CMD)
        snprintf(msg, sizeof(msg), "This user has no permissions to run the '%s' command", name);
    else
        snprintf(msg, sizeof(msg), "This user has no permissions to access the '%.*s' %s",
                 (int)(cargv[idx].len > 256 ? 256 : cargv[idx].len), cargv[idx].ptr,
                 rc == ACL_DENIED_KEY ? "key" : "channel");
    srv_reply_cstr(c, msg);
}

static const char *const acl_help[] = {
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
};

void srv_cmd_acl(server *s, client *c, int argc, const data_arg *argv)
{
    const data_arg *sub = &argv[1];
    if (arg_is(sub, "whoami")) {
        size_t n;
        const char *u = srv_acl_username(c, &n);
        srv_reply_bulk(c, u, n);
    } else if (arg_is(sub, "users") || arg_is(sub, "list")) {
        list(s, c, arg_is(sub, "users"));
    } else if (arg_is(sub, "getuser")) {
        getuser(s, c, &argv[2]);
    } else if (arg_is(sub, "cat") && argc <= 3) {
        cat(s, c, argc, argv);
    } else if (arg_is(sub, "dryrun")) {
        dryrun(s, c, argc, argv);
    } else if (arg_is(sub, "genpass") && argc <= 3) {
        long long bits = 256;
        if (argc == 3 && !syn_string2ll(argv[2].ptr, argv[2].len, &bits)) {
            srv_reply_error(c, "ERR value is not an integer or out of range");
            return;
        }
        if (bits <= 0 || bits > 4096) {
            srv_reply_error(c, "ERR ACL GENPASS argument must be the number of bits for the "
                               "output password, a positive number up to 4096");
            return;
        }
        char pass[1024];
        size_t chars = (size_t)(bits + 3) / 4;
        srv_acl_genpass(pass, chars);
        srv_reply_bulk(c, pass, chars);
    } else if (arg_is(sub, "log") && argc <= 3) {
        long long count = 10;
        if (argc == 3) {
            if (arg_is(&argv[2], "reset")) {
                srv_acl_log_reset(s);
                srv_reply_status(c, "OK");
                return;
            }
            if (!syn_string2ll(argv[2].ptr, argv[2].len, &count)) {
                srv_reply_error(c, "ERR value is not an integer or out of range");
                return;
            }
        }
        srv_acl_reply_log(s, c, count);
    } else if (arg_is(sub, "load") || arg_is(sub, "save")) {
        srv_reply_error(c, "ERR This Redis instance is not configured to use an ACL file. You "
                           "may want to specify users via the ACL SETUSER command and then issue "
                           "a CONFIG REWRITE (assuming you have a Redis configuration file set) in "
                           "order to store users in the Redis configuration.");
    } else if (arg_is(sub, "help")) {
        size_t n = sizeof(acl_help) / sizeof(acl_help[0]);
        srv_reply_array(c, n);
        for (size_t i = 0; i < n; i++)
            srv_reply_status(c, acl_help[i]);
    } else if (arg_is(sub, "setuser") || arg_is(sub, "deluser")) {
        /* rewritten into ACL_EFFECT before routing (acl.c); not reached */
        srv_reply_error(c, "ERR ACL SETUSER / DELUSER must go through the log");
    } else {
        srv_reply_errorf(c,
                         "ERR unknown subcommand or wrong number of arguments for '%.*s'. Try "
                         "ACL HELP.",
                         (int)(sub->len > 128 ? 128 : sub->len), sub->ptr);
    }
}
