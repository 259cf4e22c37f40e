// Replies the shell and its pages share within one page load (issue 15):
// at start-up the header's logo, the over-quota banner and a page such as
// admin/account all read GET /account, and each used to ask for it itself.
// sharedGet(path) gives every caller the reply of one request while it is
// under way; during the start (duringStart: sign-in state, header, the
// first page) a reply is also kept for the callers that come after it, so
// that each is asked once per page load. After the start, every call asks
// again (the banner's polling, a page reloaded after a change).
import { api } from './api.mjs';

const replies = new Map(); // path -> { promise, done }
let starting = 0;

const copy = (r) => ({ ...r, body: r.body && typeof r.body === 'object' ? structuredClone(r.body) : r.body });

/** GET "path" (api.get's reply, a copy of its own for each caller). */
export function sharedGet(path, opts) {
  let e = replies.get(path);
  if (!e) {
    const entry = { done: false, promise: api.get(path, opts) };
    e = entry;
    replies.set(path, entry);
    const end = () => {
      entry.done = true;
      if (!starting && replies.get(path) === entry) replies.delete(path);
    };
    entry.promise.then(end, end);
  }
  return e.promise.then(copy);
}

/** Run fn() as (part of) the start: replies are kept until it has ended. */
export async function duringStart(fn) {
  starting++;
  try {
    return await fn();
  } finally {
    if (--starting === 0) {
      for (const [path, e] of replies) if (e.done) replies.delete(path);
    }
  }
}
