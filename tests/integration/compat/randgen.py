"""Seeded generator of random command sequences for the differential fuzz test.

Commands cover every command of issue 2, the lists, sets and sorted sets of issue 10, bitmaps,
HyperLogLogs, streams with consumer groups (explicit ids), COPY, SORT, DUMP and transactions
(MULTI/EXEC/DISCARD/WATCH, as a run of steps), over a handful of keys, with valid and invalid arguments (bad numbers, bad options, wrong arity, wrong types). Expiries are either far in the
future or in the past (immediate delete), never a few milliseconds away, so that both servers
see the same state; clock-dependent replies are compared with a tolerance.
"""

import random

from .diff import HSCAN, PAIRS, PEL, SCAN, SETTLED, SHAPE, SSCAN, TTL, U, ZSCAN, Step

KEYS = ["k0", "k1", "k2", "h0", "h1", "l0", "l1", "s0", "s1", "s2", "z0", "z1", "x0", "x1"]
# set members: integers (intsets), strings (tables), and near-integers that are strings
MEMBERS = ["a", "b", "c", "1", "2", "3", "-5", "70000", "01", "", "-0", "9223372036854775808"]
FIELDS = ["f0", "f1", "f2", "f3"]
VALUES = ["v", "", "0", "1", "-1", "42", "10.5", "3.0e3", "abc", "9223372036854775807",
          "-9223372036854775808", "1e308", " 1", "xyz" * 7, "0.1", "-0", "007", "1e4933"]
INTS = ["0", "1", "-1", "5", "100", "-100", "abc", "1.5", "", "9223372036854775807",
        "-9223372036854775808", "9223372036854775808"]
FLOATS = ["0", "1", "-1", "10.5", "3.0e3", "0.1", "1e308", "-1e308", "abc", "", "inf", "nan",
          "1.5e20", "1.1e4932", "-0.0", "5"]
SECS = ["1000", "100000", "0", "-1", "abc", "9223372036854775807", "1.5"]
MSECS = ["1000000", "100000000", "0", "-5", "x", "9223372036854775807"]
ABS_S = ["4102444800", "4102444801", "1000000000", "1", "0", "abc"]
ABS_MS = ["4102444800000", "4102444800123", "1000000000000", "1", "zz"]
OFFSETS = ["0", "1", "3", "10", "100", "-1", "-5", "abc", "536870912"]
PATTERNS = ["*", "k*", "h?", "k[0-1]", "k[^0]", "*1", "\\*", "h[a-z]", "nomatch", "?", "[kh]*"]
EXPIRE_OPTS = [[], [], ["NX"], ["XX"], ["GT"], ["LT"], ["NX", "XX"], ["GT", "LT"], ["FOO"],
               ["XX", "GT"]]
# GT/LT with a relative time compare now+X with an expiry set earlier as then+X: the answer
# depends on whether a millisecond passed in between (on either server), so relative expiries
# use only the options whose outcome does not depend on the clock.
EXPIRE_OPTS_REL = [[], [], ["NX"], ["XX"], ["NX", "XX"], ["GT", "LT"], ["FOO"], ["NX", "GT"]]
# Encoding thresholds the sequence may lower (conversions both ways then happen at small sizes);
# the test puts back each server's own values after a run (test_compat_random.py).
THRESHOLDS = {
    "hash-max-listpack-entries": ["2", "4", "512"], "hash-max-listpack-value": ["3", "64"],
    "zset-max-listpack-entries": ["2", "4", "128"], "zset-max-listpack-value": ["2", "64"],
    "set-max-intset-entries": ["2", "4", "512"], "list-max-listpack-size": ["2", "4", "-2"],
}  # fmt: skip
RESET_CONFIG = [("SCRIPT", "FLUSH"), ("FUNCTION", "FLUSH")]
LIB = ("#!lua name=rlib\n"
       "redis.register_function('rget', function(keys, args) return redis.call('GET', keys[1]) end)\n"
       "redis.register_function{function_name='rlen', callback=function(keys, args) "
       "return redis.call('STRLEN', keys[1]) end, flags={'no-writes'}}\n"
       "redis.register_function('rincr', function(keys, args) return redis.call('INCRBY', keys[1], "
       "args[1]) end)")


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def key(self, home=("k0", "k1", "k2")):
        """Mostly a key of the command's own type; sometimes any key (WRONGTYPE) or a missing one."""
        x = self.r.random()
        if x < 0.05:
            return "missing"
        if x < 0.2:
            return self.r.choice(KEYS)
        return self.r.choice(home)

    def hkey(self):
        return self.key(("h0", "h1"))

    def lkey(self):
        return self.key(("l0", "l1"))

    def lidx(self):
        return self.r.choice(["0", "1", "-1", "2", "-2", "5", "-6", "100", "x"])

    def lelem(self):
        return self.r.choice(["a", "b", "c", "", "1"])

    def skey(self):
        return self.key(("s0", "s1", "s2"))

    def members(self, lo=1, hi=4):
        return [self.r.choice(MEMBERS) for _ in range(self.r.randint(lo, hi))]

    def akey(self):
        return self.key(KEYS)

    def keys(self, lo=1, hi=4):
        return [self.akey() for _ in range(self.r.randint(lo, hi))]

    def val(self):
        return self.r.choice(VALUES)

    def c(self, seq):
        return self.r.choice(seq)

    def field(self):
        return self.r.choice(FIELDS)

    def set_opts(self):
        opts = []
        r = self.r
        for _ in range(r.choice([0, 0, 1, 1, 2, 3])):
            kind = r.randrange(9)
            if kind == 0:
                opts += ["EX", self.c(SECS)]
            elif kind == 1:
                opts += ["PX", self.c(MSECS)]
            elif kind == 2:
                opts += ["EXAT", self.c(ABS_S)]
            elif kind == 3:
                opts += ["PXAT", self.c(ABS_MS)]
            elif kind == 4:
                opts.append("NX")
            elif kind == 5:
                opts.append("XX")
            elif kind == 6:
                opts.append("KEEPTTL")
            elif kind == 7:
                opts.append("GET")
            else:
                opts.append(self.c(["FOO", "EX", "PX"]))  # unknown or incomplete option
        return opts

    def getex_opts(self):
        r = self.r
        k = r.randrange(8)
        return [[], ["EX", self.c(SECS)], ["PX", self.c(MSECS)], ["EXAT", self.c(ABS_S)],
                ["PXAT", self.c(ABS_MS)], ["PERSIST"], ["EX", "100", "PERSIST"], ["BAD"]][k]

    def set_command(self):
        """A set command. Random picks are compared by shape, or exactly where the answer is
        forced: SPOP only with a count that takes the whole set (the two servers would diverge
        otherwise), SRANDMEMBER (a read) with any count."""
        r, sk, m = self.r, self.skey, self.members
        table = [
            lambda: Step("SADD", sk(), *m()),
            lambda: Step("SADD", sk(), *m(3, 8)),
            lambda: Step("SREM", sk(), *m()),
            lambda: U("SMEMBERS", sk()),
            lambda: Step("SISMEMBER", sk(), *m(1, 1)),
            lambda: Step("SMISMEMBER", sk(), *m()),
            lambda: Step("SCARD", sk()),
            lambda: U("SPOP", sk(), self.c(["100", "20"])),
            lambda: Step("SPOP", sk(), self.c(["0", "-1", "x", "1 1"])),
            lambda: SHAPE("SRANDMEMBER", sk(), *self.c([[], ["2"], ["-5"], ["0"]])),
            lambda: U("SRANDMEMBER", sk(), "100"),
            lambda: Step("SMOVE", sk(), sk(), *m(1, 1)),
            lambda: U("SINTER", *[sk() for _ in range(r.randint(1, 3))]),
            lambda: Step("SINTERCARD", str(r.randint(0, 3)), sk(), sk(),
                         *self.c([[], ["LIMIT", "1"], ["LIMIT", "-1"]])),
            lambda: Step("SINTERSTORE", sk(), *[sk() for _ in range(r.randint(1, 3))]),
            lambda: U("SUNION", *[sk() for _ in range(r.randint(1, 3))]),
            lambda: Step("SUNIONSTORE", sk(), *[sk() for _ in range(r.randint(1, 3))]),
            lambda: U("SDIFF", *[sk() for _ in range(r.randint(1, 3))]),
            lambda: Step("SDIFFSTORE", sk(), *[sk() for _ in range(r.randint(1, 3))]),
            lambda: SSCAN(sk(), *self.c([[], ["COUNT", "1"], ["MATCH", "[a1]*"]])),
        ]
        return r.choice(table)()

    def command(self):
        """One Step (mode + args)."""
        if self.r.random() < 0.25:
            return self.set_command()
        r, k, v, hk, ak = self.r, self.key, self.val, self.hkey, self.akey
        f = self.field
        lk, le, li = self.lkey, self.lelem, self.lidx
        side = lambda: self.c(["LEFT", "RIGHT", "left", "UP"])
        table = [
            lambda: Step("GET", k()),
            lambda: Step("SET", k(), v(), *self.set_opts()),
            lambda: Step("SET", k(), v()),
            lambda: Step("SETNX", k(), v()),
            lambda: Step("SETEX", k(), self.c(SECS), v()),
            lambda: Step("PSETEX", k(), self.c(MSECS), v()),
            lambda: Step("GETSET", k(), v()),
            lambda: Step("GETDEL", k()),
            lambda: Step("GETEX", k(), *self.getex_opts()),
            lambda: Step("MGET", *self.keys()),
            lambda: Step("MSET", *sum(([x, v()] for x in self.keys()), [])),
            lambda: Step("MSETNX", *sum(([x, v()] for x in self.keys()), [])),
            lambda: Step("INCR", k()),
            lambda: Step("DECR", k()),
            lambda: Step("INCRBY", k(), self.c(INTS)),
            lambda: Step("DECRBY", k(), self.c(INTS)),
            lambda: Step("INCRBYFLOAT", k(), self.c(FLOATS)),
            lambda: Step("APPEND", k(), v()),
            lambda: Step("STRLEN", k()),
            lambda: Step("GETRANGE", k(), self.c(OFFSETS), self.c(OFFSETS)),
            lambda: Step("SETRANGE", k(), self.c(OFFSETS), v()),
            lambda: Step("DEL", *self.keys()),
            lambda: Step("UNLINK", *self.keys()),
            lambda: Step("EXISTS", *self.keys()),
            lambda: Step("TYPE", ak()),
            lambda: Step("EXPIRE", ak(), self.c(SECS), *self.c(EXPIRE_OPTS_REL)),
            lambda: Step("PEXPIRE", ak(), self.c(MSECS), *self.c(EXPIRE_OPTS_REL)),
            lambda: Step("EXPIREAT", ak(), self.c(ABS_S), *self.c(EXPIRE_OPTS)),
            lambda: Step("PEXPIREAT", ak(), self.c(ABS_MS), *self.c(EXPIRE_OPTS)),
            lambda: TTL(1, "TTL", ak()),
            lambda: TTL(1000, "PTTL", ak()),
            lambda: TTL(1, "EXPIRETIME", ak()),
            lambda: TTL(1000, "PEXPIRETIME", ak()),
            lambda: Step("PERSIST", ak()),
            lambda: U("KEYS", self.c(PATTERNS)),
            lambda: SCAN(*self.c([[], ["COUNT", "2"], ["MATCH", self.c(PATTERNS)],
                                  ["TYPE", self.c(["string", "hash", "list", "set"])]])),
            lambda: Step("RENAME", ak(), ak()),
            lambda: Step("RENAMENX", ak(), ak()),
            lambda: Step("TOUCH", *self.keys()),
            lambda: Step("HSET", hk(), *sum(([f(), v()] for _ in range(r.randint(1, 3))), [])),
            lambda: Step("HGET", hk(), f()),
            lambda: Step("HMSET", hk(), f(), v()),
            lambda: Step("HMGET", hk(), *[f() for _ in range(r.randint(1, 3))]),
            lambda: PAIRS("HGETALL", hk()),
            lambda: Step("HDEL", hk(), *[f() for _ in range(r.randint(1, 3))]),
            lambda: Step("HEXISTS", hk(), f()),
            lambda: Step("HLEN", hk()),
            lambda: U("HKEYS", hk()),
            lambda: U("HVALS", hk()),
            lambda: Step("HINCRBY", hk(), f(), self.c(INTS)),
            lambda: Step("HINCRBYFLOAT", hk(), f(), self.c(FLOATS)),
            lambda: Step("HSETNX", hk(), f(), v()),
            lambda: Step("HSTRLEN", hk(), f()),
            lambda: HSCAN(hk(), *self.c([[], ["COUNT", "1"], ["MATCH", "f[01]"]])),
            lambda: Step("PING", *self.c([[], ["hi"]])),
            lambda: Step("ECHO", v()),
            lambda: Step("SELECT", self.c(["0", "1", "abc"])),
            # DBSIZE counts logically expired keys until they are reclaimed; when that happens
            # is timing (Redis: on access or in the active cycle), so after past-time expiries
            # the two counts may differ for a while: compared again once settled. Exact DBSIZE after
            # expired-key access is a table case (test_compat_keys: lazy_expire_dbsize).
            lambda: SETTLED("DBSIZE"),
            lambda: Step("FLUSHDB") if r.random() < 0.2 else SETTLED("DBSIZE"),
            lambda: SHAPE("HELLO", self.c(["2", "3", "2", "4"])),
            lambda: Step("CLIENT", "GETNAME"),
            lambda: Step("CLIENT", "SETNAME", self.c(["n1", "", "bad name"])),
            lambda: Step("HSET", hk(), f(), v()),
            lambda: Step("SET", k(), v(), "GET"),
            lambda: Step(self.c(["LPUSH", "RPUSH"]), lk(), *[le() for _ in range(r.randint(1, 4))]),
            lambda: Step(self.c(["LPUSHX", "RPUSHX"]), lk(), le()),
            lambda: Step(self.c(["LPOP", "RPOP"]), lk(), *self.c([[], [], ["2"], ["0"], ["-1"]])),
            lambda: Step("LLEN", lk()),
            lambda: Step("LRANGE", lk(), li(), li()),
            lambda: Step("LRANGE", lk(), "0", "-1"),
            lambda: Step("LINDEX", lk(), li()),
            lambda: Step("LSET", lk(), li(), le()),
            lambda: Step("LINSERT", lk(), self.c(["BEFORE", "AFTER", "after", "X"]), le(), le()),
            lambda: Step("LREM", lk(), self.c(["0", "1", "-1", "2", "-2", "x"]), le()),
            lambda: Step("LTRIM", lk(), li(), li()),
            lambda: Step("LPOS", lk(), le(), *self.c([[], ["RANK", "-1"], ["RANK", "2"],
                                                      ["COUNT", "0"], ["MAXLEN", "2"],
                                                      ["RANK", "0"], ["COUNT", "1", "RANK", "-2"]])),
            lambda: Step("LMOVE", lk(), lk(), side(), side()),
            lambda: Step("RPOPLPUSH", lk(), lk()),
            lambda: Step("LMPOP", self.c(["1", "2", "0"]), lk(), lk(), side(),
                         *self.c([[], ["COUNT", "2"], ["COUNT", "0"]])),
        ]
        step = table[r.randrange(len(table))]()
        # Occasionally break the arity: drop the last argument or add one more.
        if type(step) is Step and r.random() < 0.04 and step.args[0] not in ("PING", "HELLO"):
            if len(step.args) > 1 and r.random() < 0.5:
                step = Step(*step.args[:-1])
            else:
                step = Step(*step.args, "extra")
        return step

    def sequence(self, n):
        out = []
        while len(out) < n:
            x = self.r.random()
            if x < 0.03:
                out += self.transaction()
            elif x < 0.33:
                out.append(self.more_command())
            else:
                out.append(self.command())
        return out[:n]

    # -- sorted sets, streams, bitmaps, HyperLogLogs, COPY/SORT/DUMP, transactions ---------

    # Lex ranges go to "zl", whose members all have score 0 (no other command writes it): over
    # differing scores Redis's answer is unspecified and depends on its encoding.
    def zkey(self):
        return self.key(("z0", "z1"))

    def xkey(self):
        return self.key(("x0", "x1"))

    def score(self):
        return self.c(["0", "1", "-1", "2.5", "0.1", "1e300", "-inf", "+inf", "3", "10",
                       "-0", "1.5e-7", "x", "nan", "100000000000000000000", "7"])

    def zmember(self):
        return self.c(["a", "b", "c", "d", "", "1", "-2", "aa", "\xff"])

    def zrange_bound(self):
        return self.c(["-inf", "+inf", "0", "(0", "1", "(1", "2.5", "(3", "x", "10", "-1"])

    def lex_bound(self):
        return self.c(["-", "+", "[a", "(a", "[b", "(c", "[", "a", "[aa", "(d"])

    def zstore_args(self, name):
        n = self.r.randint(1, 3)
        args = [name, self.zkey(), str(n)] + [self.c([self.zkey(), self.skey()]) for _ in range(n)]
        if self.r.random() < 0.3:
            args += ["WEIGHTS"] + [self.c(["1", "2", "-1", "0.5", "x", "inf"]) for _ in range(n)]
        if self.r.random() < 0.3:
            args += ["AGGREGATE", self.c(["SUM", "MIN", "MAX", "avg"])]
        return args

    def zread_args(self, name):
        n = self.r.randint(1, 3)
        args = [name, str(n)] + [self.c([self.zkey(), self.skey()]) for _ in range(n)]
        if name != "ZDIFF" and self.r.random() < 0.3:
            args += ["WEIGHTS"] + [self.c(["1", "2", "-1", "0.5"]) for _ in range(n)]
        if name != "ZDIFF" and self.r.random() < 0.3:
            args += ["AGGREGATE", self.c(["SUM", "MIN", "MAX"])]
        if self.r.random() < 0.5:
            args.append("WITHSCORES")
        return args

    def zset_command(self):
        r, zk, sc, zm = self.r, self.zkey, self.score, self.zmember
        zadd_flags = lambda: [f for f in ("NX", "XX", "GT", "LT", "CH", "INCR")
                              if r.random() < 0.15]
        pairs = lambda lo=1, hi=4: sum(([sc(), zm()] for _ in range(r.randint(lo, hi))), [])
        rb, lb = self.zrange_bound, self.lex_bound
        limit = lambda: self.c([[], [], ["LIMIT", "0", "2"], ["LIMIT", "1", "-1"],
                                ["LIMIT", "-1", "1"], ["LIMIT", "x", "1"]])
        ws = lambda: self.c([[], ["WITHSCORES"]])
        table = [
            lambda: Step("ZADD", zk(), *zadd_flags(), *pairs()),
            lambda: Step("ZADD", zk(), *pairs(3, 8)),
            lambda: Step("ZADD", zk(), *zadd_flags(), *pairs(1, 1)),
            lambda: Step("ZINCRBY", zk(), sc(), zm()),
            lambda: Step("ZSCORE", zk(), zm()),
            lambda: Step("ZMSCORE", zk(), zm(), zm()),
            lambda: Step("ZCARD", zk()),
            lambda: Step("ZREM", zk(), *[zm() for _ in range(r.randint(1, 3))]),
            lambda: Step("ZRANGE", zk(), self.lidx(), self.lidx(), *ws()),
            lambda: Step("ZRANGE", zk(), "0", "-1", "WITHSCORES"),
            lambda: Step("ZRANGE", zk(), rb(), rb(), "BYSCORE", *self.c([[], ["REV"]]), *limit(),
                         *ws()),
            lambda: Step("ZADD", "zl", *sum((["0", zm()] for _ in range(r.randint(1, 3))), [])),
            lambda: Step("ZRANGE", "zl", lb(), lb(), "BYLEX", *self.c([[], ["REV"]]), *limit()),
            lambda: Step("ZRANGE", zk(), "0", "-1", "REV", *self.c([[], ["LIMIT", "0", "1"]])),
            lambda: Step("ZREVRANGE", zk(), self.lidx(), self.lidx(), *ws()),
            lambda: Step("ZRANGEBYSCORE", zk(), rb(), rb(), *ws(), *limit()),
            lambda: Step("ZREVRANGEBYSCORE", zk(), rb(), rb(), *ws(), *limit()),
            lambda: Step("ZRANGEBYLEX", "zl", lb(), lb(), *limit()),
            lambda: Step("ZREVRANGEBYLEX", "zl", lb(), lb(), *limit()),
            lambda: Step("ZRANGESTORE", zk(), zk(), *self.c([[self.lidx(), self.lidx()],
                                                          [rb(), rb(), "BYSCORE"]])),
            lambda: Step("ZRANGESTORE", zk(), "zl", lb(), lb(), "BYLEX", *self.c([[], ["REV"]])),
            lambda: Step("ZCOUNT", zk(), rb(), rb()),
            lambda: Step("ZLEXCOUNT", "zl", lb(), lb()),
            lambda: Step(self.c(["ZRANK", "ZREVRANK"]), zk(), zm()),
            lambda: Step("ZREMRANGEBYRANK", zk(), self.lidx(), self.lidx()),
            lambda: Step("ZREMRANGEBYSCORE", zk(), rb(), rb()),
            lambda: Step("ZREMRANGEBYLEX", "zl", lb(), lb()),
            lambda: Step(self.c(["ZPOPMIN", "ZPOPMAX"]), zk(),
                         *self.c([[], ["2"], ["0"], ["-1"], ["x"]])),
            lambda: Step("ZMPOP", self.c(["1", "2", "0"]), zk(), zk(), self.c(["MIN", "MAX", "x"]),
                         *self.c([[], ["COUNT", "2"], ["COUNT", "0"]])),
            lambda: Step(*self.zstore_args(self.c(["ZUNIONSTORE", "ZINTERSTORE"]))),
            lambda: Step("ZDIFFSTORE", zk(), "2", self.c([zk(), self.skey()]), zk()),
            lambda: Step(*self.zread_args(self.c(["ZUNION", "ZINTER", "ZDIFF"]))),
            lambda: Step("ZINTERCARD", "2", zk(), self.c([zk(), self.skey()]),
                         *self.c([[], ["LIMIT", "1"]])),
            lambda: SHAPE("ZRANDMEMBER", zk(), *self.c([[], ["2"], ["-3", "WITHSCORES"]])),
            lambda: ZSCAN(zk(), *self.c([[], ["COUNT", "1"], ["MATCH", "[ab]*"], ["NOVALUES"]])),
        ]
        return r.choice(table)()

    def xid(self):
        return self.c(["1-1", "1-2", "2-0", "3-5", "5-0", "5-*", "10-1", "0-1", "0-0",
                       "18446744073709551615-18446744073709551615", "7", "x-1", "4-1"])

    def xrange_bound(self):
        return self.c(["-", "+", "0", "1-2", "(1-1", "3", "(5-0", "5", "x", "(-"])

    def stream_command(self):
        r, xk = self.r, self.xkey
        g = lambda: self.c(["g1", "g2", "g1", "nog"])
        cons = lambda: self.c(["c1", "c2", "c3"])
        fv = lambda: sum(([self.field(), self.val()] for _ in range(r.randint(1, 2))), [])
        trim = lambda: self.c([[], [], ["MAXLEN", self.c(["2", "0", "5", "-1"])],
                               ["MAXLEN", "=", "3"], ["MAXLEN", "~", "2"],
                               ["MINID", self.c(["2", "4-1", "x"])],
                               ["MAXLEN", "~", "1", "LIMIT", "10"], ["MAXLEN", "1", "LIMIT", "1"]])
        table = [
            lambda: Step("XADD", xk(), *self.c([[], [], ["NOMKSTREAM"]]), *trim(), self.xid(),
                         *fv()),
            lambda: Step("XADD", xk(), self.xid(), *fv()),
            lambda: Step("XLEN", xk()),
            lambda: Step("XRANGE", xk(), self.xrange_bound(), self.xrange_bound(),
                         *self.c([[], ["COUNT", "2"], ["COUNT", "0"]])),
            lambda: Step("XREVRANGE", xk(), self.xrange_bound(), self.xrange_bound(),
                         *self.c([[], ["COUNT", "1"]])),
            lambda: Step("XDEL", xk(), *[self.xid() for _ in range(r.randint(1, 2))]),
            lambda: Step("XTRIM", xk(), *self.c([["MAXLEN", "2"], ["MINID", "3-0"],
                                                ["MAXLEN", "~", "0"], ["MAXLEN"], ["FOO", "1"]])),
            lambda: Step("XREAD", *self.c([[], ["COUNT", "2"]]), "STREAMS", xk(),
                         self.c(["0", "1-1", "$", "3"])),
            lambda: Step("XGROUP", "CREATE", xk(), g(), self.c(["0", "$", "1-2", "x"]),
                         *self.c([[], ["MKSTREAM"], ["ENTRIESREAD", "1"]])),
            lambda: Step("XGROUP", "SETID", xk(), g(), self.c(["0", "$", "2-0"])),
            lambda: Step("XGROUP", "CREATECONSUMER", xk(), g(), cons()),
            lambda: Step("XGROUP", "DELCONSUMER", xk(), g(), cons()),
            lambda: Step("XGROUP", "DESTROY", xk(), g()),
            lambda: Step("XREADGROUP", "GROUP", g(), cons(), *self.c([[], ["COUNT", "1"],
                                                                    ["COUNT", "2", "NOACK"]]),
                         "STREAMS", xk(), self.c([">", ">", "0", "2-0"])),
            lambda: Step("XACK", xk(), g(), *[self.xid() for _ in range(r.randint(1, 3))]),
            lambda: Step("XPENDING", xk(), g()),
            lambda: PEL("XPENDING", xk(), g(), "-", "+", "10", *self.c([[], [cons()]])),
            lambda: Step("XCLAIM", xk(), g(), cons(), "0", self.xid(), self.xid(),
                         *self.c([[], ["JUSTID"], ["FORCE"], ["RETRYCOUNT", "5"]])),
            lambda: Step("XAUTOCLAIM", xk(), g(), cons(), "0", self.c(["0-0", "2-0"]),
                         *self.c([[], ["COUNT", "1"], ["JUSTID"]])),
            lambda: Step("XSETID", xk(), self.c(["20-0", "1-0", "x"])),
            lambda: Step("XINFO", "GROUPS", xk()),
            lambda: SHAPE("XINFO", "CONSUMERS", xk(), g()),
        ]
        return r.choice(table)()

    def bit_command(self):
        r, k = self.r, self.key
        bits = lambda: self.c(["0", "1", "7", "8", "100", "-1", "x", "4294967296"])
        typ = lambda: self.c(["u8", "i8", "u1", "i64", "u63", "i5", "u64", "x"])
        off = lambda: self.c(["0", "#1", "5", "100", "-1"])
        table = [
            lambda: Step("SETBIT", k(), bits(), self.c(["0", "1", "1", "2"])),
            lambda: Step("GETBIT", k(), bits()),
            lambda: Step("BITCOUNT", k(), *self.c([[], ["0", "-1"], ["1", "2", "BIT"],
                                                  ["0", "5", "BYTE"], ["-2", "-1"], ["1"]])),
            lambda: Step("BITPOS", k(), self.c(["0", "1", "2"]),
                         *self.c([[], ["1"], ["0", "-1"], ["2", "9", "BIT"], ["1", "1", "BYTE"]])),
            lambda: Step("BITOP", self.c(["AND", "OR", "XOR", "NOT", "x"]), k(),
                         *[k() for _ in range(r.randint(1, 2))]),
            lambda: Step("BITFIELD", k(), *self.c([
                ["GET", typ(), off()],
                ["SET", typ(), off(), self.c(["1", "-1", "300", "x"])],
                ["INCRBY", typ(), off(), self.c(["1", "200", "-300"])],
                ["OVERFLOW", self.c(["WRAP", "SAT", "FAIL", "X"]), "INCRBY", typ(), off(), "100"],
                ["SET", "u8", "0", "255", "GET", "u4", "0"]])),
            lambda: Step("BITFIELD_RO", k(), "GET", typ(), off()),
            # HyperLogLogs are written only to p0/p1 (no other command edits them: a damaged one
            # is refused by synod wherever Redis's answer depends on how far its scan gets)
            lambda: Step("PFADD", self.c(["p0", "p1"]), *[self.c(MEMBERS) for _ in
                                                         range(r.randint(0, 4))]),
            lambda: Step("PFCOUNT", *self.c([["p0"], ["p0", "p1"], ["p0", k()], [k()]])),
            lambda: Step("PFMERGE", self.c(["p0", "p1"]), self.c(["p0", "p1", k()])),
            lambda: Step("GET", self.c(["p0", "p1"])),
            lambda: Step("LCS", k(), k(), *self.c([[], ["LEN"], ["IDX"], ["IDX", "MINMATCHLEN", "2",
                                                                     "WITHMATCHLEN"]])),
        ]
        return r.choice(table)()

    def misc_command(self):
        r, ak = self.r, self.akey
        table = [
            lambda: Step("COPY", ak(), ak(), *self.c([[], ["REPLACE"], ["DB", "1"], ["FOO"]])),
            lambda: Step("OBJECT", "ENCODING", ak()),
            lambda: SHAPE("DUMP", ak()),  # a hash table's order is per process
            lambda: Step("SORT", self.c([self.lkey(), self.skey(), self.zkey()]),
                         *self.c([[], ["ALPHA"], ["DESC", "ALPHA"], ["LIMIT", "1", "2", "ALPHA"],
                                  ["BY", "nosort", "STORE", "l1"],
                                  ["ALPHA", "STORE", "l0"], ["GET", "#", "ALPHA"]])),
            lambda: Step("SORT_RO", self.lkey(), "ALPHA"),
            # a set's order without sorting is its table's (Redis sorts it only for STORE)
            lambda: U("SORT", self.c([self.lkey(), self.skey(), self.zkey()]), "BY", "nosort"),
            lambda: Step("MOVE", ak(), self.c(["1", "0", "x"])),
            lambda: Step("SWAPDB", "0", "1") if r.random() < 0.3 else SETTLED("DBSIZE"),
            lambda: Step("EXISTS", ak(), ak()),
            lambda: Step("CONFIG", "SET", *self.threshold()),
            lambda: Step("SCRIPT", "LOAD", "return redis.call('TYPE', KEYS[1])"),
            lambda: Step("EVALSHA", "4f0d5e8a7cc4e0e0a0c6b9c3da6b21a0b1b0b1a1", "0"),
            lambda: Step("EVALSHA", "5afb84be81de8a6b369cec37597ef66bc9f128e1", "1", ak()),
            lambda: Step("SCRIPT", "EXISTS", "5afb84be81de8a6b369cec37597ef66bc9f128e1"),
            lambda: Step("FUNCTION", "LOAD", *self.c([[], ["REPLACE"]]), LIB),
            lambda: Step(self.c(["FCALL", "FCALL_RO"]), self.c(["rget", "rlen", "rincr", "nof"]),
                         "1", self.key(), self.c(INTS)),
            lambda: Step("FUNCTION", "DELETE", "rlib"),
            lambda: SHAPE("HRANDFIELD", self.hkey(), *self.c([[], ["2"], ["-3", "WITHVALUES"]])),
            lambda: SHAPE("RANDOMKEY"),
            lambda: SHAPE("XINFO", "STREAM", self.xkey(), *self.c([[], ["FULL"]])),
            lambda: Step("OBJECT", "FREQ", ak()),
            lambda: Step("SUBSTR", self.key(), self.c(OFFSETS), self.c(OFFSETS)),
            lambda: Step("BRPOPLPUSH", self.lkey(), self.lkey(), self.c(["0.01", "x"])),
            lambda: Step(self.c(["PUBLISH", "SPUBLISH"]), "ch", self.val()),
            lambda: Step("PUBSUB", *self.c([["CHANNELS"], ["NUMSUB", "a", "b"], ["NUMPAT"],
                                            ["SHARDCHANNELS"], ["SHARDNUMSUB", "a"], ["FOO"]])),
            lambda: Step("FLUSHALL") if r.random() < 0.1 else Step("UNWATCH"),
            lambda: Step("CLIENT", *self.c([["NO-EVICT", "on"], ["NO-EVICT", "off"], ["NO-EVICT", "x"],
                                            ["CACHING", "yes"], ["TRACKINGINFO"], ["GETREDIR"],
                                            ["UNBLOCK", "999999"], ["UNBLOCK", "x"], ["HELP"],
                                            ["KILL", "ID", "999999"], ["INFO", "x"]])),
            lambda: Step(self.c(["OBJECT", "XINFO", "XGROUP", "MEMORY", "CONFIG", "CLIENT",
                                 "SCRIPT", "FUNCTION", "PUBSUB", "LATENCY", "SLOWLOG", "ACL",
                                 "COMMAND"]), "HELP"),
            lambda: Step("COMMAND", *self.c([["INFO", "get", "nosuch", "zadd"], ["GETKEYS", "set", "a", "b"],
                                             ["GETKEYS", "zunionstore", "d", "2", "a", "b"],
                                             ["GETKEYS", "get"], ["GETKEYSANDFLAGS", "lmove", "a", "b", "left", "right"]])),
            # (not x*: the log's own XADD_EFFECT & co. are in synod's table)
            lambda: U("COMMAND", "LIST", "FILTERBY", "PATTERN", self.c(["z*", "h*", "client*"])),
            lambda: PAIRS("CONFIG", "GET", self.c(["maxmemory*", "*listpack*", "notify*", "hz"])),
            lambda: Step("ECHO", self.val()),
            lambda: TTL(5, "OBJECT", "IDLETIME", ak()),  # seconds: a loaded machine is slow
        ]
        return r.choice(table)()

    def geo_command(self):
        """Geo commands on the sorted sets (members placed by GEOADD, or any score)."""
        r, zk = self.r, self.zkey
        lon = lambda: self.c(["13.361389", "15.087269", "-122.27652", "0", "180", "-180.1", "x"])
        lat = lambda: self.c(["38.115556", "37.502669", "37.805186", "0", "85.05112878", "86",
                              "-45.5"])
        pt = lambda: [lon(), lat(), self.zmember()]
        unit = lambda: self.c(["m", "km", "mi", "ft", "M", "yd"])
        table = [
            lambda: Step("GEOADD", zk(), *self.c([[], ["NX"], ["XX"], ["CH"], ["XX", "NX"]]),
                         *sum((pt() for _ in range(r.randint(1, 3))), [])),
            lambda: Step("GEOPOS", zk(), self.zmember(), self.zmember()),
            lambda: Step("GEODIST", zk(), self.zmember(), self.zmember(), *self.c([[], [unit()]])),
            lambda: Step("GEOHASH", zk(), self.zmember(), self.zmember()),
            lambda: Step("GEOSEARCH", zk(), *self.c([["FROMMEMBER", self.zmember()],
                                                     ["FROMLONLAT", lon(), lat()]]),
                         *self.c([["BYRADIUS", self.c(["100", "500", "0", "-1"]), unit()],
                                  ["BYBOX", "400", "400", "km"]]),
                         self.c(["ASC", "DESC"]),
                         *self.c([[], ["COUNT", "1"], ["COUNT", "2", "ANY"]]),
                         *self.c([[], ["WITHCOORD"], ["WITHDIST", "WITHHASH"]])),
            lambda: Step("GEOSEARCHSTORE", zk(), zk(), "FROMLONLAT", "15", "37", "BYRADIUS",
                         "300", "km", "ASC", *self.c([[], ["STOREDIST"]])),
            lambda: Step("GEORADIUS", zk(), "15", "37", "200", "km", "ASC",
                         *self.c([[], ["WITHDIST"], ["COUNT", "1"]])),
            lambda: Step("GEORADIUSBYMEMBER_RO", zk(), self.zmember(), "300", "km", "DESC"),
            lambda: Step("GEORADIUSBYMEMBER", zk(), self.zmember(), "300", "km", "ASC",
                         *self.c([[], ["STORE", zk()], ["STOREDIST", zk()], ["WITHCOORD"]])),
            lambda: Step("GEORADIUS_RO", zk(), "15", "37", "200", "km", "WITHHASH"),
        ]
        return r.choice(table)()

    def script_command(self):
        """EVAL of small scripts: redis.call results converted both ways, errors, pcall."""
        r = self.r
        scripts = [
            ("return redis.call('GET', KEYS[1])", 1),
            ("return redis.call('INCR', KEYS[1])", 1),
            ("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('STRLEN', KEYS[1])", 1),
            ("return redis.call('LRANGE', KEYS[1], 0, -1)", 1),
            ("return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')", 1),
            ("return redis.pcall('LPUSH', KEYS[1], ARGV[1])", 1),
            ("return {1, 2.5, 'x', true, false, {err='E1'}}", 0),
            ("return redis.call('HGETALL', KEYS[1])", 1),  # a table's order: by pairs
            ("return redis.call('XRANGE', KEYS[1], '-', '+')", 1),
            ("return tonumber(ARGV[1]) * 2", 0),
            ("return redis.call('NOSUCH')", 0),
            ("return redis.status_reply('FINE')", 0),
            ("return redis.call('TYPE', KEYS[1])", 1),
            ("local t = redis.call('SMEMBERS', KEYS[1]); table.sort(t); return t", 1),
            ("redis.call('DEL', KEYS[1]); return redis.call('EXISTS', KEYS[1])", 1),
            # DUMP and RESTORE of a value into another key, both on the same server
            ("local d = redis.call('DUMP', KEYS[1]); if not d then return 0 end; "
             "redis.call('RESTORE', KEYS[2], 0, d, 'REPLACE'); return redis.call('TYPE', KEYS[2])",
             2),
            ("return redis.call('OBJECT', 'ENCODING', KEYS[1])", 1),
        ]
        src, nk = r.choice(scripts)
        keys = [self.akey() for _ in range(nk)]
        kind = PAIRS if "HGETALL" in src else Step
        # an encoding is a node's own: synod refuses it to a write script (docs/scripting.md)
        ev = "EVAL_RO" if "ENCODING" in src else self.c(["EVAL", "EVAL", "EVAL_RO"])
        return kind(ev, src, str(nk), *keys, self.val())

    def blocking_command(self):
        """Blocking pops that are answered at once (data present) or time out after 10 ms."""
        lk, zk = self.lkey, self.zkey
        t = lambda: self.c(["0.01", "0.01", "-1", "x"])
        table = [
            lambda: Step(self.c(["BLPOP", "BRPOP"]), lk(), lk(), t()),
            lambda: Step("BLMOVE", lk(), lk(), self.c(["LEFT", "RIGHT"]),
                         self.c(["LEFT", "RIGHT"]), t()),
            lambda: Step("BLMPOP", t(), "2", lk(), lk(), self.c(["LEFT", "RIGHT"]),
                         *self.c([[], ["COUNT", "2"]])),
            lambda: Step(self.c(["BZPOPMIN", "BZPOPMAX"]), zk(), zk(), t()),
            lambda: Step("BZMPOP", t(), "1", zk(), self.c(["MIN", "MAX"])),
            lambda: Step("XREAD", "BLOCK", "10", "STREAMS", self.xkey(), self.c(["0", "$"])),
            lambda: Step("XREADGROUP", "GROUP", "g1", "c1", "BLOCK", "10", "STREAMS",
                         self.xkey(), ">"),
        ]
        return self.r.choice(table)()

    def threshold(self):
        k = self.c(sorted(THRESHOLDS))
        return [k, self.c(THRESHOLDS[k])]

    def more_command(self):
        """One step of a family beyond issue 2's, each with its share of the draws."""
        x = self.r.random()
        for upto, family in ((0.3, self.zset_command), (0.55, self.stream_command),
                             (0.7, self.bit_command), (0.78, self.geo_command),
                             (0.86, self.script_command), (0.92, self.blocking_command)):
            if x < upto:
                return family()
        return self.misc_command()

    def transaction(self):
        """MULTI, a few exactly-compared commands, then EXEC or DISCARD; sometimes a WATCH
        first, with the watched key touched (or not) in between."""
        out = []
        r = self.r
        if r.random() < 0.4:
            wk = self.akey()
            out.append(Step("WATCH", wk))
            if r.random() < 0.5:
                out.append(Step("SET", wk, "w"))
        if out and r.random() < 0.2:
            out.append(Step("UNWATCH"))
        out.append(Step("MULTI"))
        for _ in range(r.randint(0, 4)):
            s = self.command() if r.random() < 0.5 else self.more_command()
            if type(s) is Step:
                out.append(s)
        out.append(Step(self.c(["EXEC", "EXEC", "EXEC", "DISCARD"])))
        return out
