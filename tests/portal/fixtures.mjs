// Data for the portal tests: an account with a measurement group, an app in
// it, a logger with channels and a few stored values (one special), and
// notifications (inserted with SQL: other parts of the service create them).
import crypto from 'node:crypto';
import { appClient } from '../server/data_helpers.mjs';

export const PASSWORD = 'Passw0rd-ok';

/**
 * A Pro (or "plan") account "account" with admin "admin", group "Plant A",
 * app "Gateway 1" in it, device LR8450 with channels CH1..CH4 (CH1-CH3
 * selected), the latest values 12.5, '+over', -3.25 and two notifications.
 * Returns { accountId, userId, admin (API client), groupId, appId, deviceId, channels }.
 */
export async function seedAccount(env, { account = 'acme', plan = 'pro', userName = 'Ada Admin', groupName = 'Plant A' } = {}) {
  const { accountId, userId } = await env.createAccount({ account, plan, user: 'admin', password: PASSWORD,
    email: `admin@${account}.example.test`, userName });
  const admin = await env.login({ account, user: 'admin', password: PASSWORD });
  let r = await admin.post('/api/v1/groups', { name: groupName });
  const groupId = r.body.id;
  r = await admin.post('/api/v1/apps', { kind: 'lr8450-direct', name: 'Gateway 1', group_id: groupId });
  if (r.status !== 201) throw new Error(`app: ${JSON.stringify(r.body)}`);
  const app = r.body;
  r = await admin.post(`/api/v1/apps/${app.id}/devices`, { model: 'LR8450', serial: `SN${accountId}0001`, name: 'Boiler logger' });
  const deviceId = r.body.id;
  const channels = [];
  for (let i = 1; i <= 4; i++) {
    r = await admin.post(`/api/v1/devices/${deviceId}/channels`, { key: `CH${i}`, name: `Temperature ${i}`, unit: '°C' });
    channels.push(r.body.id);
  }
  await admin.put(`/api/v1/devices/${deviceId}/selection`, { channel_ids: channels.slice(0, 3) });
  const t0 = (Date.now() - 10 * 60000) * 1000;
  const t0m = t0 - (t0 % 60e6);
  const ingest = appClient(env.apiUrl || env.url, app.credential);
  r = await ingest.batch({ batch_id: 'seed-1', channels: [
    { id: channels[0], t: [t0m, t0m + 60e6], v: [12.25, 12.5] },
    { id: channels[1], t: [t0m, t0m + 60e6], v: [3, '+over'] },
    { id: channels[2], t: [t0m, t0m + 60e6], v: [-3, -3.25] },
  ] });
  if (r.status >= 300) throw new Error(`ingest: ${r.status} ${r.text}`);
  await env.psql(`INSERT INTO notifications (account_id, user_id, kind, title, body) VALUES
    (${accountId}, ${userId}, 'alarm', 'Temperature high on Boiler logger', 'CH1 went above 80 °C.'),
    (${accountId}, ${userId}, 'licence', 'Your licence ends in 30 days', 'Renew it to keep your plan.')`);
  return { accountId, userId, admin, groupId, appId: app.id, deviceId, channels };
}

/** RFC 4648 base32 (no padding needed) → bytes. */
export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`bad base32 character ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** RFC 6238 TOTP (HMAC-SHA-1, 6 digits, 30 s) of a base32 secret at step "step". */
export function totp(secret, step = Math.floor(Date.now() / 30000)) {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac('sha1', base32Decode(secret)).update(msg).digest();
  const off = mac[mac.length - 1] & 0x0f;
  const bin = ((mac[off] & 0x7f) << 24) | (mac[off + 1] << 16) | (mac[off + 2] << 8) | mac[off + 3];
  return String(bin % 1e6).padStart(6, '0');
}
