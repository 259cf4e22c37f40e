// Where the portal finds the API and its own files, wherever it is hosted
// (docs/deploy.md): served by metron-server, from a sub-path behind a
// reverse proxy (https://example.com/metron/), or by a static host with the
// API on another origin. Nothing here needs a build step:
//
//  - the API's address is the content of <meta name="metron-api"> in
//    index.html, which the operator edits at deploy time: empty (the
//    default) means "api/v1" next to the page, i.e. the same origin and
//    path prefix as the portal; otherwise a URL, absolute
//    ("https://api.example.com/api/v1") or relative to the page;
//  - the portal's own files (images, style sheets, catalogues, the wasm
//    module) are addressed relative to this module, never to the page nor
//    to the site's root, so that a release folder (scripts/portal-dist)
//    and a sub-path both work.

function metaApi() {
  try {
    const m = document.querySelector('meta[name="metron-api"]');
    return (m && m.getAttribute('content') || '').trim();
  } catch { return ''; }
}

function pageBase() {
  try { return document.baseURI; } catch { return new URL('../', import.meta.url).href; }
}

/** The API's base URL without a trailing slash, e.g. "https://example.com/metron/api/v1". */
export const API_BASE = new URL(metaApi() || 'api/v1', pageBase()).href.replace(/\/+$/, '');

/** Whether the API lives on another origin than the page (CORS with credentials). */
export const API_CROSS_ORIGIN = (() => {
  try { return new URL(API_BASE).origin !== location.origin; } catch { return false; }
})();

/**
 * The URL of an API path: "/groups/3" or a path the server gave out
 * ("/api/v1/exports/5/download?..."), both under API_BASE.
 */
export function apiUrl(path) {
  const p = String(path);
  if (/^https?:\/\//i.test(p)) return p;
  if (p.startsWith('/api/v1/') || p === '/api/v1') return API_BASE + p.slice(7);
  return API_BASE + (p.startsWith('/') ? p : `/${p}`);
}

/** The URL of one of the portal's own files ("css/logo.svg"), wherever the portal is. */
export function asset(rel) {
  return new URL(`../${rel}`, import.meta.url).href;
}
