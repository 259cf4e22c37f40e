// The sweep of what the server writes to a person (person_text.mjs): it
// finds each kind of code in a mail's subject, quoted-printable, base64 and
// HTML parts and in Slack, Teams and WeChat messages, and lets URLs,
// addresses, file names and product names through. No server: milliseconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chatTexts, mailParts, mailProblems, personTextProblems } from './person_text.mjs';

const qpMail = (subject, body, type = 'text/plain') => `Subject: ${subject}\r\nMIME-Version: 1.0\r\n` +
  `Content-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${body}\r\n`;

test('each kind of code is found, once, with its line', () => {
  const found = personTextProblems(['Metron (notice.app_connected, 1)', 'over_quota',
    'at 2026-12-07T08:00:00Z', 'Asia/Tokyo', 'Value: undefined', 'Max: NaN', 'Site: null', '[object Object]']);
  assert.deepEqual(found.map((p) => p.split(' "')[0]), ['dotted code', 'snake_case code', 'ISO timestamp',
    'time zone id', 'JavaScript leftover', 'JavaScript leftover', 'JavaScript leftover', 'JavaScript leftover']);
});

test('URLs, addresses, file names, hosts and product names are words to a person', () => {
  assert.deepEqual(personTextProblems(['Open: https://metron.example.test/#/alarms/events?x_y=1',
    'To: bob_smith@example.test', 'File: logger_1.csv, own.hok2 (LR8450-01)', 'Server metron.example.test',
    'Metron · メッセージ 12']), []);
});

test('an English sentence in a Japanese or German mail, not in an English one', () => {
  assert.equal(personTextProblems(['温度が上限を超えました', 'The alarm has been raised for your channel']).length, 1);
  assert.equal(personTextProblems(['Der Wert ist zu hoch für den Kanal', 'Please sign in with this code']).length, 1);
  assert.deepEqual(personTextProblems(['The alarm has been raised for your channel', 'Channel: Temp 1']), []);
});

test('a mail is read decoded: encoded-word subject, quoted-printable, base64, HTML', () => {
  const subject = `=?UTF-8?B?${Buffer.from('警報 alarm.raise').toString('base64')}?=`;
  assert.match(mailProblems(qpMail(subject, 'ok'))[0], /alarm\.raise/);
  assert.match(mailProblems(qpMail('Hello', 'Limit: over=5Fquota'))[0], /over_quota/);
  assert.match(mailProblems(qpMail('Hello', '<p>Zone: <b>Europe/Berlin</b></p>', 'text/html'))[0], /Europe\/Berlin/);
  const b64 = 'Subject: x\r\nContent-Type: multipart/mixed; boundary="=_b"\r\n\r\n--=_b\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
    `${Buffer.from('Wert: undefined').toString('base64')}\r\n--=_b\r\n` +
    'Content-Type: text/csv; name="a_b.csv"\r\nContent-Disposition: attachment; filename="a_b.csv"\r\n' +
    'Content-Transfer-Encoding: base64\r\n\r\n' + `${Buffer.from('raw_code,null').toString('base64')}\r\n--=_b--\r\n`;
  assert.deepEqual(mailParts(b64).texts, ['Wert: undefined']);
  assert.equal(mailProblems(b64).length, 1);
});

test('Slack, Teams and WeChat messages are read; the generic webhook is not', () => {
  const slack = { text: 'High', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'alarm.raise' } }] };
  const teams = { type: 'message', attachments: [{ content: { type: 'AdaptiveCard', body: [
    { type: 'TextBlock', text: 'High' }, { type: 'FactSet', facts: [{ title: 'Zone', value: 'Asia/Tokyo' }] }] } }] };
  const wechat = { msgtype: 'markdown', markdown: { content: '**<font color="warning">High</font>**\nover_quota\n[Open](https://x.test/a_b)' } };
  for (const j of [slack, teams, wechat]) assert.equal(personTextProblems(chatTexts(j)).length, 1, JSON.stringify(j));
  assert.equal(chatTexts({ event: 'alarm.raise', occurred_at: '2026-12-07T08:00:00Z' }), null);
});
