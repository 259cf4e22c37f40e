// The checker of tests/server/api_contract.mjs, on replies made up here
// against the real docs/api/openapi.yaml: what passes and what fails. The
// HTTP suites then run it on every reply they receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadContract } from './api_contract.mjs';

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' };
const c = loadContract();
const check = (method, url, status, body, headers = JSON_TYPE) =>
  c.check(method, url, status, headers, body, body === undefined ? '' : JSON.stringify(body));

const health = { status: 'ok', db: 'ok', changes_heard: true,
    backup: { state: 'off', last_archived_at: null }, replica: { configured: false } };
const user = {
  id: 7, login_id: 'ada', name: 'Ada', email: null, role: 'admin', file_access: 'edit',
  two_step: 'off', totp_enrolled: false, language: null, time_zone: 'UTC', disabled: false,
  current_group_id: null, team_ids: [1], last_login_at: '2026-01-02T03:04:05Z',
  created_at: '2026-01-01T00:00:00Z', updated_at: '2026-01-01T00:00:00Z',
};
const me = {
  ...user,
  account: { id: 3, login_id: 'acme', alt_login_id: null, name: 'Acme', plan: 'pro',
    effective_plan: 'pro', time_zone: 'UTC', language: 'en', trial_expires_at: null },
};

test('a reply as documented passes', () => {
  assert.equal(check('GET', '/api/v1/health', 200, health), null);
  assert.equal(check('GET', '/api/v1/me', 200, me), null);
  assert.equal(check('GET', '/api/v1/users/7', 200, user), null);
  // A documented error status of the route, and the 5XX of every route.
  assert.equal(check('GET', '/api/v1/users/7', 404, { code: 'not_found', message: 'no such user' }), null);
  assert.equal(check('GET', '/api/v1/users', 503, { code: 'db_unavailable', message: 'x' }), null);
  // A plan_limit body where a 403 is documented, with its extra members.
  assert.equal(check('POST', '/api/v1/users', 403, { code: 'plan_limit', message: 'P4 users: limit 3',
    quota: 'P4', limit: 3, plan: 'free' }), null);
  // Test-only routes and paths outside the API are not checked.
  assert.equal(check('POST', '/api/v1/test/accounts', 201, { anything: 1 }), null);
  assert.equal(check('GET', '/index.html', 200, '<html>', { 'content-type': 'text/html' }), null);
});

test('a missing required member, a wrong type or an enum value fails, naming it', () => {
  const { email, ...noEmail } = user;
  assert.match(check('GET', '/api/v1/users/7', 200, noEmail), /must have required property 'email'/);
  assert.match(check('GET', '/api/v1/users/7', 200, { ...user, id: '7' }), /\/id must be integer/);
  assert.match(check('GET', '/api/v1/users/7', 200, { ...user, role: 'owner' }), /\/role must be equal to one of the allowed values/);
  assert.match(check('GET', '/api/v1/users/7', 200, { ...user, created_at: 'yesterday' }), /\/created_at must match format "date-time"/);
  assert.match(check('GET', '/api/v1/me', 200, { ...me, account: { ...me.account, plan: null } }), /\/account\/plan/);
});

test('a member the documentation does not name fails', () => {
  assert.match(check('GET', '/api/v1/users/7', 200, { ...user, secret: 1 }), /secret: not documented/);
  assert.match(check('GET', '/api/v1/me', 200, { ...me, account: { ...me.account, x: 1 } }), /x: not documented/);
  assert.match(check('GET', '/api/v1/users/7', 404, { code: 'not_found', message: 'm', quota: 'P4' }), /quota: not documented/);
});

test('an undocumented status, route, method or media type fails', () => {
  assert.match(check('GET', '/api/v1/users/7', 418, { code: 'teapot', message: 'm' }), /status 418 is not documented for GET \/users\/\{id\}/);
  assert.match(check('GET', '/api/v1/nowhere', 200, { ok: true }), /no documented path matches/);
  assert.equal(check('GET', '/api/v1/nowhere', 404, { code: 'not_found', message: 'no such route' }), null);
  assert.match(check('PUT', '/api/v1/health', 200, health), /PUT is not documented for \/health/);
  assert.match(check('GET', '/api/v1/health', 200, 'ok', { 'content-type': 'text/plain' }), /content type text\/plain is not documented/);
  assert.match(check('GET', '/api/v1/account/logo', 200, { logo: 1 }), /not documented as application\/json/);
});
