/* script_ldb.c — the Lua debugger of EVAL scripts (SCRIPT DEBUG YES, redis-cli --ldb), with
 * Redis 7.0's protocol: while a session is open, the script stops before a line (the first one,
 * a breakpoint, redis.breakpoint(), a step, or a run past the busy time without a stop) and the
 * debugger talks to the client directly, blocking: it sends what it has to say as one array of
 * simple strings ("* Stopped at 3, stop reason = step over", "-> 3   local x = ...", "<redis>
 * GET k", "<reply> \"v\"", "<value> ...", "<debug> line 2: ..."), and reads the client's next
 * command (s|step n|next c|continue l|list w|whole p|print b|break t|trace e|eval r|redis
 * m|maxlen a|abort h|help) as a RESP array. At the end the session sends "<endsession>", then
 * the caller writes EVAL's reply.
 *
 * The engine knows nothing of connections: the host gives the session its I/O (script_ldb_io).
 * synod runs a session in a forked child of the node (server/ldb.c), so whatever the script or
 * the debugger writes is rolled back; see docs/scripting.md "Debugging". */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "script/script_internal.h"
#include "util/assert.h"

#define LDB_BREAKPOINTS_MAX 64
#define LDB_MAXLEN_DEFAULT  256       /* logged replies and values are cut at this many bytes */
#define LDB_CMD_BUF_MAX     (1 << 20) /* a client that sends more without a command is stopped */
#define LDB_DEPTH_MAX       (LUA_MINSTACK / 2) /* nested tables printed */

typedef struct {
    char *p;
    size_t len, cap;
} lstr;

struct sldb {
    script_ldb_io io;
    char *src; /* the script's body, lines split in place */
    char **lines;
    int n_lines;
    int step;  /* stop before the next line */
    int luabp; /* redis.breakpoint() was called: stop before the next line */
    int bp[LDB_BREAKPOINTS_MAX];
    int n_bp;
    int line; /* the line about to run */
    size_t maxlen;
    int maxlen_hint_sent;
    int64_t timeout_ms, since_ms; /* a run this long without a stop stops ("infinite loop?") */
    lstr *logs;                   /* what the next send says */
    size_t n_logs, cap_logs;
    lstr cbuf; /* the client's bytes not yet a whole command */
};

static void ls_cat(lstr *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *np = realloc(s->p, cap);
        SYN_ASSERT(np != NULL);
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void ls_str(lstr *s, const char *z)
{
    ls_cat(s, z, strlen(z));
}

__attribute__((format(printf, 2, 3))) static void ls_fmt(lstr *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    ls_cat(s, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* A quoted, escaped form of p[0..n) (as Redis's sdscatrepr: "\n", "\x01" ...). */
static void ls_repr(lstr *s, const char *p, size_t n)
{
    ls_cat(s, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\': ls_cat(s, "\\\\", 2); break;
        case '"': ls_cat(s, "\\\"", 2); break;
        case '\n': ls_cat(s, "\\n", 2); break;
        case '\r': ls_cat(s, "\\r", 2); break;
        case '\t': ls_cat(s, "\\t", 2); break;
        case '\a': ls_cat(s, "\\a", 2); break;
        case '\b': ls_cat(s, "\\b", 2); break;
        default:
            if (isprint(ch))
                ls_cat(s, (const char *)&ch, 1);
            else
                ls_fmt(s, "\\x%02x", ch);
        }
    }
    ls_cat(s, "\"", 1);
}

/* --- the log: what the next send says ---------------------------------------------------- */

static void log_take(struct sldb *d, lstr *s)
{
    if (d->n_logs == d->cap_logs) {
        size_t cap = d->cap_logs ? d->cap_logs * 2 : 16;
        lstr *nl = realloc(d->logs, cap * sizeof(*nl));
        SYN_ASSERT(nl != NULL);
        d->logs = nl;
        d->cap_logs = cap;
    }
    if (!s->p) ls_cat(s, "", 0);
    d->logs[d->n_logs++] = *s;
    memset(s, 0, sizeof(*s));
}

__attribute__((format(printf, 2, 3))) static void logf_(struct sldb *d, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    lstr s = {0};
    ls_cat(&s, buf, n < 0 ? 0 : (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    log_take(d, &s);
}

/* Logs s cut at maxlen (" ..." after), with a hint the first time. */
static void log_cut(struct sldb *d, lstr *s)
{
    int cut = 0;
    if (d->maxlen && s->len > d->maxlen) {
        s->len = d->maxlen;
        ls_cat(s, " ...", 4);
        cut = 1;
    }
    log_take(d, s);
    if (cut && !d->maxlen_hint_sent) {
        d->maxlen_hint_sent = 1;
        logf_(d, "<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
    }
}

/* Sends the log as one array of simple strings (line breaks become spaces) and empties it. A
 * failed write is noticed by the next read. */
static void send_logs(struct sldb *d)
{
    lstr out = {0};
    ls_fmt(&out, "*%zu\r\n", d->n_logs);
    for (size_t i = 0; i < d->n_logs; i++) {
        lstr *e = &d->logs[i];
        for (size_t k = 0; k < e->len; k++)
            if (e->p[k] == '\r' || e->p[k] == '\n') e->p[k] = ' ';
        ls_cat(&out, "+", 1);
        ls_cat(&out, e->p, e->len);
        ls_cat(&out, "\r\n", 2);
        free(e->p);
    }
    d->n_logs = 0;
    d->io.write(d->io.ctx, out.p, out.len);
    free(out.p);
}

/* --- source lines and breakpoints ------------------------------------------------------------ */

static const char *source_line(const struct sldb *d, int line)
{
    return line >= 1 && line <= d->n_lines ? d->lines[line - 1] : "<out of range source code line>";
}

static int is_bp(const struct sldb *d, int line)
{
    for (int i = 0; i < d->n_bp; i++)
        if (d->bp[i] == line) return 1;
    return 0;
}

static void log_source_line(struct sldb *d, int line)
{
    int bp = is_bp(d, line), cur = d->line == line;
    const char *mark = cur && bp ? "->#" : cur ? "-> " : bp ? "  #" : "   ";
    logf_(d, "%s%-3d %s", mark, line, source_line(d, line));
}

static void list_lines(struct sldb *d, int around, int context)
{
    for (int i = 1; i <= d->n_lines; i++)
        if (!around || abs(around - i) <= context) log_source_line(d, i);
}

/* --- values ---------------------------------------------------------------------------------- */

/* The Lua value at idx, readably: strings quoted, tables as {a; b} (arrays) or {[k]=v; ...}. */
static void cat_value(lstr *s, lua_State *L, int idx, int depth)
{
    if (depth == LDB_DEPTH_MAX) {
        ls_str(s, "<max recursion level reached! Nested table?>");
        return;
    }
    int t = lua_type(L, idx);
    switch (t) {
    case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(L, idx, &n);
        ls_repr(s, p, n);
        break;
    }
    case LUA_TBOOLEAN: ls_str(s, lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNUMBER: ls_fmt(s, "%g", (double)lua_tonumber(L, idx)); break;
    case LUA_TNIL: ls_str(s, "nil"); break;
    case LUA_TTABLE: {
        if (!lua_checkstack(L, 3)) {
            ls_str(s, "<table>");
            break;
        }
        if (idx < 0) idx = lua_gettop(L) + idx + 1;
        lstr arr = {0}, full = {0};
        int is_array = 1, expect = 1;
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (is_array && (lua_type(L, -2) != LUA_TNUMBER || lua_tonumber(L, -2) != expect))
                is_array = 0;
            if (arr.len) ls_cat(&arr, "; ", 2);
            cat_value(&arr, L, -1, depth + 1);
            if (full.len) ls_cat(&full, "; ", 2);
            ls_cat(&full, "[", 1);
            cat_value(&full, L, -2, depth + 1);
            ls_cat(&full, "]=", 2);
            cat_value(&full, L, -1, depth + 1);
            lua_pop(L, 1);
            expect++;
        }
        ls_cat(s, "{", 1);
        lstr *pick = is_array ? &arr : &full;
        if (pick->len) ls_cat(s, pick->p, pick->len);
        ls_cat(s, "}", 1);
        free(arr.p);
        free(full.p);
        break;
    }
    default: {
        const char *kind = t == LUA_TFUNCTION   ? "function"
                           : t == LUA_TUSERDATA ? "userdata"
                           : t == LUA_TTHREAD   ? "thread"
                                                : "light-userdata";
        ls_fmt(s, "\"%s@%p\"", kind, lua_topointer(L, idx));
    }
    }
}

static void log_value(struct sldb *d, lua_State *L, const char *prefix)
{
    lstr s = {0};
    ls_str(&s, prefix);
    cat_value(&s, L, -1, 0);
    log_cut(d, &s);
}

/* A redis.call reply, converted to Lua, shown as the Redis reply it was: "+OK" and "-ERR .."
 * quoted, bulk strings quoted, integers bare, NULL, [a,b] arrays; RESP3 {k => v}, ~(a,b),
 * (double) x, #true, (null). */
static void cat_reply(lstr *s, lua_State *L, int idx, int resp3, int depth)
{
    if (depth == LDB_DEPTH_MAX || !lua_checkstack(L, 3)) {
        ls_str(s, "...");
        return;
    }
    if (idx < 0) idx = lua_gettop(L) + idx + 1;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER: ls_fmt(s, "%lld", (long long)lua_tonumber(L, idx)); return;
    case LUA_TSTRING: {
        size_t n;
        const char *p = lua_tolstring(L, idx, &n);
        ls_repr(s, p, n);
        return;
    }
    case LUA_TBOOLEAN:
        ls_str(s, !resp3 ? "NULL" : lua_toboolean(L, idx) ? "#true" : "#false");
        return;
    case LUA_TNIL: ls_str(s, resp3 ? "(null)" : "NULL"); return;
    case LUA_TTABLE: break;
    default: ls_str(s, "?"); return;
    }
    static const char *const one[] = {"ok", "err", "double", "map", "set", "big_number"};
    for (int k = 0; k < 6; k++) {
        lua_getfield(L, idx, one[k]);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        size_t n;
        const char *p;
        switch (k) {
        case 0:
        case 1: {
            lstr t = {0};
            ls_cat(&t, k == 0 ? "+" : "-", 1);
            p = lua_tolstring(L, -1, &n);
            if (p) ls_cat(&t, p, n);
            ls_repr(s, t.p, t.len);
            free(t.p);
            break;
        }
        case 2: ls_fmt(s, "(double) %.17g", (double)lua_tonumber(L, -1)); break;
        case 5:
            p = lua_tolstring(L, -1, &n);
            ls_str(s, "(big number) ");
            if (p) ls_cat(s, p, n);
            break;
        default: { /* a map: k => v; a set: its members */
            int first = 1;
            ls_str(s, k == 3 ? "{" : "~(");
            if (lua_istable(L, -1)) {
                int t = lua_gettop(L);
                lua_pushnil(L);
                while (lua_next(L, t)) {
                    if (!first) ls_cat(s, ",", 1);
                    first = 0;
                    cat_reply(s, L, -2, resp3, depth + 1);
                    if (k == 3) {
                        ls_str(s, " => ");
                        cat_reply(s, L, -1, resp3, depth + 1);
                    }
                    lua_pop(L, 1);
                }
            }
            ls_str(s, k == 3 ? "}" : ")");
        }
        }
        lua_pop(L, 1);
        return;
    }
    size_t n = lua_objlen(L, idx);
    ls_cat(s, "[", 1);
    for (size_t i = 1; i <= n; i++) {
        if (i > 1) ls_cat(s, ",", 1);
        lua_rawgeti(L, idx, (int)i);
        cat_reply(s, L, -1, resp3, depth + 1);
        lua_pop(L, 1);
    }
    ls_cat(s, "]", 1);
}

/* --- the client's commands ------------------------------------------------------------------- */

/* A whole RESP array of bulk strings at the front of cbuf: argv (malloc'd, each NUL-ended),
 * NULL if more is needed or (with *err) if it is not one. */
static char **parse_cmd(struct sldb *d, int *argc, const char **err)
{
    const char *p = d->cbuf.p, *end = p + d->cbuf.len;
    if (!d->cbuf.len) return NULL;
    const char *star = memchr(p, '*', d->cbuf.len);
    if (!star) goto bad;
    const char *nl = memchr(star, '\r', (size_t)(end - star));
    if (!nl || nl + 1 >= end) return NULL;
    long n = strtol(star + 1, NULL, 10);
    if (n <= 0 || n > 1024) goto bad;
    p = nl + 2;
    char **argv = calloc((size_t)n, sizeof(*argv));
    SYN_ASSERT(argv != NULL);
    int got = 0;
    while (got < n) {
        if (p >= end) goto more;
        if (*p != '$') goto bad_free;
        nl = memchr(p, '\r', (size_t)(end - p));
        if (!nl || nl + 1 >= end) goto more;
        long len = strtol(p + 1, NULL, 10);
        if (len <= 0 || len > 1024) goto bad_free;
        p = nl + 2;
        if (end - p < len + 2) goto more;
        if (p[len] != '\r' || p[len + 1] != '\n') goto bad_free;
        argv[got] = malloc((size_t)len + 1);
        SYN_ASSERT(argv[got] != NULL);
        memcpy(argv[got], p, (size_t)len);
        argv[got++][len] = '\0';
        p += len + 2;
    }
    *argc = got;
    return argv;
bad_free:
    for (int i = 0; i < got; i++)
        free(argv[i]);
    free(argv);
bad:
    *err = "protocol error";
    return NULL;
more:
    for (int i = 0; i < got; i++)
        free(argv[i]);
    free(argv);
    return NULL;
}

static void free_argv(char **argv, int argc)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

static int cmd_is(const char *a, const char *s1, const char *s2)
{
    return !strcasecmp(a, s1) || !strcasecmp(a, s2);
}

static void print_var(struct sldb *d, lua_State *L, const char *name)
{
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); level++) {
        const char *n;
        for (int i = 1; (n = lua_getlocal(L, &ar, i)) != NULL; i++) {
            if (!strcmp(n, name)) {
                log_value(d, L, "<value> ");
                lua_pop(L, 1);
                return;
            }
            lua_pop(L, 1);
        }
    }
    if (!strcmp(name, "KEYS") || !strcmp(name, "ARGV")) {
        lua_getglobal(L, name);
        log_value(d, L, "<value> ");
        lua_pop(L, 1);
        return;
    }
    logf_(d, "No such variable.");
}

static void print_all(struct sldb *d, lua_State *L)
{
    lua_Debug ar;
    int shown = 0;
    if (lua_getstack(L, 0, &ar)) {
        const char *n;
        for (int i = 1; (n = lua_getlocal(L, &ar, i)) != NULL; i++) {
            if (!strstr(n, "(*temporary)")) {
                char prefix[160];
                snprintf(prefix, sizeof prefix, "<value> %s = ", n);
                log_value(d, L, prefix);
                shown++;
            }
            lua_pop(L, 1);
        }
    }
    if (!shown) logf_(d, "No local variables in the current context.");
}

static void cmd_break(struct sldb *d, char **argv, int argc)
{
    if (argc == 1) {
        if (!d->n_bp) {
            logf_(d, "No breakpoints set. Use 'b <line>' to add one.");
            return;
        }
        logf_(d, "%d breakpoints set:", d->n_bp);
        for (int i = 0; i < d->n_bp; i++)
            log_source_line(d, d->bp[i]);
        return;
    }
    for (int j = 1; j < argc; j++) {
        char *e;
        long line = strtol(argv[j], &e, 10);
        if (!argv[j][0] || *e) {
            logf_(d, "Invalid argument:'%s'", argv[j]);
        } else if (line == 0) {
            d->n_bp = 0;
            logf_(d, "All breakpoints removed.");
        } else if (line > 0) {
            if (d->n_bp == LDB_BREAKPOINTS_MAX) {
                logf_(d, "Too many breakpoints set.");
            } else if (line > d->n_lines) {
                logf_(d, "Wrong line number.");
            } else {
                if (!is_bp(d, (int)line)) d->bp[d->n_bp++] = (int)line;
                list_lines(d, (int)line, 1);
            }
        } else {
            int found = 0;
            for (int i = 0; i < d->n_bp && !found; i++)
                if (d->bp[i] == -line) {
                    memmove(d->bp + i, d->bp + i + 1, (size_t)(d->n_bp - i - 1) * sizeof(int));
                    d->n_bp--;
                    found = 1;
                }
            logf_(d, found ? "Breakpoint removed." : "No breakpoint in the specified line.");
        }
    }
}

/* e|eval <code>: runs code in a new frame ("return <code>" first, then as a statement) and
 * shows what it returned. */
static void cmd_eval(struct sldb *d, lua_State *L, char **argv, int argc)
{
    lstr code = {0}, expr = {0};
    for (int j = 1; j < argc; j++) {
        if (j > 1) ls_cat(&code, " ", 1);
        ls_str(&code, argv[j]);
    }
    ls_str(&expr, "return ");
    ls_cat(&expr, code.p, code.len);
    if (luaL_loadbuffer(L, expr.p, expr.len, "@ldb_eval")) {
        lua_pop(L, 1);
        if (luaL_loadbuffer(L, code.p, code.len, "@ldb_eval")) {
            logf_(d, "<error> %s", lua_tostring(L, -1));
            lua_pop(L, 1);
            free(code.p);
            free(expr.p);
            return;
        }
    }
    free(code.p);
    free(expr.p);
    if (lua_pcall(L, 0, 1, 0)) {
        logf_(d, "<error> %s", lua_isstring(L, -1) ? lua_tostring(L, -1) : "(error object)");
        lua_pop(L, 1);
        return;
    }
    log_value(d, L, "<retval> ");
    lua_pop(L, 1);
}

/* r|redis <cmd ...>: redis.call with logging on, so the command and its reply are shown. */
static void cmd_redis(struct sldb *d, lua_State *L, char **argv, int argc)
{
    if (!lua_checkstack(L, argc + 1)) {
        logf_(d, "<reply> \"max lua stack reached\"");
        return;
    }
    lua_getglobal(L, "redis");
    lua_getfield(L, -1, "call");
    for (int j = 1; j < argc; j++)
        lua_pushstring(L, argv[j]);
    d->step = 1; /* redis.call logs while stepping */
    (void)lua_pcall(L, argc - 1, 1, 0);
    d->step = 0;
    lua_pop(L, 2);
}

static void cmd_trace(struct sldb *d, lua_State *L)
{
    lua_Debug ar;
    int level = 0;
    for (; lua_getstack(L, level, &ar); level++) {
        lua_getinfo(L, "Snl", &ar);
        if (!strstr(ar.short_src, "user_script")) continue;
        logf_(d, "%s %s:", level == 0 ? "In" : "From", ar.name ? ar.name : "top level");
        log_source_line(d, ar.currentline);
    }
    if (!level) logf_(d, "<error> Can't retrieve Lua stack.");
}

static void cmd_help(struct sldb *d)
{
    static const char *const lines[] = {
        "Redis Lua debugger help:",
        "[h]elp               This text.",
        "[s]tep               Run the current line, stop before the next one.",
        "[n]ext               The same as step.",
        "[c]ontinue           Run until a breakpoint (or the end).",
        "[l]ist               The source around the current line.",
        "[l]ist [line]        The source around [line] (0: the current line).",
        "[l]ist [line] [ctx]  ... with [ctx] lines before and after.",
        "[w]hole              The whole source ('list 1 1000000').",
        "[p]rint              The local variables.",
        "[p]rint <var>        One variable (also the globals KEYS and ARGV).",
        "[b]reak              The breakpoints.",
        "[b]reak <line>       Add a breakpoint at <line>.",
        "[b]reak -<line>      Remove the breakpoint at <line>.",
        "[b]reak 0            Remove every breakpoint.",
        "[t]race              A backtrace.",
        "[e]val <code>        Run some Lua code (in a new frame).",
        "[r]edis <cmd>        Run a Redis command.",
        "[m]axlen [len]       Cut logged replies and values at len bytes (0: no limit).",
        "[a]bort              Stop the script with an error. In this forked session the",
        "                     dataset changes are rolled back anyway.",
        "",
        "Debugger functions scripts can call:",
        "redis.debug()        Log its arguments in the debugger console.",
        "redis.breakpoint()   Stop before the next line, as at a breakpoint.",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        logf_(d, "%s", lines[i]);
}

/* The client's commands until one resumes the script: 0, or -1 if the client went away (the
 * script then runs to its end without stopping). Raises a Lua error on abort or a protocol
 * error. */
static int repl(struct sldb *d, lua_State *L)
{
    for (;;) {
        const char *err = NULL;
        int argc = 0;
        char **argv;
        while ((argv = parse_cmd(d, &argc, &err)) == NULL) {
            if (err) {
                d->cbuf.len = 0;
                slua_push_error(L, err);
                lua_error(L);
            }
            char buf[1024];
            long n = d->io.read(d->io.ctx, buf, sizeof buf);
            if (n <= 0) {
                d->step = 0;
                d->n_bp = 0;
                return -1;
            }
            ls_cat(&d->cbuf, buf, (size_t)n);
            if (d->cbuf.len > LDB_CMD_BUF_MAX) {
                d->cbuf.len = 0;
                slua_push_error(L, "max client buffer reached");
                lua_error(L);
            }
        }
        d->cbuf.len = 0; /* as Redis: anything sent after the command is dropped */
        const char *c = argv[0];
        int resume = 0;
        if (cmd_is(c, "h", "help")) {
            cmd_help(d);
        } else if (cmd_is(c, "s", "step") || cmd_is(c, "n", "next")) {
            d->step = 1;
            resume = 1;
        } else if (cmd_is(c, "c", "continue")) {
            resume = 1;
        } else if (cmd_is(c, "t", "trace")) {
            cmd_trace(d, L);
        } else if (cmd_is(c, "m", "maxlen")) {
            if (argc == 2) {
                long v = strtol(argv[1], NULL, 10);
                d->maxlen_hint_sent = 1;
                d->maxlen = v != 0 && v <= 60 ? 60 : v < 0 ? 60 : (size_t)v;
            }
            if (d->maxlen)
                logf_(d, "<value> replies are truncated at %zu bytes.", d->maxlen);
            else
                logf_(d, "<value> replies are unlimited.");
        } else if (cmd_is(c, "b", "break")) {
            cmd_break(d, argv, argc);
        } else if (cmd_is(c, "e", "eval")) {
            cmd_eval(d, L, argv, argc);
        } else if (cmd_is(c, "a", "abort")) {
            free_argv(argv, argc);
            slua_push_error(L, "script aborted for user request");
            lua_error(L);
        } else if (argc > 1 && cmd_is(c, "r", "redis")) {
            cmd_redis(d, L, argv, argc);
        } else if (cmd_is(c, "p", "print")) {
            if (argc == 2)
                print_var(d, L, argv[1]);
            else
                print_all(d, L);
        } else if (cmd_is(c, "l", "list")) {
            int around = d->line, ctx = 5;
            if (argc > 1) {
                long v = strtol(argv[1], NULL, 10);
                if (v > 0) around = (int)v;
            }
            if (argc > 2) ctx = (int)strtol(argv[2], NULL, 10);
            list_lines(d, around, ctx);
        } else if (cmd_is(c, "w", "whole")) {
            list_lines(d, 1, 1000000);
        } else {
            logf_(d, "<error> Unknown Redis Lua debugger command or wrong number of arguments.");
        }
        free_argv(argv, argc);
        if (resume) return 0;
        send_logs(d);
    }
}

/* --- the engine's side ----------------------------------------------------------------------- */

void sldb_hook(script_engine *se, lua_State *L, lua_Debug *ar)
{
    struct sldb *d = se->ldb;
    if (!d) return;
    int event = ar->event;
    lua_getstack(L, 0, ar);
    lua_getinfo(L, "Sl", ar);
    d->line = ar->currentline;
    if (!strstr(ar->short_src, "user_script")) return; /* the debugger's own eval, ... */
    int bp = is_bp(d, d->line) || d->luabp;
    int timeout = 0;
    if (event == LUA_HOOKCOUNT && !d->step && !bp) {
        if (d->io.now_ms(d->io.ctx) - d->since_ms < d->timeout_ms) return;
        timeout = 1;
        d->step = 1;
    }
    if (!d->step && !bp) return;
    const char *why = bp        ? (d->luabp ? "redis.breakpoint() called" : "break point")
                      : timeout ? "timeout reached, infinite loop?"
                                : "step over";
    d->step = d->luabp = 0;
    logf_(d, "* Stopped at %d, stop reason = %s", d->line, why);
    log_source_line(d, d->line);
    send_logs(d);
    if (repl(d, L) < 0 && timeout) { /* nobody to stop it: the loop must not hold for ever */
        slua_push_error(L, "timeout during Lua debugging with client closing connection");
        lua_error(L);
    }
    d->since_ms = d->io.now_ms(d->io.ctx);
}

int sldb_logging(const script_engine *se)
{
    return se->ldb && se->ldb->step;
}

void sldb_log_call(script_engine *se, int argc, const data_arg *argv)
{
    lstr s = {0};
    ls_str(&s, "<redis>");
    for (int j = 0; j < argc; j++) {
        if (j == 10) {
            ls_fmt(&s, " ... (%d more)", argc - j - 1);
            break;
        }
        ls_cat(&s, " ", 1);
        ls_cat(&s, argv[j].ptr, argv[j].len);
    }
    log_take(se->ldb, &s);
}

void sldb_log_reply(script_engine *se, lua_State *L, int resp3)
{
    lstr s = {0};
    ls_str(&s, "<reply> ");
    cat_reply(&s, L, -1, resp3, 0);
    log_cut(se->ldb, &s);
}

void sldb_log_error(script_engine *se, const char *p, size_t len, int dash)
{
    lstr s = {0};
    ls_str(&s, dash ? "<error> -" : "<error> ");
    ls_cat(&s, p, len);
    log_take(se->ldb, &s);
}

int sldb_breakpoint(script_engine *se)
{
    if (!se->ldb) return 0;
    se->ldb->luabp = 1;
    return 1;
}

void sldb_debug(script_engine *se, lua_State *L)
{
    struct sldb *d = se->ldb;
    if (!d) return;
    int n = lua_gettop(L);
    lstr s = {0};
    ls_fmt(&s, "<debug> line %d: ", d->line);
    for (int i = 1; i <= n; i++) {
        if (i > 1) ls_cat(&s, ", ", 2);
        lua_pushvalue(L, i);
        cat_value(&s, L, -1, 0);
        lua_pop(L, 1);
    }
    log_cut(d, &s);
}

void script_ldb_begin(script_engine *se, const char *body, size_t len, const script_ldb_io *io,
                      int64_t timeout_ms)
{
    SYN_ASSERT(se->ldb == NULL);
    struct sldb *d = calloc(1, sizeof(*d));
    SYN_ASSERT(d != NULL);
    d->io = *io;
    d->step = 1; /* the first line stops */
    d->maxlen = LDB_MAXLEN_DEFAULT;
    d->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    d->since_ms = d->io.now_ms(d->io.ctx);
    while (len && (body[len - 1] == '\n' || body[len - 1] == '\r'))
        len--;
    d->src = malloc(len + 1);
    SYN_ASSERT(d->src != NULL);
    memcpy(d->src, body, len);
    d->src[len] = '\0';
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += d->src[i] == '\n';
    d->lines = malloc((size_t)n * sizeof(*d->lines));
    SYN_ASSERT(d->lines != NULL);
    char *p = d->src;
    for (int i = 0; i < n; i++) {
        d->lines[i] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    d->n_lines = n;
    se->ldb = d;
}

void script_ldb_end(script_engine *se)
{
    struct sldb *d = se->ldb;
    if (!d) return;
    logf_(d, "<endsession>");
    send_logs(d);
    free(d->logs);
    free(d->cbuf.p);
    free(d->lines);
    free(d->src);
    free(d);
    se->ldb = NULL;
}
