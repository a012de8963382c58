/* test_data_acl.c — ACL users (src/data/acl.c) over a small fake catalog:
 * - the default user and a new user, described as Redis 7.0 describes them (ACL LIST);
 * - SETUSER errors with Redis's texts, and a failing op leaving the user unchanged (atomic);
 * - the command rules' description: +@all / -@all first, categories, single commands,
 *   subcommands, first-args, and a container taking its subcommands with it;
 * - permission checks: commands, subcommands, first-args, keys (~ %R~ %W~), channels (a
 *   PSUBSCRIBE pattern matched literally), selectors, NO_AUTH commands;
 * - DELUSER (the default user stays), password hashes (#, !), and the snapshot codec through
 *   ACL_EFFECT and data_snapshot_save/load (a round trip keeps every user; truncation fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "data/acl.h"
#include "test_data_helpers.h"
#include "test_data_recorder.h"

/* cats: bit i of acl_cat_names (keyspace 0, read 1, write 2, string 7, pubsub 12, admin 13,
 * fast 14, slow 15, dangerous 17, connection 18) */
#define C(n) (1u << (n))
static const acl_cmd cmds[] = {
    {"get", C(1) | C(7) | C(14), -1, 0},
    {"set", C(2) | C(7) | C(15), -1, 0},
    {"client", C(15), -1, 0},
    {"client|id", C(15) | C(18), 2, 0},
    {"client|kill", C(13) | C(15) | C(17) | C(18), 2, 0},
    {"select", C(14) | C(18), -1, 0},
    {"publish", C(12) | C(14), -1, 0},
    {"subscribe", C(12) | C(15), -1, 0},
    {"auth", C(14) | C(18), -1, ACL_CMD_NO_AUTH},
    {"config", C(15), -1, 0},
    {"config|get", C(13) | C(15) | C(17), 9, 0},
    {"config|set", C(13) | C(15) | C(17), 9, 0},
    {"keys", C(0) | C(1) | C(15) | C(17), -1, 0},
};
static const acl_catalog cat = {cmds, sizeof(cmds) / sizeof(cmds[0])};

#define HASH_A "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
#define HASH_B "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"

static char err[512];

/* ACL SETUSER name ops (ops separated by spaces); returns acl_setuser's result */
static int setuser(acl_table *t, const char *name, const char *ops)
{
    data_arg a[32];
    char buf[1024];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", ops);
    for (char *p = strtok(buf, " "); p && n < 32; p = strtok(NULL, " "))
        a[n++] = (data_arg){p, strlen(p)};
    data_arg nm = {name, strlen(name)};
    err[0] = '\0';
    return acl_setuser(t, &nm, n, a, err, sizeof(err));
}

static char *describe(acl_table *t, const char *name)
{
    static char out[2048];
    const acl_user *u = acl_find(t, name, strlen(name));
    assert_non_null(u);
    acl_buf b = {0};
    acl_describe(t, u, &b);
    snprintf(out, sizeof(out), "%s", b.p);
    acl_buf_free(&b);
    return out;
}

static char *commands(acl_table *t, const char *name)
{
    static char out[1024];
    acl_buf b = {0};
    acl_describe_commands(t, acl_find(t, name, strlen(name)), 0, &b);
    snprintf(out, sizeof(out), "%s", b.p);
    acl_buf_free(&b);
    return out;
}

/* acl_check of "argv..." (space-separated) for user; keys / channels: argv positions with
 * flags given as pairs */
static int check(acl_table *t, const char *name, const char *line, const acl_ref *keys, int nk,
                 const acl_ref *ch, int nc)
{
    data_arg a[16];
    char buf[256];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    for (char *p = strtok(buf, " "); p && n < 16; p = strtok(NULL, " "))
        a[n++] = (data_arg){p, strlen(p)};
    char full[64];
    int id;
    snprintf(full, sizeof(full), "%s|%s", a[0].ptr, n > 1 ? a[1].ptr : "");
    id = acl_catalog_find(&cat, full, strlen(full));
    if (id < 0) id = acl_catalog_find(&cat, a[0].ptr, a[0].len);
    assert_true(id >= 0);
    int idx = -1;
    return acl_check(t, acl_find(t, name, strlen(name)), id, n, a, keys, nk, ch, nc, &idx);
}

static void default_and_new_users(void **state)
{
    (void)state;
    acl_table *t = acl_create(&cat);
    assert_true(acl_is_default(t));
    assert_string_equal(describe(t, "default"), "on nopass ~* &* +@all");
    assert_int_equal(setuser(t, "newuser", ""), 0);
    assert_false(acl_is_default(t));
    assert_string_equal(describe(t, "newuser"), "off resetchannels -@all");
    assert_int_equal(acl_count(t), 2);
    assert_string_equal(acl_user_name(acl_at(t, 0), NULL), "default"); /* byte order */
    assert_int_equal(setuser(t, "a b", "on"), -1);
    assert_string_equal(err, "Usernames can't contain spaces or null characters");
    acl_destroy(t);
}

static void setuser_errors_are_redis_texts_and_atomic(void **state)
{
    (void)state;
    acl_table *t = acl_create(&cat);
    assert_int_equal(setuser(t, "u", "on ~a* +get"), 0);
    const char *before = "on ~a* resetchannels -@all +get";
    assert_string_equal(describe(t, "u"), before);
    assert_int_equal(setuser(t, "u", "+set +nosuch"), -1);
    assert_string_equal(err, "Error in ACL SETUSER modifier '+nosuch': Unknown command or "
                             "category name in ACL");
    assert_string_equal(describe(t, "u"), before); /* +set was not applied either */
    assert_int_equal(setuser(t, "u", "+config|get|x"), -1);
    assert_string_equal(err, "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg "
                             "of a subcommand is not supported");
    assert_int_equal(setuser(t, "u", "+get|a|b"), -1);
    assert_true(strstr(err, "Unknown command or category name in ACL") != NULL);
    assert_int_equal(setuser(t, "u", "+config|nosuch"), -1);
    assert_true(strstr(err, "Unknown command or category name in ACL") != NULL);
    assert_int_equal(setuser(t, "u", "#abc"), -1);
    assert_true(strstr(err, "The password hash must be exactly 64 characters") != NULL);
    assert_int_equal(setuser(t, "u", "!" HASH_A), -1);
    assert_true(strstr(err, "The password you are trying to remove from the user does not exist"));
    assert_int_equal(setuser(t, "u", "allkeys ~x"), -1);
    assert_true(strstr(err, "'~x': Adding a pattern after the * pattern (or the 'allkeys' flag)"));
    assert_int_equal(setuser(t, "u", "allchannels &x"), -1);
    assert_true(strstr(err, "(or the 'allchannels' flag)") != NULL);
    assert_int_equal(setuser(t, "u", "(+get ~x"), -1);
    assert_string_equal(err, "Unmatched parenthesis in acl selector starting at '(+get'.");
    assert_int_equal(setuser(t, "u", "%X~x"), -1);
    assert_true(strstr(err, "Syntax error") != NULL);
    assert_int_equal(setuser(t, "u", ">clear"), -1); /* must be hashed before the log */
    assert_string_equal(describe(t, "u"), before);
    assert_int_equal(setuser(t, "v", "on +nosuch"), -1); /* a failed SETUSER creates nothing */
    assert_null(acl_find(t, "v", 1));
    acl_destroy(t);
}

static void command_rules_described_as_redis(void **state)
{
    (void)state;
    acl_table *t = acl_create(&cat);
    setuser(t, "u", "+@all -client|kill");
    assert_string_equal(commands(t, "u"), "+@all -client|kill");
    setuser(t, "u", "-@all +client|id");
    assert_string_equal(commands(t, "u"), "-@all +client|id");
    setuser(t, "u", "+client"); /* the container takes its subcommands with it */
    assert_string_equal(commands(t, "u"), "-@all +client");
    setuser(t, "u", "+@all +client|id");
    assert_string_equal(commands(t, "u"), "+@all");
    setuser(t, "u", "-@all +select|0 +select|1");
    assert_string_equal(commands(t, "u"), "-@all +select|0 +select|1");
    setuser(t, "u", "+select"); /* the bit set: first-args dropped */
    assert_string_equal(commands(t, "u"), "-@all +select");
    setuser(t, "u", "-@all +config -config|set");
    assert_string_equal(commands(t, "u"), "-@all +config -config|set");
    /* a category alone stays alone, from either side */
    for (int c = 0; c < ACL_CATS; c++) {
        int on = 0;
        for (size_t i = 0; i < cat.n; i++)
            on |= (cmds[i].cats >> c) & 1;
        if (!on) continue;
        char ops[64], want[64];
        snprintf(ops, sizeof(ops), "reset +@all -@%s", acl_cat_names[c]);
        snprintf(want, sizeof(want), "+@all -@%s", acl_cat_names[c]);
        assert_int_equal(setuser(t, "cat", ops), 0);
        assert_string_equal(commands(t, "cat"), want);
        snprintf(ops, sizeof(ops), "reset -@all +@%s", acl_cat_names[c]);
        snprintf(want, sizeof(want), "-@all +@%s", acl_cat_names[c]);
        assert_int_equal(setuser(t, "cat", ops), 0);
        assert_string_equal(commands(t, "cat"), want);
    }
    setuser(t, "w", "on %R~r* %W~w* ~b %RW~c &ch sanitize-payload (+get ~k)");
    assert_string_equal(describe(t, "w"), "on sanitize-payload %R~r* %W~w* ~b ~c resetchannels "
                                          "&ch -@all (~k resetchannels -@all +get)");
    acl_destroy(t);
}

static void checks_commands_keys_channels_selectors(void **state)
{
    (void)state;
    acl_table *t = acl_create(&cat);
    acl_ref k1[] = {{1, ACL_KEY_READ}};
    acl_ref k1w[] = {{1, ACL_KEY_READ | ACL_KEY_WRITE}};
    acl_ref c1[] = {{1, 0}};
    acl_ref c1p[] = {{1, ACL_CH_PATTERN}};
    assert_int_equal(check(t, "default", "get anything", k1, 1, NULL, 0), ACL_OK);
    setuser(t, "u", "on nopass +get ~foo:*");
    assert_int_equal(check(t, "u", "get foo:1", k1, 1, NULL, 0), ACL_OK);
    assert_int_equal(check(t, "u", "get bar", k1, 1, NULL, 0), ACL_DENIED_KEY);
    assert_int_equal(check(t, "u", "set foo:1 v", k1w, 1, NULL, 0), ACL_DENIED_CMD);
    assert_int_equal(check(t, "u", "auth x", NULL, 0, NULL, 0), ACL_OK); /* no_auth */
    setuser(t, "u", "+set %R~r:* %W~w:*");
    assert_int_equal(check(t, "u", "get r:1", k1, 1, NULL, 0), ACL_OK);
    assert_int_equal(check(t, "u", "set r:1 v", k1w, 1, NULL, 0), ACL_DENIED_KEY);
    acl_ref kw[] = {{1, ACL_KEY_WRITE}};
    assert_int_equal(check(t, "u", "set w:1 v", kw, 1, NULL, 0), ACL_OK);
    assert_int_equal(check(t, "u", "get w:1", k1, 1, NULL, 0), ACL_DENIED_KEY);
    /* subcommands and first-args */
    setuser(t, "u", "+client|id +select|0");
    assert_int_equal(check(t, "u", "client id", NULL, 0, NULL, 0), ACL_OK);
    assert_int_equal(check(t, "u", "client kill x", NULL, 0, NULL, 0), ACL_DENIED_CMD);
    assert_int_equal(check(t, "u", "select 0", NULL, 0, NULL, 0), ACL_OK);
    assert_int_equal(check(t, "u", "select 1", NULL, 0, NULL, 0), ACL_DENIED_CMD);
    /* channels: none by default for a new user; a pattern is compared literally */
    setuser(t, "u", "+publish +subscribe");
    assert_int_equal(check(t, "u", "publish ch m", NULL, 0, c1, 1), ACL_DENIED_CHANNEL);
    setuser(t, "u", "&news.*");
    assert_int_equal(check(t, "u", "publish news.1 m", NULL, 0, c1, 1), ACL_OK);
    assert_int_equal(check(t, "u", "subscribe news.*", NULL, 0, c1p, 1), ACL_OK);
    assert_int_equal(check(t, "u", "subscribe news.1*", NULL, 0, c1p, 1), ACL_DENIED_CHANNEL);
    const acl_user *u = acl_find(t, "u", 1);
    assert_true(acl_channel_ok(u, "news.x", 6, 0));
    assert_false(acl_channel_ok(u, "other", 5, 0));
    /* a selector grants what the root does not */
    setuser(t, "s", "on nopass +get ~a (+set ~b)");
    assert_int_equal(check(t, "s", "set b v", k1w, 1, NULL, 0), ACL_OK);
    assert_int_equal(check(t, "s", "set a v", k1w, 1, NULL, 0), ACL_DENIED_KEY);
    assert_int_equal(check(t, "s", "get b", k1, 1, NULL, 0), ACL_DENIED_KEY);
    setuser(t, "s", "clearselectors");
    assert_int_equal(check(t, "s", "set b v", k1w, 1, NULL, 0), ACL_DENIED_CMD);
    assert_true(acl_user_unrestricted(acl_find(t, "default", 7)));
    assert_false(acl_user_unrestricted(acl_find(t, "s", 1)));
    acl_destroy(t);
}

static void passwords_and_deluser(void **state)
{
    (void)state;
    acl_table *t = acl_create(&cat);
    setuser(t, "u", "on #" HASH_A " #" HASH_B " #" HASH_A);
    const acl_user *u = acl_find(t, "u", 1);
    assert_int_equal(acl_user_passwords(u), 2);
    assert_true(acl_user_hash_ok(u, HASH_B));
    assert_false(acl_user_nopass(u));
    assert_int_equal(setuser(t, "u", "!" HASH_A), 0);
    u = acl_find(t, "u", 1);
    assert_false(acl_user_hash_ok(u, HASH_A));
    assert_string_equal(describe(t, "u"), "on #" HASH_B " resetchannels -@all");
    setuser(t, "u", "nopass");
    assert_int_equal(acl_user_passwords(acl_find(t, "u", 1)), 0);
    data_arg names[] = {{"u", 1}, {"nosuch", 6}, {"u", 1}};
    uint64_t gen = acl_generation(t);
    assert_int_equal(acl_deluser(t, 3, names, err, sizeof(err)), 1);
    assert_true(acl_generation(t) != gen);
    data_arg def[] = {{"x", 1}, {"default", 7}};
    setuser(t, "x", "");
    assert_int_equal(acl_deluser(t, 2, def, err, sizeof(err)), -1);
    assert_string_equal(err, "The 'default' user cannot be removed");
    assert_non_null(acl_find(t, "x", 1)); /* nothing deleted */
    acl_destroy(t);
}

static void snapshot_round_trip_through_acl_effect(void **state)
{
    (void)state;
    data_store *a = data_create(), *b = data_create();
    data_set_acl_catalog(a, &cat);
    data_set_acl_catalog(b, &cat);
    char d0[33], d1[33];
    data_digest(a, d0);
    assert_reply(a,
                 "ACL_EFFECT SETUSER alice on #" HASH_A " ~k:* &ch -@all +get +select|0 (+set ~w)",
                 "+OK");
    assert_reply(a, "ACL_EFFECT SETUSER default -client|kill", "+OK");
    assert_reply(a, "ACL_EFFECT SETUSER bob +nosuch",
                 "-ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name "
                 "in ACL");
    assert_reply(a, "ACL_EFFECT DELUSER default", "-ERR The 'default' user cannot be removed");
    assert_reply(a, "ACL_EFFECT SETUSER gone on", "+OK");
    assert_reply(a, "ACL_EFFECT DELUSER gone nobody", ":1");
    data_digest(a, d1);
    assert_string_not_equal(d0, d1); /* users are in the digest */
    sbuf img = snap(a);
    assert_int_equal(data_snapshot_load(b, img.p, img.len), 0);
    const acl_table *ta = data_acl(a), *tb = data_acl(b);
    assert_int_equal(acl_count(tb), 2);
    for (size_t i = 0; i < acl_count(ta); i++) {
        acl_buf x = {0}, y = {0};
        acl_describe(ta, acl_at(ta, i), &x);
        acl_describe(tb, acl_at(tb, i), &y);
        assert_string_equal(x.p, y.p);
        acl_buf_free(&x);
        acl_buf_free(&y);
    }
    char d2[33];
    data_digest(b, d2);
    assert_string_equal(d1, d2);
    /* a truncated snapshot fails and leaves b as it was */
    data_store *c = data_create();
    data_set_acl_catalog(c, &cat);
    assert_true(data_snapshot_load(c, img.p, img.len - 20) < 0);
    assert_true(acl_is_default(data_acl(c)));
    free(img.p);
    data_destroy(a);
    data_destroy(b);
    data_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_and_new_users),
        cmocka_unit_test(setuser_errors_are_redis_texts_and_atomic),
        cmocka_unit_test(command_rules_described_as_redis),
        cmocka_unit_test(checks_commands_keys_channels_selectors),
        cmocka_unit_test(passwords_and_deluser),
        cmocka_unit_test(snapshot_round_trip_through_acl_effect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
