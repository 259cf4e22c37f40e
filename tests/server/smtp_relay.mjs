// A mail relay for tests and benchmarks (tests/server/auth_twostep.test.mjs,
// tests/bench/signin_mail_bench.mjs, tests/bench/outbox_lanes_bench.mjs).
import net from 'node:net';

/**
 * A mail relay on loopback in front of the sink: "pass" forwards each
 * connection to it, "stall" accepts and never answers (a hung mail
 * server), "drop" closes at once (a dead one). { url, port, set(mode),
 * cut() (ends the connections open now), stalledEnded() (how many stalled
 * connections have ended so far: a sender that gave up on the hung relay),
 * stop() }.
 */
export async function startRelay(port) {
  let mode = 'pass';
  let stalledEnded = 0;
  const socks = new Set();
  const keep = (x) => { socks.add(x); x.on('close', () => socks.delete(x)); x.on('error', () => {}); };
  const server = net.createServer((c) => {
    keep(c);
    if (mode === 'drop') { c.destroy(); return; }
    if (mode === 'stall') {
      c.on('close', () => { stalledEnded++; });
      return;
    }
    const up = net.connect(port, '127.0.0.1');
    keep(up);
    up.on('error', () => c.destroy());
    up.on('close', () => c.destroy());
    c.on('close', () => up.destroy());
    c.pipe(up);
    up.pipe(c);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${server.address().port}`,
    port: server.address().port,
    set(m) { mode = m; },
    stalledEnded: () => stalledEnded,
    cut() {
      for (const x of socks) x.destroy();
    },
    async stop() {
      for (const x of socks) x.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
