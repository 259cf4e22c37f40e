// The API client: JSON over fetch to the API (js/config.mjs: same origin by
// default, or the address the operator put in index.html), the session
// cookie sent by the browser (credentials included, also to an API on
// another origin of the same site that lets this portal in), X-CSRF-Token
// on every write. The CSRF token is kept
// in memory and sessionStorage (it dies with the tab) — never localStorage.
// A 401 that says the session or token is gone (code "unauthenticated", or
// no JSON body) calls the handler set with onUnauthorized() (the shell shows
// the sign-in page); other 401 answers (a wrong code of a signed-in step)
// are refusals like any other.
import { t, has, formatNumber, formatDate } from './i18n.mjs';
import { apiUrl } from './config.mjs';

export { API_BASE, apiUrl } from './config.mjs';

const CSRF_KEY = 'metron.csrf';
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

/** Whether a 401 answer means that the session (or token) has ended. */
export function sessionEnded(status, body) {
  return status === 401 && (!body || typeof body !== 'object' || !body.code || body.code === 'unauthenticated');
}

const isWrite = (m) => m !== 'GET' && m !== 'HEAD';

/**
 * The seconds a Retry-After header names (delta seconds or an HTTP date, at
 * "now"), at most a day; null without one or when it cannot be read.
 */
export function retryAfterSeconds(value, now = Date.now()) {
  const v = String(value || '').trim();
  if (!v || v.length > 64) return null;
  if (/^\d+$/.test(v)) return Math.min(Number(v.slice(0, 9)), 86400);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.min(Math.ceil((at - now) / 1000), 86400));
}
const url = apiUrl;

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
    res = await fetch(url(path), { method, headers, body, credentials: 'include',
      signal: opts.signal, cache: 'no-store' });
  } catch (e) {
    if (e && e.name === 'AbortError') return { status: 0, body: { code: 'aborted' }, headers: new Headers(), ok: false };
    return { status: 0, body: { code: 'network' }, headers: new Headers(), ok: false };
  }
  let parsed = opts.raw ? null : await parse(res);
  // A 503 says when to try again (Retry-After): kept with the refusal, so
  // that its sentence says it (errorMessage), unless the body says it already.
  const wait = res.status === 503 ? retryAfterSeconds(res.headers.get('Retry-After')) : null;
  if (wait !== null && !opts.raw) {
    if (!parsed || typeof parsed !== 'object') parsed = {};
    if (typeof parsed.retry_after !== 'number') parsed.retry_after = wait;
  }
  const out = { status: res.status, body: parsed, headers: res.headers, ok: res.ok, response: res };
  if (sessionEnded(res.status, parsed) && !opts.quiet401 && unauthorized) unauthorized(parsed, path);
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
      if (sessionEnded(xhr.status, body) && unauthorized) unauthorized(body, path);
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

/** The translated name of a quota (P3 → "registered apps"); never the code itself. */
export function quotaName(q) {
  return has(`quota.${q}`) ? t(`quota.${q}`) : t('quota.unknown');
}

/** The translated name of a plan. */
export function planName(p) {
  return has(`plan.${p}`) ? t(`plan.${p}`) : t('plan.unknown');
}

/** The sentence for an answer without a catalogue entry of its own, by HTTP status. */
function statusSentence(status) {
  if (!status) return t('error.generic');
  if (status === 400 || status === 422) return t('error.bad_request');
  if (status === 401) return t('error.unauthenticated');
  if (status === 403) return t('error.forbidden_generic');
  if (status === 404) return t('error.not_found');
  if (status === 409) return t('error.conflict');
  if (status === 413) return t('error.body_too_large');
  if (status === 429) return t('error.too_many_requests');
  if (status >= 500) return t('error.server');
  return t('error.generic');
}

/** "The server is busy: try again in 30 s / 5 min" for a 503 that said when (Retry-After), else null. */
function retrySentence(status, body) {
  if (status !== 503 || !body || typeof body !== 'object' || typeof body.retry_after !== 'number' || body.retry_after <= 0) return null;
  const s = body.retry_after;
  return s < 60 ? t('error.unavailable_seconds', { seconds: formatNumber(Math.ceil(s)) })
    : t('error.unavailable_minutes', { minutes: formatNumber(Math.ceil(s / 60)) });
}

/**
 * A sentence in the user's language for an API refusal {code, message,
 * field?, ...} (status: the HTTP status, when known). plan_limit names the
 * quota, its limit and the plan; codes with a catalogue entry "error.<code>"
 * use it (with the body's members as parameters, and the field's name in
 * the language; a field the catalogue does not name uses the sentence
 * "error.<code>_any"; a form passes the label of its field as fieldLabel);
 * anything else gets a sentence for its status. The
 * server's own (English, technical) message is never shown.
 */
export function errorMessage(body, status, { fieldLabel } = {}) {
  if (!body || typeof body !== 'object') return statusSentence(status);
  const retry = retrySentence(status, body);
  if (body.code === 'network') return t('error.network');
  if (body.code === 'plan_limit') {
    const p = {
      quota: quotaName(body.quota), plan: planName(body.plan),
      limit: typeof body.limit === 'number' ? formatNumber(body.limit) : '',
    };
    if (body.available === false || body.limit === null || body.limit === undefined || body.limit === 0) {
      return t('error.plan_limit_unavailable', p);
    }
    return t('error.plan_limit', p);
  }
  const key = `error.${body.code}`;
  if (body.code && has(key)) {
    const params = { ...body };
    delete params.message;
    if (body.next_allowed) params.next_allowed = formatDate(body.next_allowed);
    if (typeof body.retry_after === 'number') params.retry_after = formatNumber(body.retry_after);
    if (/\{field\}/.test(t(key))) {
      const f = String(body.field || '').replace(/\[\d+\]/g, '').split('.').pop();
      if (fieldLabel) params.field = fieldLabel;
      else if (f && has(`field.${f}`)) params.field = t(`field.${f}`);
      else return has(`${key}_any`) ? t(`${key}_any`) : statusSentence(status || 400);
    }
    return t(key, params);
  }
  return retry || statusSentence(status);
}
