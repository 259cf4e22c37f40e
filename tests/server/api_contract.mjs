// The API contract as a test: every response the HTTP suite receives is
// checked against docs/api/openapi.yaml (the harness's request() and the
// app client of data_helpers.mjs call checkResponse()), so the documentation
// cannot drift from the server.
//
// For a request to /api/v1/... the route is the documented path that matches
// (literal segments before {parameters}) and the method; then
//   - the status must be one the operation documents (or its 4XX/5XX/default);
//   - a JSON reply must be documented as application/json for that status and
//     match its schema: types, enums, formats (date-time, date, email),
//     required members, and no member the schema does not name (an object
//     schema without additionalProperties is closed);
//   - another reply must have a documented media type (image/*, ZIP, ...), and
//     a status documented without content must come without a body.
// A path no operation documents must answer 404 (and an undocumented method
// of a documented path 405) with the Error body; the test-only routes
// (/test/*, /debug/*) are not checked.
//
// OpenAPI 3.0's `nullable: true` is read as "or null", also beside allOf.
// METRON_API_CONTRACT=off turns the check off (e.g. to see a test's own
// failure first); METRON_API_SAMPLES=FILE appends every checked reply and
// its mismatch (or null) to FILE as JSON lines instead of failing, to
// survey a whole run. tests/server/api_contract.test.mjs shows what fails.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
export const openapiFile = path.resolve(here, '..', '..', 'docs', 'api', 'openapi.yaml');
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
const ROOT_ID = 'metron-openapi';
const ANNOTATIONS = ['example', 'externalDocs', 'xml', 'discriminator'];

/**
 * OpenAPI 3.0 schema -> JSON Schema (draft 7) for Ajv, strict: `nullable`
 * becomes "or null"; allOf parts (objects) are merged into one object; an
 * object schema that names its members and says nothing about others is
 * closed (additionalProperties: false), so a member the documentation does
 * not name fails. References stay references (compiled once).
 */
function convert(s, doc) {
  if (Array.isArray(s)) return s.map((x) => convert(x, doc));
  if (!s || typeof s !== 'object') return s;
  if (typeof s.$ref === 'string') return { $ref: `${ROOT_ID}#/definitions/${refName(s.$ref)}` };
  if (s.allOf) return convert(mergeAllOf(s, doc), doc);
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === 'nullable' || ANNOTATIONS.includes(k) || k.startsWith('x-')) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v).map(([n, p]) => [n, convert(p, doc)]));
    } else if (['items', 'additionalProperties', 'not', 'oneOf', 'anyOf'].includes(k)) {
      out[k] = convert(v, doc);
    } else {
      out[k] = v;
    }
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if (s.nullable === true) {
    if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

function refName(ref) {
  const m = /^#\/components\/schemas\/([^/]+)$/.exec(ref);
  if (!m) throw new Error(`openapi.yaml: unsupported $ref ${ref}`);
  return m[1];
}

/** One object schema out of "s" and its allOf parts (references resolved). */
function mergeAllOf(s, doc, depth = 0) {
  if (depth > 16) throw new Error('openapi.yaml: allOf nested too deep');
  const { allOf, ...rest } = s;
  const out = { ...rest, properties: { ...(rest.properties || {}) },
    required: [...(rest.required || [])] };
  for (let part of allOf) {
    if (part.$ref) part = doc.components.schemas[refName(part.$ref)];
    if (part.allOf) part = mergeAllOf(part, doc, depth + 1);
    if (part.oneOf || part.anyOf || (part.type && part.type !== 'object')) {
      throw new Error('openapi.yaml: allOf of something other than objects is not supported here');
    }
    Object.assign(out.properties, part.properties || {});
    out.required.push(...(part.required || []));
    if (part.additionalProperties !== undefined) out.additionalProperties = part.additionalProperties;
  }
  out.type = 'object';
  out.required = [...new Set(out.required)];
  if (!out.required.length) delete out.required;
  return out;
}

export class Contract {
  constructor(file = openapiFile) {
    this.doc = parseCached(file);
    this.base = new URL(this.doc.servers[0].url, 'http://x/').pathname.replace(/\/$/, '');
    this.ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true });
    addFormats(this.ajv, ['date-time', 'date', 'email', 'byte', 'binary']);
    const definitions = {};
    for (const [name, s] of Object.entries(this.doc.components?.schemas || {})) {
      definitions[name] = convert(s, this.doc);
    }
    this.ajv.addSchema({ $id: ROOT_ID, definitions });
    // Documented paths, the ones with fewer {parameters} first.
    this.routes = Object.keys(this.doc.paths).map((p) => {
      const params = (p.match(/\{[^}]+\}/g) || []).length;
      const re = new RegExp('^' + p.replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        .replace(/\\?\{[^}]+\\?\}/g, '[^/]+') + '$');
      return { path: p, params, re };
    }).sort((a, b) => a.params - b.params);
    this.validators = new Map();
  }

  response(ref) {
    if (!ref?.$ref) return ref;
    const m = /^#\/components\/responses\/([^/]+)$/.exec(ref.$ref);
    if (!m || !this.doc.components.responses[m[1]]) throw new Error(`bad $ref ${ref.$ref}`);
    return this.doc.components.responses[m[1]];
  }

  validator(key, schema) {
    let v = this.validators.get(key);
    if (!v) {
      v = this.ajv.compile(convert(schema, this.doc));
      this.validators.set(key, v);
    }
    return v;
  }

  /**
   * Check one reply; returns null or a sentence naming every mismatch.
   * "body" is the parsed JSON (or the text when it was not JSON), "text" the
   * raw body.
   */
  check(method, url, status, headers, body, text) {
    const u = new URL(url, 'http://x/');
    if (!u.pathname.startsWith(this.base + '/')) return null;
    const rel = u.pathname.slice(this.base.length);
    if (/^\/(test|debug)(\/|$)/.test(rel)) return null;
    const ctype = String(headers['content-type'] || '').split(';')[0].trim().toLowerCase();
    const isJson = ctype === 'application/json' || ctype.endsWith('+json');
    const what = `${method} ${u.pathname} -> ${status}`;
    const route = this.routes.find((r) => r.re.test(rel));
    let m = method.toLowerCase();
    if (m === 'head') m = 'get';
    if (m === 'options') return null;
    const op = route && this.doc.paths[route.path][m];
    if (!op) {
      // Not a documented operation: the server must say so.
      const want = route ? 405 : 404;
      if (status !== want || !isJson || !this.validator('Error', { $ref: '#/components/schemas/Error' })(body)) {
        return `${what}: ${route ? `${method} is not documented for ${route.path}` :
          'no documented path matches'}, so 405/404 with an Error body was expected ` +
          `(docs/api/openapi.yaml)`;
      }
      return null;
    }
    const key = `${m.toUpperCase()} ${route.path}`;
    const code = String(status);
    const responses = op.responses || {};
    const resp = this.response(responses[code] || responses[`${code[0]}XX`] || responses.default);
    if (!resp) {
      return `${what}: status ${status} is not documented for ${key} ` +
        `(documented: ${Object.keys(responses).join(', ')}); body ${excerpt(text)}`;
    }
    const content = resp.content || {};
    const empty = method === 'HEAD' || status === 204 || status === 304 || !text;
    if (empty) return null;
    if (!Object.keys(content).length) {
      return `${what}: ${key} documents status ${status} without a body, ` +
        `but it came with ${ctype || 'no content type'}: ${excerpt(text)}`;
    }
    if (isJson) {
      const media = content['application/json'];
      if (!media) {
        return `${what}: ${key} ${status} is not documented as application/json ` +
          `(documented: ${Object.keys(content).join(', ')})`;
      }
      if (!media.schema) return null;
      const validate = this.validator(`${key} ${code}`, media.schema);
      if (!validate(body)) {
        const problems = validate.errors.slice(0, 6).map((e) => `${e.instancePath || '(body)'} ` +
          `${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty}: not documented)` : ''}` +
          `${e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : ''}`);
        return `${what}: the reply does not match docs/api/openapi.yaml (${key}, ${status}): ` +
          `${problems.join('; ')}; body ${excerpt(text)}`;
      }
      return null;
    }
    const types = Object.keys(content);
    const ok = types.some((t) => t === '*/*' || t === ctype ||
      (t.endsWith('/*') && ctype.startsWith(t.slice(0, -1))));
    if (!ok) {
      return `${what}: content type ${ctype || '(none)'} is not documented for ${key} ` +
        `${status} (documented: ${types.join(', ')})`;
    }
    return null;
  }
}

/** The parsed YAML file; parsing takes a few hundred ms, so its JSON is
 * kept in the temp folder under the hash of the text for the other test
 * files of the run. */
function parseCached(file) {
  const text = fs.readFileSync(file, 'utf8');
  const hash = crypto.createHash('sha256').update(text).digest('hex').slice(0, 24);
  const cache = path.join(os.tmpdir(), `metron-openapi-${hash}.json`);
  try {
    return JSON.parse(fs.readFileSync(cache, 'utf8'));
  } catch { /* not there yet (or half written by another file: parse it here) */ }
  const doc = YAML.parse(text);
  const tmp = `${cache}.${process.pid}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(doc));
    fs.renameSync(tmp, cache);
  } catch { /* a read-only temp folder: parse again next time */ }
  return doc;
}

function excerpt(text) {
  const s = typeof text === 'string' ? text : Buffer.isBuffer(text) ? text.toString('latin1') : String(text);
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

let contract = null;
const enabled = process.env.METRON_API_CONTRACT !== 'off';

/** The parsed contract (loaded once per test file). */
export function loadContract() {
  if (!contract) contract = new Contract();
  return contract;
}

/**
 * Check a reply against docs/api/openapi.yaml; throws an Error naming the
 * mismatch. headers: lower-case names (or a fetch Headers object).
 */
export function checkResponse(method, url, status, headers, body, text) {
  if (!enabled) return;
  const h = typeof headers?.get === 'function'
    ? { 'content-type': headers.get('content-type') } : headers || {};
  const c = loadContract();
  const problem = c.check(method.toUpperCase(), url, status, h, body, text);
  if (process.env.METRON_API_SAMPLES) {
    fs.appendFileSync(process.env.METRON_API_SAMPLES, JSON.stringify({ method, url, status,
      ctype: h['content-type'], body: typeof body === 'object' ? body : null, problem }) + '\n');
    return;
  }
  if (problem) {
    const e = new Error(`API contract: ${problem}`);
    e.code = 'ERR_API_CONTRACT';
    throw e;
  }
}
