// The API client: JSON over fetch to /api/v1, the session cookie sent by the
// browser (same origin), X-CSRF-Token on every write. The CSRF token is kept
// in memory and sessionStorage (it dies with the tab) — never localStorage.
// A 401 calls the handler set with onUnauthorized() (the shell shows the
// sign-in page).
import { t, has, formatNumber } from './i18n.mjs';

const CSRF_KEY = 'metron.csrf';
const BASE = '/api/v1';
let csrf = null;
try { csrf = sessionStorage.getItem(CSRF_KEY); } catch { /* storage blocked */ }
let unauthorized = null;

/** Remember the CSRF token of the session (null forgets it). */
export function setCsrf(token) {
  csrf = token || null;
  try {
    if (csrf) sessionStorage.setItem(CSRF_KEY, csrf);
    else sessionStorage.removeItem(CSRF_KEY);
  } catch { /* storage blocked: memory only */ }
}

/** fn(body, path) runs when a request answers 401 (except sign-in requests). */
export function onUnauthorized(fn) { unauthorized = fn; }

const isWrite = (m) => m !== 'GET' && m !== 'HEAD';
const url = (path) => (path.startsWith('/api/') ? path : BASE + path);

async function parse(res) {
  const type = res.headers.get('content-type') || '';
  if (type.includes('application/json')) {
    try { return await res.json(); } catch { return null; }
  }
  return null;
}

/**
 * One request. opts: body (object → JSON; Blob/ArrayBuffer sent raw with
 * opts.contentType), signal, quiet401 (do not call the 401 handler), headers.
 * Resolves { status, body, headers, ok }; never throws (a network failure is
 * status 0 with body {code: 'network'}).
 */
export async function request(method, path, opts = {}) {
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body;
  if (opts.body !== undefined) {
    if (opts.body instanceof Blob || opts.body instanceof ArrayBuffer) {
      body = opts.body;
      headers['Content-Type'] = opts.contentType || opts.body.type || 'application/octet-stream';
    } else {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
  }
  if (isWrite(method) && csrf) headers['X-CSRF-Token'] = csrf;
  let res;
  try {
    res = await fetch(url(path), { method, headers, body, credentials: 'same-origin',
      signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (e && e.name === 'AbortError') return { status: 0, body: { code: 'aborted' }, headers: new Headers(), ok: false };
    return { status: 0, body: { code: 'network' }, headers: new Headers(), ok: false };
  }
  const parsed = opts.raw ? null : await parse(res);
  const out = { status: res.status, body: parsed, headers: res.headers, ok: res.ok, response: res };
  if (res.status === 401 && !opts.quiet401 && unauthorized) unauthorized(parsed, path);
  return out;
}

/**
 * Send a file (or Blob) as the raw request body with upload progress
 * (XMLHttpRequest: fetch has no upload progress). opts: method (POST),
 * onProgress(loaded, total), signal (AbortSignal), contentType, headers.
 */
export function upload(path, file, opts = {}) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(opts.method || 'POST', url(path));
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('Content-Type', opts.contentType || file.type || 'application/octet-stream');
    for (const [k, v] of Object.entries(opts.headers || {})) xhr.setRequestHeader(k, v);
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);
    if (opts.onProgress) {
      xhr.upload.addEventListener('progress', (e) => opts.onProgress(e.loaded, e.lengthComputable ? e.total : file.size));
    }
    const headersOf = () => {
      const hd = new Headers();
      for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
        const i = line.indexOf(':');
        if (i > 0) hd.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      return hd;
    };
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = xhr.responseText ? JSON.parse(xhr.responseText) : null; } catch { body = null; }
      if (xhr.status === 401 && unauthorized) unauthorized(body, path);
      resolve({ status: xhr.status, body, headers: headersOf(), ok: xhr.status >= 200 && xhr.status < 300 });
    });
    xhr.addEventListener('error', () => resolve({ status: 0, body: { code: 'network' }, headers: new Headers(), ok: false }));
    xhr.addEventListener('abort', () => resolve({ status: 0, body: { code: 'aborted' }, headers: new Headers(), ok: false }));
    if (opts.signal) {
      if (opts.signal.aborted) { xhr.abort(); return; }
      opts.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(file);
  });
}

export const api = {
  get: (path, opts) => request('GET', path, opts),
  post: (path, body, opts) => request('POST', path, { ...opts, body }),
  put: (path, body, opts) => request('PUT', path, { ...opts, body }),
  patch: (path, body, opts) => request('PATCH', path, { ...opts, body }),
  del: (path, opts) => request('DELETE', path, opts),
  upload,
};

/** The translated name of a quota (P3 → "registered apps"), else its code. */
export function quotaName(q) {
  return has(`quota.${q}`) ? t(`quota.${q}`) : String(q || '');
}

/** The translated name of a plan. */
export function planName(p) {
  return has(`plan.${p}`) ? t(`plan.${p}`) : String(p || '');
}

/**
 * A translated sentence for an API error body {code, message, field?, ...}.
 * plan_limit names the quota, its limit and the plan; codes with a catalogue
 * entry "error.<code>" use it (with the body's members as parameters);
 * anything else falls back to the server's English message.
 */
export function errorMessage(body) {
  if (!body || typeof body !== 'object') return t('error.generic');
  if (body.code === 'plan_limit') {
    const p = {
      quota: quotaName(body.quota), code: body.quota || '', plan: planName(body.plan),
      limit: typeof body.limit === 'number' ? formatNumber(body.limit) : '',
    };
    if (body.available === false || body.limit === null || body.limit === undefined) {
      return t('error.plan_limit_unavailable', p);
    }
    return t('error.plan_limit', p);
  }
  const key = `error.${body.code}`;
  if (body.code && has(key)) {
    const params = { ...body };
    if (body.field) params.field = has(`field.${body.field}`) ? t(`field.${body.field}`) : body.field;
    return t(key, params);
  }
  return body.message || t('error.generic');
}
