// Hash routes: #/<name>?<params>, e.g. #/monitor, #/viewer?channels=3,4,
// #/admin/users, #/reset?token=... (the link of the reset e-mail).
//
//   registerPage('monitor', { title: 'nav.monitor', render(container, params) {...} });
//
// Pages are loaded when first shown: pages/index.mjs declares each route
// with lazyPage(name, { title, public?, admin?, prefix?, load }), load being
// () => import('./<page>.mjs'); the module, once evaluated, registers its
// page(s) with registerPage as above, which replaces the declaration. Until
// then the declaration is what the guard, the navigation and pageDef() see.
// While the module loads, the page shows the loading sentence; a module that
// cannot be loaded (the network dropped) shows a sentence with a button that
// tries again. preload(name) starts loading a route's module early (the
// first page, while the sign-in state is asked).
//
// A declaration may also name the page's own style sheets, css: ['alarms']
// for css/alarms.css (index.html links only app.css): they are fetched
// with the module (and by preload), and the page is drawn once they have
// loaded, so that it never shows unstyled; one that cannot be loaded is
// told like a module that cannot be. stylesheet(name) is the same for a
// part shown outside its page (the monitor's "Add to dashboard" dialog).
//
// Likewise areas: ['alarms'] names the catalogues of portal/i18n/ the page
// needs besides 'app' (i18n.mjs, loaded at start-up): they are fetched with
// the module (in the language shown and English; preload fetches them
// too), and the page is drawn once they are there, so that it never shows
// a raw key or English before its language; one that cannot be fetched is
// told like a module that cannot be loaded (in the user's language: the
// sentence and the button are 'app' keys).
//
// render() may return (or resolve to) a function: it runs when the page is
// left (stop timers, unsubscribe). Page definitions may also say
// public: true (no sign-in needed), admin: true (administrators only),
// prefix: true (also answers #/<name>/<rest>, with params.path = '<rest>':
// e.g. 'alarms/events' shows #/alarms/events/17, the link of alarm mail).
//
// The rendered mark (for the portal tests and benchmarks): while a page is
// drawing, <body> carries data-busy; once the page of the current route has
// drawn and every piece of work it tracks has ended, data-busy goes and
// data-rendered="<route>:<n>" is set, n counting up with every render and
// every tracked reload. A render awaits the page's render(); work a page
// does later (a list reloaded after a filter change or a save, data that
// render() does not await) goes through track(promise or function), which
// marks the page busy until it ends. A test reads the mark, acts, and waits
// for a different one without data-busy (tests/portal/browser.mjs
// gotoRoute, afterRender, waitRendered): it then reads what this render
// drew, never the table that was there before.
import { t, loadAreas, areasLoaded, preloadAreas } from './i18n.mjs';

const pages = new Map();
let container = null;
let guard = null;
let afterRender = null;
let cleanup = null;
let token = 0;
let pending = 0;
let markRoute = '';
let marks = 0;
let markTimer = null;
let generation = 0;

export function registerPage(name, def) { pages.set(name, def); }

/** A page whose module is loaded when first shown (see above). */
export function lazyPage(name, def) {
  if (def.css) pageCss.set(name, def.css);
  if (def.areas) pageAreas.set(name, def.areas);
  if (!pages.has(name)) pages.set(name, def);
}

// route name -> the names of its style sheets (the route table's css).
const pageCss = new Map();
// route name -> the catalogue areas it needs besides 'app' (the route table's areas).
const pageAreas = new Map();
// href -> { promise, done } of a style sheet inserted or found; a failed one
// is forgotten (its <link> removed), so that the next visit tries again.
const sheets = new Map();

/**
 * Make sure css/<name>.css is linked from the document; resolves once it has
 * loaded, rejects when it could not be.
 */
export function stylesheet(name) {
  const href = new URL(`../css/${name}.css`, import.meta.url).href;
  let s = sheets.get(href);
  if (s) return s.promise;
  let link = [...document.querySelectorAll('link[rel=stylesheet]')].find((l) => l.href === href);
  s = { done: false, promise: null };
  if (link && link.sheet) {
    s.done = true;
    s.promise = Promise.resolve();
  } else {
    if (!link) {
      link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      document.head.appendChild(link);
    }
    const el = link;
    s.promise = new Promise((resolve, reject) => {
      el.addEventListener('load', () => { s.done = true; resolve(); }, { once: true });
      el.addEventListener('error', () => {
        if (sheets.get(href) === s) sheets.delete(href);
        el.remove();
        reject(new Error(`style sheet ${name} could not be loaded`));
      }, { once: true });
    });
  }
  sheets.set(href, s);
  return s.promise;
}

/** Whether every style sheet and catalogue area of route "name" has loaded. */
function partsLoaded(name) {
  if (!areasLoaded(pageAreas.get(name))) return false;
  for (const c of pageCss.get(name) || []) {
    const s = sheets.get(new URL(`../css/${c}.css`, import.meta.url).href);
    if (!s || !s.done) return false;
  }
  return true;
}

/** The style sheets of route "name", loaded (a promise). */
function pageStyles(name) { return Promise.all((pageCss.get(name) || []).map(stylesheet)); }

// load function -> the promise of its import, while under way or done; a
// failed one is forgotten, so that the next visit (or the retry) tries again.
const loads = new Map();
function loadModule(load) {
  let p = loads.get(load);
  if (!p) {
    p = Promise.resolve().then(load);
    loads.set(load, p);
    p.catch(() => { if (loads.get(load) === p) loads.delete(load); });
  }
  return p;
}

/** Start loading the module of route "name" (nothing if it is loaded or unknown). */
export function preload(name) {
  const def = pageDef(name);
  if (def && !def.render && def.load) loadModule(def.load).catch(() => { /* told when shown */ });
  const base = pages.get(name) ? name : prefixed(name).base;
  if (base) {
    pageStyles(base).catch(() => { /* told when shown */ });
    preloadAreas(pageAreas.get(base));
  }
}

export function pageDef(name) { return pages.get(name) || prefixed(name).def; }

/** The prefix page that answers "name" ({def, rest}), or {} when none does. */
function prefixed(name) {
  for (let i = name.lastIndexOf('/'); i > 0; i = name.lastIndexOf('/', i - 1)) {
    const def = pages.get(name.slice(0, i));
    if (def && def.prefix) return { def, base: name.slice(0, i), rest: name.slice(i + 1) };
  }
  return {};
}

/** Split a hash into { name, params } (params: plain strings). */
export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const name = decodeURIComponent(q < 0 ? raw : raw.slice(0, q)) || '';
  const params = {};
  if (q >= 0) for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) params[k] = v;
  return { name, params };
}

/** The hash of a route; array params are joined with commas. */
export function hrefFor(name, params = {}) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    sp.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const qs = sp.toString();
  return `#/${name}${qs ? `?${qs}` : ''}`;
}

/** Go to a page: navigate('viewer', {channels: 12}). */
export function navigate(name, params = {}, { replace = false } = {}) {
  const href = hrefFor(name, params);
  if (location.hash === href) { render(); return; }
  if (replace) { history.replaceState(null, '', href); render(); } else location.hash = href;
}

export function currentRoute() { return parseHash(); }

/**
 * Mark the page busy; the returned function ends this piece of work (once;
 * nothing when the route has been rendered again since).
 */
function hold() {
  const g = generation;
  pending++;
  const b = document.body;
  if (b) { b.dataset.busy = 'true'; delete b.dataset.rendered; }
  clearTimeout(markTimer);
  markTimer = null;
  let done = false;
  return () => {
    if (done || g !== generation) return; // work of a page left since
    done = true;
    pending--;
    settle();
  };
}

/**
 * Set the rendered mark once nothing is pending. A task later, so that the
 * code after the awaited work (the drawing of its answer, and any work it
 * starts in turn) has run first.
 */
function settle() {
  if (pending > 0 || markTimer) return;
  markTimer = setTimeout(() => {
    markTimer = null;
    if (pending > 0) return;
    const b = document.body;
    if (!b) return;
    delete b.dataset.busy;
    b.dataset.rendered = `${markRoute}:${++marks}`;
  }, 0);
}

/**
 * Work of the current page that the rendered mark waits for: a promise, or
 * a function (called now) returning one. Returns the same promise.
 */
export function track(work) {
  const release = hold();
  let p;
  try {
    p = Promise.resolve(typeof work === 'function' ? work() : work);
  } catch (e) {
    p = Promise.reject(e);
  }
  p.then(release, release);
  return p;
}

/** Render the current page again (after a language change). */
export function refresh() { return render(); }

/**
 * Start routing into "el". opts.guard(name, def, params) returns null to
 * allow or {name, params} to redirect; opts.after(name) runs after each render.
 */
export function startRouter(el, opts = {}) {
  container = el;
  guard = opts.guard || null;
  afterRender = opts.after || null;
  window.addEventListener('hashchange', () => render());
  return render();
}

async function render() {
  if (!container) return;
  let { name, params } = parseHash();
  for (let hops = 0; hops < 4; hops++) {
    const redirect = guard ? guard(name, pageDef(name), params) : null;
    if (!redirect) break;
    ({ name, params } = redirect);
    history.replaceState(null, '', hrefFor(name, params));
  }
  let def = pages.get(name);
  if (!def) {
    const p = prefixed(name);
    if (p.def) { def = p.def; params = { ...params, path: p.rest }; name = p.base; }
  }
  const my = ++token;
  markRoute = def ? name : 'not-found';
  // What the page left was still doing no longer holds the mark: it draws
  // into a detached element.
  generation++;
  pending = 0;
  const release = hold();
  try {
    await draw(def, name, params, my);
  } finally {
    release();
  }
}

/** Whether the portal's own files can be fetched (the network is back). */
async function reachable() {
  try {
    const r = await fetch(new URL('./router.mjs', import.meta.url), { cache: 'no-store' });
    return r.ok;
  } catch {
    return false;
  }
}

let retrying = null; // the page whose "try again" was pressed

/**
 * The registered definition of a declared page ("name" as the route table
 * names it), its module, style sheets and catalogue areas loaded meanwhile with the loading
 * sentence in "view"; null after a failure, told in "view" with a button to
 * try again.
 */
async function loadPage(def, name, view) {
  const again = retrying === name;
  const mine = token;
  retrying = null;
  const wait = document.createElement('p');
  wait.className = 'loading';
  wait.textContent = t('common.loading');
  view.appendChild(wait);
  try {
    await Promise.all([def.render ? null : loadModule(def.load), pageStyles(name), loadAreas(pageAreas.get(name))]);
    const loaded = pages.get(name);
    if (!loaded || !loaded.render) throw new Error(`the module of page ${name} did not register it`);
    return loaded;
  } catch (e) {
    console.warn('page module', name, e);
    // A browser may keep a module it could not fetch as failed for the life
    // of the document (import() then fails again at once, whatever the
    // network; Chromium 156 fetches it again): when trying again fails
    // while the portal's files can be fetched, "try again" loads the
    // document again at the same address (still signed in: the cookie).
    if (again && await reachable()) {
      if (mine === token) location.reload(); // not if the user has moved on meanwhile
      return null;
    }
    const box = document.createElement('div');
    box.className = 'load-failed';
    box.setAttribute('role', 'alert');
    box.dataset.testid = 'page-load-failed';
    const p = document.createElement('p');
    p.textContent = t('error.page_load');
    const retry = document.createElement('button');
    retry.type = 'button';
    retry.className = 'primary';
    retry.dataset.testid = 'page-load-retry';
    retry.textContent = t('common.retry');
    retry.addEventListener('click', () => { retrying = name; render(); });
    box.append(p, retry);
    view.replaceChildren(box);
    return null;
  }
}

async function draw(def, name, params, my) {
  if (cleanup) { try { cleanup(); } catch { /* a page's own error */ } cleanup = null; }
  container.replaceChildren();
  container.dataset.page = def ? name : 'not-found';
  if (!def) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = t('common.not_found_page');
    container.appendChild(p);
    document.title = 'Metron';
    return;
  }
  document.title = `${t(def.title)} · Metron`;  // i18n-keys: as written (route titles: literals of pages/index.mjs and registerPage())
  if (afterRender) afterRender(name);
  // Each render gets its own element: a page that is still loading when the
  // user moves on writes into a detached element, never over the next page.
  const view = document.createElement('div');
  view.className = 'view';
  container.appendChild(view);
  if (!def.render || !partsLoaded(name)) {
    def = await loadPage(def, name, view);
    if (!def || my !== token) return;
    view.replaceChildren();
  }
  try {
    const r = await def.render(view, params);
    if (typeof r === 'function') {
      if (my === token) cleanup = r;
      else r();
    }
  } catch (e) {
    console.warn('page', name, e);
    if (my === token) {
      const p = document.createElement('p');
      p.className = 'form-error';
      p.textContent = t('error.generic');
      view.appendChild(p);
    }
  }
}
