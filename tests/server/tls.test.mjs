// TLS through CivetWeb: --tls-cert with a PEM holding certificate and key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { destroyChecked, startPostgres, startServer, tempDir } from './harness.mjs';

let pg;
let srv;
let certDir;
let cert;

before(async () => {
  certDir = tempDir('metron-tls-');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem'),
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  cert = fs.readFileSync(path.join(certDir, 'cert.pem'));
  fs.writeFileSync(path.join(certDir, 'server.pem'),
    Buffer.concat([cert, fs.readFileSync(path.join(certDir, 'key.pem'))]));
  pg = await startPostgres();
  srv = await startServer({ databaseUrl: await pg.createDatabase(), waitHealthy: false,
    args: ['--tls-cert', path.join(certDir, 'server.pem')] });
});

after(async () => {
  await srv?.stop();
  await destroyChecked(pg);
  for (const d of [certDir, srv?.dataDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

function get(url) {
  return new Promise((resolve, reject) => {
    https.get(url, { ca: cert }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    }).on('error', reject);
  });
}

test('with --tls-cert the server speaks HTTPS and sends HSTS', async () => {
  assert.match(srv.url, /^https:\/\//);
  const res = await get(srv.url + '/api/v1/health');
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: 'ok', db: 'ok', changes_heard: true,
    backup: { state: 'off', last_archived_at: null }, replica: { configured: false } });
  assert.match(res.headers['strict-transport-security'], /max-age=/);
});

test('static files under TLS carry HSTS too (issue #11 item 9)', async () => {
  fs.writeFileSync(path.join(srv.portalDir, 'index.html'), '<!doctype html><p>portal</p>');
  for (const p of ['/', '/index.html']) {
    const res = await get(srv.url + p);
    assert.equal(res.status, 200, p);
    assert.match(res.headers['strict-transport-security'] || '', /max-age=\d+/, p);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
  }
});

test('a missing certificate file fails start-up with a clear message', async () => {
  const dataDir = tempDir();
  const err = await startServer({ databaseUrl: pg.url(), dataDir, waitHealthy: false,
    args: ['--tls-cert', path.join(certDir, 'nope.pem')] }).catch((e) => e);
  fs.rmSync(dataDir, { recursive: true, force: true });
  assert.ok(err instanceof Error);
  assert.match(err.message, /cannot start HTTP/);
  assert.equal(err.server.proc.exitCode, 1);
});
