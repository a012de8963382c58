// bench/queue/driver.mjs — the load driver of bench/bench_queue.py: one measurement per run,
// the same code for synod and redis-server (a minimal RESP client over net.Socket) and, through
// the `nats` npm client, for NATS JetStream, so every system pays the same client costs.
//
// Usage: node driver.mjs '<json>'; prints one JSON line {ops, seconds, rps, p50, p99, errors,...}.
//   {"sys":"resp","op":"xadd","ports":[..],"seconds":S,"inflight":50,"size":64}
//       `inflight` connections (spread over ports), each with one XADD q * d <size bytes> in
//       flight (closed loop): latency = request to reply.
//   {"sys":"resp","op":"consume",...}  each connection loops XREADGROUP GROUP g cN COUNT 1
//       STREAMS q > then XACK q g id: latency = the read's request to the ack's reply; stops
//       at S seconds or when the stream has nothing left.
//   {"sys":"resp","op":"fanout","ports":[..],"subs":100,"seconds":S,"inflight":50,"size":64}
//       `subs` subscribers of channel ch spread over ports, `inflight` PUBLISH in flight over
//       the same ports: delivered messages/s (bytes received / bytes per message).
//   {"sys":"nats","op":"setup"|"xadd"|"consume","ports":[..],...}  JetStream: stream Q
//       (subject q, file storage, 3 replicas) with a durable pull consumer g (explicit acks);
//       xadd = js.publish with `inflight` publishes awaiting their acks on one connection;
//       consume = `inflight` workers doing consumer.next() + msg.ackAck().
import net from "node:net";

const cfg = JSON.parse(process.argv[2]);
const SIZE = cfg.size ?? 64;
const PAYLOAD = Buffer.alloc(SIZE, "x");
const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

function summary(lat, t0, t1, extra = {}) {
    lat.sort((a, b) => a - b);
    const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0);
    const seconds = (t1 - t0) / 1000;
    return { ops: lat.length, seconds, rps: lat.length / seconds, p50: q(0.5), p99: q(0.99), ...extra };
}

// ---- RESP ----

function encode(args) {
    const parts = [`*${args.length}\r\n`];
    for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
        parts.push(`$${b.length}\r\n`, b, "\r\n");
    }
    return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
}

// Parses one reply at buf[pos]: [value, next] or null if incomplete. Errors become Error.
function parse(buf, pos) {
    if (pos >= buf.length) return null;
    const eol = buf.indexOf("\r\n", pos);
    if (eol < 0) return null;
    const t = buf[pos], line = buf.toString("latin1", pos + 1, eol);
    if (t === 43) return [line, eol + 2]; // +
    if (t === 45) return [new Error(line), eol + 2]; // -
    if (t === 58) return [Number(line), eol + 2]; // :
    if (t === 36) { // $
        const n = Number(line);
        if (n < 0) return [null, eol + 2];
        if (buf.length < eol + 2 + n + 2) return null;
        return [buf.subarray(eol + 2, eol + 2 + n), eol + 4 + n];
    }
    if (t === 42 || t === 62) { // * >
        const n = Number(line);
        if (n < 0) return [null, eol + 2];
        const out = [];
        let p = eol + 2;
        for (let i = 0; i < n; i++) {
            const r = parse(buf, p);
            if (!r) return null;
            out.push(r[0]);
            p = r[1];
        }
        return [out, p];
    }
    throw new Error("bad RESP byte " + t);
}

class Conn {
    constructor(port) {
        this.sock = net.connect({ host: "127.0.0.1", port, noDelay: true });
        this.buf = Buffer.alloc(0);
        this.waiting = [];
        this.sock.on("data", (d) => {
            this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
            let pos = 0;
            for (;;) {
                const r = parse(this.buf, pos);
                if (!r) break;
                pos = r[1];
                this.waiting.shift()(r[0]);
            }
            this.buf = this.buf.subarray(pos);
        });
        this.ready = new Promise((ok, bad) => {
            this.sock.once("connect", ok);
            this.sock.once("error", bad);
        });
    }
    call(...args) {
        return new Promise((ok) => {
            this.waiting.push(ok);
            this.sock.write(encode(args));
        });
    }
    close() {
        this.sock.destroy();
    }
}

async function respConns(n) {
    const cs = [];
    for (let i = 0; i < n; i++) cs.push(new Conn(cfg.ports[i % cfg.ports.length]));
    await Promise.all(cs.map((c) => c.ready));
    return cs;
}

async function respXadd() {
    const cs = await respConns(cfg.inflight);
    const lat = [], t0 = now(), end = t0 + cfg.seconds * 1000;
    let errors = 0;
    await Promise.all(cs.map(async (c) => {
        while (now() < end) {
            const t = now();
            const r = await c.call("XADD", "q", "*", "d", PAYLOAD);
            if (r instanceof Error) errors++;
            else lat.push(now() - t);
        }
    }));
    const t1 = now();
    cs.forEach((c) => c.close());
    return summary(lat, t0, t1, { errors });
}

async function respConsume() {
    const cs = await respConns(cfg.inflight);
    const lat = [], t0 = now(), end = t0 + cfg.seconds * 1000;
    let errors = 0, last = t0, drained = false;
    await Promise.all(cs.map(async (c, i) => {
        while (now() < end && !drained) {
            const t = now();
            const r = await c.call("XREADGROUP", "GROUP", "g", "c" + i, "COUNT", "1", "STREAMS", "q", ">");
            if (r instanceof Error) { errors++; continue; }
            if (!r || !r.length || !r[0][1].length) { drained = true; break; }
            const a = await c.call("XACK", "q", "g", r[0][1][0][0]);
            if (a instanceof Error || a !== 1) { errors++; continue; }
            last = now();
            lat.push(last - t);
        }
    }));
    cs.forEach((c) => c.close());
    return summary(lat, t0, drained ? last : now(), { errors, drained });
}

async function respFanout() {
    const subs = [];
    for (let i = 0; i < cfg.subs; i++) {
        const s = net.connect({ host: "127.0.0.1", port: cfg.ports[i % cfg.ports.length] });
        s.bytes = 0;
        subs.push(s);
    }
    await Promise.all(subs.map((s) => new Promise((ok, bad) => { s.once("connect", ok); s.once("error", bad); })));
    // "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n" confirms; every message is the same size
    const confirm = Buffer.byteLength("*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    const perMsg = Buffer.byteLength(`*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$${SIZE}\r\n`) + SIZE + 2;
    for (const s of subs) {
        s.on("data", (d) => { s.bytes += d.length; });
        s.write(encode(["SUBSCRIBE", "ch"]));
    }
    const t00 = now();
    while (subs.some((s) => s.bytes < confirm)) {
        if (now() - t00 > 10000) throw new Error("subscribers did not confirm");
        await new Promise((r) => setTimeout(r, 10));
    }
    const base = subs.map((s) => s.bytes);
    const cs = await respConns(cfg.inflight);
    const lat = [], t0 = now(), end = t0 + cfg.seconds * 1000;
    let errors = 0, receivers = 0;
    await Promise.all(cs.map(async (c) => {
        while (now() < end) {
            const t = now();
            const r = await c.call("PUBLISH", "ch", PAYLOAD);
            if (r instanceof Error) errors++;
            else { lat.push(now() - t); receivers = Math.max(receivers, r); }
        }
    }));
    const published = lat.length;
    // wait until every published message has arrived (or 10 s)
    const want = published * perMsg;
    const tw = now();
    const got = () => subs.reduce((a, s, i) => a + Math.min(want, s.bytes - base[i]), 0);
    while (got() < want * subs.length && now() - tw < 10000) await new Promise((r) => setTimeout(r, 20));
    const t1 = now();
    const delivered = Math.floor(got() / perMsg);
    cs.forEach((c) => c.close());
    subs.forEach((s) => s.destroy());
    const r = summary(lat, t0, t1, { errors, published, delivered, receivers_reported: receivers });
    r.delivered_per_s = delivered / r.seconds;
    r.expected = published * cfg.subs;
    return r;
}

// ---- NATS JetStream ----

async function natsConn() {
    const { connect } = await import("nats");
    return connect({ servers: cfg.ports.map((p) => `127.0.0.1:${p}`), noEcho: true });
}

async function natsSetup() {
    const { StorageType, AckPolicy } = await import("nats");
    const nc = await natsConn();
    const deadline = now() + 30000;
    for (;;) {
        try {
            const jsm = await nc.jetstreamManager();
            try { await jsm.streams.delete("Q"); } catch (e) { /* absent */ }
            await jsm.streams.add({ name: "Q", subjects: ["q"], num_replicas: 3, storage: StorageType.File });
            await jsm.consumers.add("Q", { durable_name: "g", ack_policy: AckPolicy.Explicit });
            break;
        } catch (e) {
            if (now() > deadline) throw e;
            await new Promise((r) => setTimeout(r, 300));
        }
    }
    await nc.close();
    return { ok: true };
}

async function natsXadd() {
    const nc = await natsConn();
    const js = nc.jetstream();
    const lat = [], t0 = now(), end = t0 + cfg.seconds * 1000;
    let errors = 0;
    await Promise.all(Array.from({ length: cfg.inflight }, async () => {
        while (now() < end) {
            const t = now();
            try { await js.publish("q", PAYLOAD); lat.push(now() - t); } catch (e) { errors++; }
        }
    }));
    const t1 = now();
    await nc.close();
    return summary(lat, t0, t1, { errors });
}

async function natsConsume() {
    const nc = await natsConn();
    const js = nc.jetstream();
    const c = await js.consumers.get("Q", "g");
    const lat = [], t0 = now(), end = t0 + cfg.seconds * 1000;
    let errors = 0, last = t0, drained = false;
    await Promise.all(Array.from({ length: cfg.inflight }, async () => {
        while (now() < end && !drained) {
            const t = now();
            try {
                const m = await c.next({ expires: 1000 });
                if (!m) { drained = true; break; }
                await m.ackAck();
                last = now();
                lat.push(last - t);
            } catch (e) { errors++; }
        }
    }));
    await nc.close();
    return summary(lat, t0, drained ? last : now(), { errors, drained });
}

const modes = {
    "resp/xadd": respXadd, "resp/consume": respConsume, "resp/fanout": respFanout,
    "nats/setup": natsSetup, "nats/xadd": natsXadd, "nats/consume": natsConsume,
};
modes[`${cfg.sys}/${cfg.op}`]().then(
    (r) => { console.log(JSON.stringify(r)); process.exit(0); },
    (e) => { console.error(e.stack || String(e)); process.exit(1); },
);
