// Helpers of the connection tests (conn.test.mjs, conn_write.test.mjs):
// a bound on an event, and a socket's state as the kernel shows it.
import fs from 'node:fs';

/** "promise", or a failure naming "what" once "ms" pass first (a bound on
 * what must happen, never a wait: the test goes on at the event). */
export function within(promise, ms, what) {
  let timer;
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The socket of local port "local" to remote port "remote" in
 * /proc/net/tcp: { state ('01' established, '04' FIN_WAIT1: closed by its
 * owner with bytes still to send), txQueue, rxQueue } or null. */
export function tcpSocket(local, remote) {
  const hex = (n) => n.toString(16).toUpperCase().padStart(4, '0');
  for (const line of fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length > 4 && f[1].endsWith(':' + hex(local)) && f[2].endsWith(':' + hex(remote))) {
      const [tx, rx] = f[4].split(':').map((h) => parseInt(h, 16));
      return { state: f[3], txQueue: tx, rxQueue: rx };
    }
  }
  return null;
}
