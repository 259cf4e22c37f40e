// A webhook receiver for tests: an HTTP server on 127.0.0.1 that records
// every request (path, headers, body) and answers as told, per path: a
// status and body, after a delay ("stall"), never ("hang": the request stays
// open until the receiver stops or the client gives up), or by closing the
// connection ("close"). Used by the outbox tests (notify*.test.mjs) and for
// any test that needs a Slack, Teams or WeChat endpoint.
//
//   const rx = await startWebhookReceiver();
//   rx.plan('/slack', [{ status: 500 }, { status: 500 }, { status: 500 }]); // then 200 "ok"
//   ... rx.url('/slack') is the webhook URL ...
//   await rx.waitFor(() => rx.accepted('/slack').length === 1);
//   rx.requests  // every request, oldest first
//   rx.maxOpen()  // the most requests open at once (in flight to this host)
//   await rx.stop();
//
// Every Slack, Teams and WeChat message is checked for codes a person would
// see (person_text.mjs; the generic webhook's JSON is a machine format):
// rx.to(), rx.accepted() and rx.stop() throw when one had any, so a test
// that reads chat messages or stops its receiver fails on it.
import http from 'node:http';
import https from 'node:https';
import { sleep } from './harness.mjs';
import { chatTexts, personTextProblems } from './person_text.mjs';

const DEFAULT = { status: 200, body: 'ok' };

/**
 * Start a receiver on 127.0.0.1 (a free port); with { tls: { key, cert } }
 * it speaks HTTPS (url() then gives https:// URLs).
 * Each request is recorded as { path, method, headers, text, json, at, status,
 * delivery, attempt } where `status` is what the receiver answered (null
 * while the answer is pending, 'hang' or 'closed' when it never answered),
 * `delivery` the X-Metron-Delivery header and `attempt` X-Metron-Attempt.
 */
export async function startWebhookReceiver({ tls } = {}) {
  const requests = [];
  const problems = []; // what a person would see in the chat messages
  const checkPeople = () => {
    if (problems.length) {
      throw new Error(`a chat message the server sent shows a person codes (tests/server/person_text.mjs):\n  ` +
        problems.join('\n  '));
    }
  };
  const plans = new Map(); // path -> [step, ...] consumed in order
  const defaults = new Map(); // path -> step once the plan is used up
  const sockets = new Set();
  const hung = new Map(); // responses that never get an answer -> their records
  const waiters = new Set();
  const notify = () => { for (const w of waiters) w(); };
  // Requests open now (arrived, the connection not closed or answered yet)
  // and the most open at once: what a receiving host sees in flight.
  let open = 0;
  let maxOpen = 0;

  const handler = (req, res) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    res.on('close', () => { open--; notify(); });
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try { json = JSON.parse(text); } catch { /* not JSON */ }
      const path = req.url.split('?')[0];
      const rec = {
        path, url: req.url, method: req.method, headers: req.headers, text, json,
        at: Date.now(), status: null,
        delivery: req.headers['x-metron-delivery'] ?? null,
        attempt: req.headers['x-metron-attempt'] ? Number(req.headers['x-metron-attempt']) : null,
      };
      const texts = chatTexts(json);
      if (texts) for (const p of personTextProblems(texts)) problems.push(`${path}: ${p}`);
      requests.push(rec);
      notify();
      const plan = plans.get(path);
      const step = (plan && plan.length ? plan.shift() : defaults.get(path)) || DEFAULT;
      if (step.stallMs) await sleep(step.stallMs);
      if (step.hang) {
        rec.status = 'hang';
        res.on('close', () => { rec.closed = true; notify(); });
        hung.set(res, rec);
        notify();
        return;
      }
      if (step.close) {
        rec.status = 'closed';
        req.socket.destroy();
        notify();
        return;
      }
      const body = step.body ?? (step.json ? JSON.stringify(step.json) : '');
      const headers = { 'Content-Type': step.json ? 'application/json' : 'text/plain',
        ...(step.headers || {}) };
      try {
        res.writeHead(step.status ?? 200, headers);
        res.end(body);
        rec.status = step.status ?? 200;
      } catch {
        rec.status = 'closed';
      }
      notify();
    });
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  server.keepAliveTimeout = 5000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;

  const rx = {
    port,
    requests,
    /** The URL of "path" on this receiver. */
    url: (path = '/hook') => `${tls ? 'https' : 'http'}://127.0.0.1:${port}${path}`,
    /** Answer the next requests to "path" with these steps, in order:
     *  { status, body, json, headers, stallMs, hang, close }. */
    plan(path, steps) { plans.set(path, [...steps]); },
    /** What "path" answers once its plan is used up (default 200 "ok"). */
    setDefault(path, step) { defaults.set(path, step); },
    /** Requests to "path" (all paths when omitted). */
    to: (path) => {
      checkPeople();
      return requests.filter((r) => path === undefined || r.path === path);
    },
    /** The codes a person would see in the chat messages so far. */
    problems: () => [...problems],
    /** Requests the receiver answered 2xx ("accepted" by it). */
    accepted: (path) => rx.to(path).filter((r) => typeof r.status === 'number' &&
      r.status >= 200 && r.status < 300),
    /** Distinct X-Metron-Delivery values among the accepted requests. */
    deliveries: (path) => [...new Set(rx.accepted(path).map((r) => r.delivery))],
    /** Resolve when pred() holds (checked on every request and answer). */
    waitFor(pred, timeoutMs = 20000, what = 'the receiver') {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = () => {
          if (pred()) {
            clearTimeout(timer);
            waiters.delete(w);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`timed out waiting for ${what} (${requests.length} requests: ` +
            `${requests.map((r) => `${r.path}=${r.status}`).join(', ')})`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    /** Call fn() on every request, answer and close from now on, until the
     *  function returned is called (e.g. to count requests open at several
     *  receivers together). */
    watch(fn) {
      waiters.add(fn);
      return () => waiters.delete(fn);
    },
    /** Requests open now: arrived and neither answered nor closed. */
    open: () => open,
    /** The most requests open at once since the start (or the last reset). */
    maxOpen: () => maxOpen,
    resetMaxOpen() { maxOpen = open; },
    /** Close hung requests' connections (the client sees a broken request). */
    releaseHung() {
      for (const res of hung.keys()) res.socket?.destroy();
      hung.clear();
    },
    /** Answer the hung requests still open with "status" (a slow receiver
     *  that answers in the end); their records get that status. */
    answerHung(status = 200) {
      for (const [res, rec] of hung) {
        if (rec.closed) continue;
        try {
          res.writeHead(status, { 'Content-Type': 'text/plain' });
          res.end(status < 300 ? 'ok' : 'busy');
          rec.status = status;
        } catch { /* closed meanwhile */ }
      }
      hung.clear();
      notify();
    },
    async stop() {
      rx.releaseHung();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      checkPeople();
    },
  };
  return rx;
}
