/* settings.c — the cluster's settings: a replicated table of name -> value text written by
 * CONFIG_EFFECT (what CONFIG SET of a shared setting is logged as), kept in the snapshot
 * (record kind 11) and in the digest. The data layer does not interpret the names: the server's
 * hook checks and applies them (data.h, "Cluster settings"). */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "util/assert.h"

struct data_setting {
    char *name, *value;
    size_t nlen, vlen;
};

void data_set_settings_hook(data_store *ds, data_settings_cb cb, void *ctx)
{
    ds->settings_cb = cb;
    ds->settings_ctx = ctx;
}

void data_settings_each(const data_store *ds, data_setting_cb cb, void *ctx)
{
    for (size_t i = 0; i < ds->settings_n; i++) {
        const struct data_setting *x = &ds->settings[i];
        cb(ctx, x->name, x->nlen, x->value, x->vlen);
    }
}

size_t data_settings_count(const data_store *ds)
{
    return ds->settings_n;
}

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = memcmp(a, b, m);
    return c ? c : (an > bn) - (an < bn);
}

/* the slot of name in the sorted table: its index if there (*found = 1), else where it goes */
static size_t find(const data_store *ds, const char *name, size_t nlen, int *found)
{
    size_t lo = 0, hi = ds->settings_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(ds->settings[mid].name, ds->settings[mid].nlen, name, nlen);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

/* a name or value (checked: no NUL inside) as a C string */
static char *dup_text(const char *p, size_t n)
{
    char *s = strndup(p, n);
    SYN_ASSERT(s != NULL);
    return s;
}

static int put(data_store *ds, const char *name, size_t nlen, const char *value, size_t vlen)
{
    int found;
    size_t i = find(ds, name, nlen, &found);
    if (found) {
        struct data_setting *x = &ds->settings[i];
        free(x->value);
        x->value = dup_text(value, vlen);
        x->vlen = vlen;
        return 0;
    }
    if (ds->settings_n >= DATA_SETTINGS_MAX) return -1;
    struct data_setting *t = realloc(ds->settings, (ds->settings_n + 1) * sizeof(*t));
    SYN_ASSERT(t != NULL);
    ds->settings = t;
    memmove(t + i + 1, t + i, (ds->settings_n - i) * sizeof(*t));
    t[i] = (struct data_setting){dup_text(name, nlen), dup_text(value, vlen), nlen, vlen};
    ds->settings_n++;
    return 0;
}

void settings_free(struct data_setting *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].value);
    }
    free(t);
}

/* CONFIG_EFFECT name value [name value ...]: all pairs or none. Every pair is checked by the
 * hook first (the same binary gives the same answer on every replica), then stored and applied
 * in order. */
void cmd_config_effect(data_call *c)
{
    if (c->argc % 2 == 0) {
        reply_err(c, "ERR wrong number of arguments for 'config_effect' command");
        return;
    }
    int npairs = (c->argc - 1) / 2;
    size_t fresh = 0;
    char err[256];
    for (int i = 0; i < npairs; i++) {
        const data_arg *k = &c->argv[1 + 2 * i], *v = &c->argv[2 + 2 * i];
        if (k->len == 0 || k->len > DATA_SETTING_NAME_MAX || v->len > DATA_SETTING_VALUE_MAX ||
            memchr(k->ptr, '\0', k->len) || memchr(v->ptr, '\0', v->len)) {
            reply_err(c, "ERR CONFIG_EFFECT: a setting's name or value is malformed");
            return;
        }
        err[0] = '\0';
        if (c->ds->settings_cb && c->ds->settings_cb(c->ds->settings_ctx, k->ptr, k->len, v->ptr,
                                                     v->len, 0, err, sizeof(err)) < 0) {
            c->ops->error(c->rctx, err[0] ? err : "ERR CONFIG_EFFECT: refused",
                          strlen(err[0] ? err : "ERR CONFIG_EFFECT: refused"));
            return;
        }
        int found;
        (void)find(c->ds, k->ptr, k->len, &found);
        fresh += !found;
    }
    if (c->ds->settings_n + fresh > DATA_SETTINGS_MAX) {
        reply_err(c, "ERR CONFIG_EFFECT: too many cluster settings");
        return;
    }
    for (int i = 0; i < npairs; i++) {
        const data_arg *k = &c->argv[1 + 2 * i], *v = &c->argv[2 + 2 * i];
        SYN_ASSERT(put(c->ds, k->ptr, k->len, v->ptr, v->len) == 0);
        if (c->ds->settings_cb)
            (void)c->ds->settings_cb(c->ds->settings_ctx, k->ptr, k->len, v->ptr, v->len, 1, err,
                                     sizeof(err));
    }
    c->dirty = 1;
    reply_ok(c);
}

/* ---- snapshot codec: u32 count | count x (u32 len | name | u32 len | value), names strictly
 * ascending ---- */

void settings_save(const data_store *ds, coord_put_cb put_fn, void *ctx)
{
    codec_put_u32(put_fn, ctx, ds->settings_n);
    for (size_t i = 0; i < ds->settings_n; i++) {
        const struct data_setting *x = &ds->settings[i];
        codec_put_u32(put_fn, ctx, x->nlen);
        put_fn(ctx, x->name, x->nlen);
        codec_put_u32(put_fn, ctx, x->vlen);
        put_fn(ctx, x->value, x->vlen);
    }
}

static int get_str(const unsigned char **p, size_t *left, size_t max, const char **s, size_t *n)
{
    return codec_get_str(p, left, s, n) < 0 || *n > max || memchr(*s, '\0', *n) ? -1 : 0;
}

int settings_load(struct data_setting **out, size_t *out_n, const unsigned char **p, size_t *left)
{
    uint32_t n;
    if (codec_get_u32(p, left, &n) < 0 || n == 0 || n > DATA_SETTINGS_MAX) return -1;
    struct data_setting *t = calloc(n, sizeof(*t));
    SYN_ASSERT(t != NULL);
    for (uint32_t i = 0; i < n; i++) {
        const char *k, *v;
        size_t kn, vn;
        if (get_str(p, left, DATA_SETTING_NAME_MAX, &k, &kn) < 0 || kn == 0 ||
            get_str(p, left, DATA_SETTING_VALUE_MAX, &v, &vn) < 0 ||
            (i && name_cmp(t[i - 1].name, t[i - 1].nlen, k, kn) >= 0)) {
            settings_free(t, i);
            return -1;
        }
        t[i] = (struct data_setting){dup_text(k, kn), dup_text(v, vn), kn, vn};
    }
    *out = t;
    *out_n = n;
    return 0;
}
