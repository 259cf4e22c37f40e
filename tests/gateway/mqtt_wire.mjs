// A minimal MQTT v5 client over TLS for the tests: the packets the tests
// need (CONNECT, PUBLISH QoS 1, SUBSCRIBE) written by hand, so that a test
// can present any certificate and try any topic, and read exactly what the
// broker answers (reason codes of CONNACK, PUBACK, SUBACK).
import tls from 'node:tls';

function varint(n) {
  const out = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s) => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 255]), b]);
};

function packet(type, flags, body) {
  return Buffer.concat([Buffer.from([(type << 4) | flags]), varint(body.length), body]);
}

/** Read whole packets from a socket: next() resolves with {type, flags, body}. */
function reader(sock) {
  let buf = Buffer.alloc(0);
  const waiting = [];
  const ready = [];
  let ended = null;
  const pump = () => {
    for (;;) {
      if (buf.length < 2) break;
      let len = 0; let mult = 1; let i = 1;
      for (;;) {
        if (i >= buf.length) return;
        const b = buf[i++];
        len += (b & 127) * mult;
        mult *= 128;
        if (!(b & 128)) break;
      }
      if (buf.length < i + len) return;
      const p = { type: buf[0] >> 4, flags: buf[0] & 15, body: buf.subarray(i, i + len) };
      buf = buf.subarray(i + len);
      if (waiting.length) waiting.shift().resolve(p); else ready.push(p);
    }
  };
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
  const end = (e) => {
    ended = e || new Error('connection closed');
    while (waiting.length) waiting.shift().reject(ended);
  };
  sock.on('close', () => end());
  sock.on('error', (e) => end(e));
  return {
    next(ms = 5000) {
      if (ready.length) return Promise.resolve(ready.shift());
      if (ended) return Promise.reject(ended);
      return new Promise((resolve, reject) => {
        // The timer ends with the wait: one left running would keep the
        // process alive for "ms" after its last packet.
        let timer = null;
        const w = {
          resolve: (p) => { clearTimeout(timer); resolve(p); },
          reject: (e) => { clearTimeout(timer); reject(e); },
        };
        waiting.push(w);
        timer = setTimeout(() => {
          const k = waiting.indexOf(w);
          if (k >= 0) { waiting.splice(k, 1); reject(new Error('no packet in time')); }
        }, ms);
      });
    },
  };
}

/**
 * Connect over TLS with { host, port, ca, cert, key } (PEM strings) and send
 * CONNECT (v5, clean start) as "clientId" with "username". Resolves with
 * { tlsError } when the handshake fails, or { reason (CONNACK reason code),
 * client } where client has publish(topic, payload) -> PUBACK reason,
 * subscribe(filter) -> SUBACK reason, closed() and end().
 */
export async function mqttConnect({ host = '127.0.0.1', port, ca, cert, key, clientId = 'test',
  username } = {}) {
  let sock;
  try {
    sock = await new Promise((resolve, reject) => {
      const s = tls.connect({ host, port, ca, cert, key, servername: undefined,
        checkServerIdentity: () => undefined }, () => resolve(s));
      // tls.connect() does not pass noDelay on: without it a publish right
      // after the PUBACK of a delivery waits for the broker's delayed ACK (40 ms).
      s.setNoDelay(true);
      s.once('error', reject);
    });
  } catch (e) {
    return { tlsError: e.message };
  }
  const rd = reader(sock);
  let flags = 0x02; // clean start
  let payload = str(clientId);
  if (username) { flags |= 0x80; payload = Buffer.concat([payload, str(username)]); }
  const vh = Buffer.concat([str('MQTT'), Buffer.from([5, flags, 0, 30]), varint(0)]);
  sock.write(packet(1, 0, Buffer.concat([vh, payload])));
  let p;
  try {
    p = await rd.next();
  } catch (e) {
    sock.destroy();
    // With TLS 1.3 the broker's refusal of a certificate arrives after the
    // handshake, as an alert that closes the connection.
    return { tlsError: e.message };
  }
  if (p.type !== 2) { sock.destroy(); throw new Error(`expected CONNACK, got ${p.type}`); }
  const reason = p.body[1];
  let mid = 1;
  const held = [];
  const client = {
    /** "contentType" and "correlation" (a string or Buffer) are sent as the
     * v5 properties the server's bridge reads (a HOK batch's type and id). */
    async publish(topic, data, { qos = 1, contentType, correlation } = {}) {
      const id = (mid = (mid % 65535) + 1);
      const props = [];
      if (contentType !== undefined) props.push(Buffer.from([0x03]), str(contentType));
      if (correlation !== undefined) {
        const c = Buffer.from(correlation);
        props.push(Buffer.from([0x09, c.length >> 8, c.length & 255]), c);
      }
      const pb = Buffer.concat(props);
      const vhp = Buffer.concat([str(topic), qos ? Buffer.from([id >> 8, id & 255]) : Buffer.alloc(0),
        varint(pb.length), pb]);
      sock.write(packet(3, qos << 1, Buffer.concat([vhp, Buffer.from(data)])));
      if (!qos) return 0;
      let ack = await client.next(15000, true);
      while (ack.type === 3) { // a message for the client passing by: kept for next()
        held.push(ack);
        ack = await client.next(15000, true);
      }

      // PUBACK: id (2), reason (1, absent = success)
      return ack.type === 4 ? (ack.body.length > 2 ? ack.body[2] : 0) : -ack.type;
    },
    async subscribe(filter) {
      const id = (mid = (mid % 65535) + 1);
      sock.write(packet(8, 2, Buffer.concat([Buffer.from([id >> 8, id & 255]), varint(0),
        str(filter), Buffer.from([1])])));
      const ack = await rd.next();
      // SUBACK: id (2), properties length (1 here), reason codes
      return ack.type === 9 ? ack.body[3] : -ack.type;
    },
    /** The next packet; an incoming QoS 1 PUBLISH is acknowledged (PUBACK),
     * as a client must, or the broker stops sending after its in-flight limit. */
    async next(ms, fresh = false) {
      if (!fresh && held.length) return held.shift();
      const p = await rd.next(ms);
      if (p.type === 3 && ((p.flags >> 1) & 3) === 1) {
        const tlen = (p.body[0] << 8) | p.body[1];
        const id = p.body.subarray(2 + tlen, 4 + tlen);
        sock.write(packet(4, 0, Buffer.from([id[0], id[1]])));
      }
      return p;
    },
    /** Resolves true when the broker closes the connection within "ms". */
    closed(ms = 5000) {
      return new Promise((resolve) => {
        if (sock.destroyed) { resolve(true); return; }
        const t = setTimeout(() => resolve(false), ms);
        sock.once('close', () => { clearTimeout(t); resolve(true); });
      });
    },
    end() { sock.destroy(); },
  };
  if (reason !== 0) sock.destroy();
  return { reason, client };
}
