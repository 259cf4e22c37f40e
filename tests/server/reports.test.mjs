// Reports (T1, T2, P17; docs/reports.md) over HTTP against a real
// PostgreSQL and a real SMTP sink: settings per group with P17, a report by
// hand whose summary equals the data API's summary for the same period, the
// PDF read back with pdftotext (channel names, values, a Chinese and a
// Japanese title) and rendered with pdftoppm, the XLSX read back from its
// sheet XML, the CSV files, the drive (and P2), the mail with its link and
// the PDF attached, failed runs retried and visible.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createUser, login, pollUntil, request, setClock, sleep, startServer, startSmtpSink, startStack, stopStack, tempDir } from './harness.mjs';
import { MIN_US, PW, appClient, dataTenant, uniq } from './data_helpers.mjs';
import { personTextProblems } from './person_text.mjs';

let pg;
let srv;
let db;
let dbUrl;
let smtp;
const sql = (q) => pg.psql(q, db);
const DAY_US = 86400e6;
const out = tempDir('metron-reports-');

before(async () => {
  smtp = await startSmtpSink();
  ({ pg, srv, db, url: dbUrl } = await startStack({ env: {
    METRON_COMPACT_MS: '3600000',
    METRON_SMTP_URL: smtp.url,
    METRON_SMTP_TLS: 'optional', // the sink speaks plain SMTP on loopback
    METRON_NOTIFY_BACKOFF_MS: '200',
    // Runs are made by POST /test/report-work in these tests.
    METRON_REPORT_WORKERS: '0',
    // A back-off of a minute (then 5, 30, 120): the failures test moves the
    // server's clock past each, so a loaded machine cannot make one due early.
    METRON_REPORT_RETRY_S: '60',
  } }));
});

after(async () => {
  await stopStack({ pg, srv });
  await smtp?.stop();
  fs.rmSync(out, { recursive: true, force: true });
});

const work = async () => {
  const r = await request(srv.url, 'POST', '/api/v1/test/report-work');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.runs;
};

const compact = async () => {
  const r = await request(srv.url, 'POST', '/api/v1/test/compact');
  assert.equal(r.status, 200, JSON.stringify(r.body));
};

/** dataTenant + a measurement group holding its app: adds { group }. */
async function groupTenant(plan = 'pro', n = 4, timeZone = 'Asia/Tokyo') {
  const t = await dataTenant(srv, { plan, n });
  let r = await t.c.patch('/api/v1/account', { time_zone: timeZone });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.post('/api/v1/groups', { name: uniq('Site') });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  t.group = r.body.id;
  r = await t.c.patch(`/api/v1/apps/${t.appId}`, { group_id: t.group });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  r = await t.c.get('/api/v1/me');
  t.userId = r.body.user?.id ?? r.body.id;
  return t;
}

/** A start of a UTC day some days ago (all data is in the past). */
function dayStart(daysAgo) {
  const t = Date.now() * 1000 - daysAgo * DAY_US;
  return t - (t % DAY_US);
}

/** Samples of channel k at minute i: a daily cycle at 0.01, special values. */
function value(k, i) {
  if (k === 1 && i % 997 === 500) return '+over';
  if (k === 2 && i % 1499 === 700) return 'break';
  return Math.round((20 + k + 5 * Math.sin(i / 229 + k) + ((i * 7919) % 13) / 100) * 100) / 100;
}

/** Ingest "days" days of one-minute samples of every channel from "t0". */
async function ingest(t, t0, days) {
  const n = days * 1440;
  for (let i = 0; i < n; i += 4000) {
    const ts = [];
    for (let j = i; j < Math.min(n, i + 4000); j++) ts.push(t0 + j * MIN_US);
    const r = await t.ingest.batch({ batch_id: uniq('b'), channels: t.channels.map((id, k) => ({
      id, t: ts, v: ts.map((_, j) => value(k, i + j)) })) });
    assert.equal(r.status, 201, r.text);
  }
}

async function download(t, fileId) {
  const r = await fetch(`${srv.url}/api/v1/drive/files/${fileId}/content`,
    { headers: { Cookie: `metron_session=${t.c.cookie}` } });
  assert.equal(r.status, 200);
  return Buffer.from(await r.arrayBuffer());
}

/** Cells of one sheet of an XLSX: { "A1": text or number, ... }. */
function sheetCells(file, sheet) {
  const xml = execFileSync('unzip', ['-p', file, `xl/worksheets/sheet${sheet}.xml`],
    { maxBuffer: 1 << 28 }).toString('utf8');
  const cells = {};
  const unescape = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'").replace(/&amp;/g, '&');
  for (const m of xml.matchAll(/<c r="([A-Z]+\d+)"([^>]*?)(?:\/>|>(.*?)<\/c>)/gs)) {
    const [, ref, attrs, inner = ''] = m;
    if (/t="inlineStr"/.test(attrs)) {
      cells[ref] = unescape((/<t[^>]*>(.*?)<\/t>/s.exec(inner) || [])[1] ?? '');
    } else if (/t="s"/.test(attrs)) {
      cells[ref] = { shared: Number((/<v>(.*?)<\/v>/.exec(inner) || [])[1]) };
    } else {
      const v = (/<v>(.*?)<\/v>/.exec(inner) || [])[1];
      cells[ref] = v === undefined ? null : Number(v);
    }
  }
  return { cells, rows: (xml.match(/<row /g) || []).length };
}

/** The local date of "t_us" in Asia/Tokyo. */
const tokyoDate = (tUs) => new Date(tUs / 1000 + 9 * 3600e3).toISOString().slice(0, 10);

test('a report made by hand: its figures equal the data API summary; PDF, XLSX, CSV, drive, mail', async () => {
  const t = await groupTenant('pro', 4, 'Asia/Tokyo');
  const t0 = dayStart(4);
  // An alarm rule of the group: the data (older than the rule) is evaluated
  // as history, and its events are the report's alarm block.
  let r = await t.c.post(`/api/v1/groups/${t.group}/alarms`,
    { name: 'Channel 1 high', rule: 'CH1 > 24', channels: [t.channels[0]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await ingest(t, t0, 3);
  await compact();
  // A computed channel of the group: the report takes it too.
  r = await t.c.post(`/api/v1/groups/${t.group}/computed`,
    { name: 'Mean 1-2', unit: 'V', expression: '(CH1+CH2)/2', inputs: [t.channels[0], t.channels[1]] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const computed = r.body.id;
  await request(srv.url, 'POST', '/api/v1/test/computed-backfill?rounds=50');
  const channels = [...t.channels, computed];

  r = await t.c.post(`/api/v1/groups/${t.group}/reports`, {
    name: 'Boiler house', period: 'day', channels, formats: ['pdf', 'xlsx', 'csv'],
    recipients: { users: [t.userId] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const rep = r.body;
  assert.equal(rep.period, 'day');
  assert.equal(rep.time_zone, 'Asia/Tokyo');
  assert.deepEqual(rep.channels, channels);
  assert.deepEqual(rep.formats, ['pdf', 'xlsx', 'csv']);
  assert.equal(rep.summary, true);
  assert.equal(rep.charts, 'per_channel');
  assert.equal(rep.alarms, true);
  assert.equal(rep.language, 'en');
  assert.equal(rep.auto_enabled, false);
  assert.equal(rep.next_period, null);
  assert.deepEqual(rep.recipients, { users: [t.userId], system: [] });

  // The local day in the middle of the data.
  const date = tokyoDate(t0 + DAY_US + 12 * 3600e6);
  r = await t.c.post(`/api/v1/reports/${rep.id}/runs`, { date });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const queued = r.body;
  assert.equal(queued.state, 'queued');
  assert.equal(queued.kind, 'manual');
  assert.equal(queued.label, date);
  assert.equal(queued.time_zone, 'Asia/Tokyo');
  assert.equal(queued.to_us - queued.from_us, DAY_US);
  assert.equal(new Date(queued.from_us / 1000).toISOString(), new Date(`${date}T00:00:00+09:00`).toISOString());
  assert.equal(await work(), 1);
  r = await t.c.get(`/api/v1/report-runs/${queued.id}`);
  assert.equal(r.status, 200);
  const run = r.body;
  assert.equal(run.state, 'done', JSON.stringify(run));
  assert.equal(run.attempts, 1);
  assert.equal(run.error, null);
  assert.ok(run.render_ms >= 0);
  assert.equal(run.samples, 1440 * channels.length);
  assert.deepEqual(run.files.map((f) => [f.format, f.part]).sort(),
    [['csv', 'samples'], ['csv', 'summary'], ['pdf', null], ['xlsx', null]]);
  const file = (fmt, part = null) => run.files.find((f) => f.format === fmt && f.part === part);

  // The data API's summary of the same period: the same figures.
  r = await t.c.get(`/api/v1/data/summary?channels=${channels.join(',')}&from=${run.from_us}&to=${run.to_us}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const api = r.body.channels;
  assert.equal(api.length, channels.length);
  assert.equal(api[0].n + api[0].special.count, 1440);
  assert.ok(api[1].special['+over'] > 0 && api[2].special.break > 0);
  // ... and by brute force over the samples (measured channels).
  for (let k = 0; k < 4; k++) {
    const i0 = (run.from_us - t0) / MIN_US;
    let min = Infinity, max = -Infinity, sum = 0, n = 0, tMin = 0, tMax = 0;
    for (let i = i0; i < i0 + 1440; i++) {
      const v = value(k, i);
      if (typeof v === 'string') continue;
      if (v < min) { min = v; tMin = t0 + i * MIN_US; }
      if (v > max) { max = v; tMax = t0 + i * MIN_US; }
      sum += v;
      n++;
    }
    assert.deepEqual([api[k].n, api[k].min, api[k].t_min, api[k].max, api[k].t_max],
      [n, min, tMin, max, tMax], `channel ${k}`);
    assert.ok(Math.abs(api[k].mean - sum / n) < 1e-9, `mean ${api[k].mean} ${sum / n}`);
  }
  // The graph API's one-bucket min/max agree as well.
  r = await t.c.get(`/api/v1/data/graph?channels=${channels.join(',')}&from=${run.from_us}&to=${run.to_us}&buckets=1`);
  assert.equal(r.status, 200);
  r.body.channels.forEach((g, k) => {
    assert.deepEqual([g.n[0], g.min[0], g.max[0]], [api[k].n, api[k].min, api[k].max]);
  });

  // The CSV summary holds exactly the API's numbers.
  const csv = (await download(t, file('csv', 'summary').file_id)).toString('utf8');
  assert.ok(csv.startsWith('\ufeff'));
  const lines = csv.slice(1).trim().split('\r\n');
  assert.equal(lines[0], 'Channel,Unit,Minimum,Time of minimum,Maximum,Time of maximum,Mean,Values,'
    + 'Special values,missing,over range (+),over range (-),sensor break,computation error');
  lines.slice(1).forEach((line, k) => {
    const f = line.split(',');
    assert.equal(f[0], k < 4 ? `Channel ${k + 1}` : 'Mean 1-2');
    assert.equal(Number(f[2]), api[k].min);
    assert.equal(Date.parse(f[3]) * 1000, api[k].t_min);
    assert.match(f[3], /\+09:00$/);
    assert.equal(Number(f[4]), api[k].max);
    assert.equal(Number(f[6]), api[k].mean);
    assert.equal(Number(f[7]), api[k].n);
    assert.equal(Number(f[8]), api[k].special.count);
    assert.equal(Number(f[10]), api[k].special['+over']);
    assert.equal(Number(f[12]), api[k].special.break);
  });
  const samplesText = (await download(t, file('csv', 'samples').file_id)).toString('utf8');
  assert.ok(samplesText.startsWith('\ufeffTime,'));
  const samples = samplesText.slice(1).trim().split('\r\n');
  assert.equal(samples.length, 1 + 1440);
  assert.equal(samples[0], 'Time,Channel 1 [V],Channel 2 [V],Channel 3 [V],Channel 4 [V],Mean 1-2 [V]');
  {
    const i0 = (run.from_us - t0) / MIN_US;
    const f = samples[1].split(',');
    assert.equal(Date.parse(f[0]) * 1000, run.from_us);
    assert.equal(f[0], `${date}T00:00:00+09:00`);
    assert.deepEqual(f.slice(1, 5), [0, 1, 2, 3].map((k) => {
      const v = value(k, i0);
      return v === '+over' ? '+OVER' : v === 'break' ? 'BREAK' : String(v);
    }));
  }

  // The PDF: pdftotext finds the title, the channels and the figures.
  const pdfFile = path.join(out, 'day.pdf');
  fs.writeFileSync(pdfFile, await download(t, file('pdf').file_id));
  if (process.env.REPORT_KEEP_DIR) fs.copyFileSync(pdfFile, path.join(process.env.REPORT_KEEP_DIR, 'day.pdf'));
  const text = execFileSync('pdftotext', ['-layout', pdfFile, '-']).toString('utf8');
  assert.match(text, /Boiler house/);
  assert.match(text, new RegExp(`Daily report · ${date}`));
  // The zone as its offset, never its id (a code to a person).
  assert.match(text, /Time zone: UTC\+09:00/);
  assert.match(text, /Times are local times in UTC\+09:00\./);
  assert.deepEqual(personTextProblems([text]), []);
  for (let k = 0; k < channels.length; k++) {
    const name = k < 4 ? `Channel ${k + 1}` : 'Mean 1-2';
    const row = text.split('\n').find((l) => l.trimStart().startsWith(name) && /\d{4}-\d\d-\d\d/.test(l));
    assert.ok(row, `no summary row for ${name}`);
    const cells = row.trim().split(/\s{2,}/);
    const mean = String(Number(api[k].mean.toPrecision(7)));
    assert.ok(cells.includes(shown(api[k].min)), `${name} min ${api[k].min}: ${row}`);
    assert.ok(cells.includes(shown(api[k].max)), `${name} max ${api[k].max}: ${row}`);
    assert.ok(cells.includes(mean), `${name} mean ${mean}: ${row}`);
    assert.ok(cells.includes(String(api[k].n)), `${name} n: ${row}`);
  }
  // The period's alarm events, as the alarm API gives them.
  r = await t.c.get(`/api/v1/alarm-events?group_id=${t.group}&from=${run.from_us}&to=${run.to_us}&limit=200`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const events = r.body.items;
  assert.ok(events.length >= 2, `events: ${events.length}`);
  assert.match(text, /Alarm events/);
  const eventRows = text.split('\n').filter((l) => /Channel 1 high/.test(l));
  assert.equal(eventRows.length, events.length, text);
  assert.equal(eventRows.filter((l) => /Raised/.test(l)).length, events.filter((e) => e.kind === 'raise').length);
  assert.equal(eventRows.filter((l) => /Cleared/.test(l)).length, events.filter((e) => e.kind === 'clear').length);
  // pdftoppm renders the first page.
  execFileSync('pdftoppm', ['-r', '60', '-f', '1', '-l', '1', '-png', pdfFile, path.join(out, 'page')]);
  const png = fs.readdirSync(out).find((f) => /^page-0*1\.png$/.test(f));
  assert.ok(png, fs.readdirSync(out).join(' '));
  const pngBytes = fs.readFileSync(path.join(out, png));
  assert.equal(pngBytes.subarray(1, 4).toString(), 'PNG');
  assert.equal(pngBytes.readUInt32BE(16), 702); // A4 landscape at 60 dpi: 702 x 497
  assert.equal(pngBytes.readUInt32BE(20), 497);

  // The XLSX: summary figures as numbers, the samples sheet row by row.
  const xlsxFile = path.join(out, 'day.xlsx');
  fs.writeFileSync(xlsxFile, await download(t, file('xlsx').file_id));
  const sum = sheetCells(xlsxFile, 1);
  assert.equal(sum.cells.A1, 'Boiler house');
  assert.equal(sum.cells.A8, 'Channel');
  assert.equal(sum.cells.C8, 'Minimum');
  for (let k = 0; k < channels.length; k++) {
    const row = 9 + k;
    assert.equal(sum.cells[`A${row}`], k < 4 ? `Channel ${k + 1}` : 'Mean 1-2');
    assert.equal(sum.cells[`B${row}`], 'V');
    // libxlsxwriter writes 16 significant digits (Excel keeps 15).
    const x16 = (v) => Number(v.toPrecision(16));
    assert.equal(sum.cells[`C${row}`], x16(api[k].min));
    assert.equal(sum.cells[`E${row}`], x16(api[k].max));
    assert.equal(sum.cells[`G${row}`], x16(api[k].mean));
    assert.equal(sum.cells[`H${row}`], api[k].n);
    assert.equal(sum.cells[`I${row}`], api[k].special.count);
    // Times are Excel dates in the group's zone: days since 1899-12-30.
    const excel = (api[k].t_min / 1e6 + 9 * 3600) / 86400 + 25569;
    assert.ok(Math.abs(sum.cells[`D${row}`] - excel) < 1e-9);
  }
  const sam = sheetCells(xlsxFile, 2);
  assert.equal(sam.rows, 1 + 1440);
  assert.equal(sam.cells.A1, 'Time');
  assert.equal(sam.cells.B1, 'Channel 1 [V]');
  const i0 = (run.from_us - t0) / MIN_US;
  assert.equal(sam.cells.B2, value(0, i0));
  assert.equal(sam.cells.C1441, value(1, i0 + 1439) === '+over' ? 'over range (+)' : value(1, i0 + 1439));
  const overRow = [...Array(1440).keys()].find((j) => value(1, i0 + j) === '+over');
  assert.equal(sam.cells[`C${overRow + 2}`], 'over range (+)');

  // The files are in the drive, in Reports/<name>, and counted in P2.
  r = await t.c.get(`/api/v1/drive/files/${file('pdf').file_id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.name, `Boiler house ${date}.pdf`);
  const bytes = run.files.reduce((a, f) => a + f.size, 0);
  assert.equal(await sql(`SELECT drive_bytes FROM account_storage WHERE account_id = ${t.id}`), String(bytes));
  r = await t.c.get(`/api/v1/reports/${rep.id}`);
  const folder = r.body.folder_id;
  r = await t.c.get(`/api/v1/drive/folders/${folder}`);
  assert.deepEqual(r.body.path.map((p) => p.name), ['Reports', 'Boiler house']);
  assert.equal(r.body.items.length, 4);

  // The mail: at the SMTP sink, with the link and the PDF attached.
  let mail;
  for (let i = 0; i < 100 && !mail; i++) {
    mail = smtp.messages().find((m) => m.includes('X-Metron-Delivery') && /Boiler house/.test(decodeSubject(m)));
    if (!mail) await sleep(100);
  }
  assert.ok(mail, 'no mail');
  assert.match(mail, new RegExp(`To: <admin@${t.account}\\.test>`));
  const body = qp(mail);
  assert.match(body, new RegExp(`${srv.url.replace(/[.]/g, '\\.')}/#/drive\\?folder=${folder}&file=${file('pdf').file_id}`));
  assert.match(body, /The PDF is attached to this mail\./);
  // Its period as a person reads it (the portal's formatDateTime in the
  // report's language, the zone as its offset), never the zone's id.
  const at = (us) => new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Asia/Tokyo' })
    .format(new Date(us / 1000)).replace(/\u202f/g, ' ');
  assert.ok(body.includes(`${at(run.from_us)} – ${at(run.to_us)} (UTC+09:00)`), body);
  assert.doesNotMatch(body, /Asia\/Tokyo/);
  const att = /Content-Type: application\/pdf; name="([^"]+)"[\s\S]*?\r?\n\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n--/.exec(mail);
  assert.ok(att, `no PDF attachment: ${mail.slice(0, 3000)}`);
  assert.equal(att[1], `Boiler house ${date}.pdf`);
  assert.deepEqual(Buffer.from(att[2].replace(/\r?\n/g, ''), 'base64'), fs.readFileSync(pdfFile));
});

/** A value as the PDF shows it: exact up to 10 significant digits, else 10. */
function shown(v) {
  const exact = String(v);
  const digits = exact.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '');
  return digits.length <= 10 ? exact : String(Number(v.toPrecision(10)));
}

/** The decoded Subject of a raw message (RFC 2047 B words or plain). */
function decodeSubject(raw) {
  const m = /^Subject: (.*(?:\r\n .*)*)/m.exec(raw);
  if (!m) return '';
  return m[1].replace(/\r\n /g, '').replace(/=\?UTF-8\?B\?([^?]*)\?=/g,
    (_, b) => Buffer.from(b, 'base64').toString('utf8'));
}

/** The text part of a raw message, quoted-printable decoded. */
function qp(raw) {
  const text = raw.replace(/\r\n/g, '\n');
  const start = text.indexOf('quoted-printable\n\n');
  const part = text.slice(start + 18).split('\n--')[0];
  return Buffer.from(part.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g,
    (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
}

// ------------------------------------------------------------ settings

test('settings: defaults, every member checked, P17 per plan, rights, tenants, the group time zone', async () => {
  const t = await groupTenant('standard', 3, 'UTC');
  const base = { period: 'week', channels: [t.channels[0]] };
  const create = (body, group = t.group, c = t.c) => c.post(`/api/v1/groups/${group}/reports`, body);
  const bad = [
    [{ period: 'week', channels: [t.channels[0]] }, 'missing', 'name'],
    [{ name: 'x', channels: [t.channels[0]] }, 'missing', 'period'],
    [{ name: 'x', period: 'day' }, 'missing', 'channels'],
    [{ ...base, name: 'a/b' }, 'invalid_value', 'name'],
    [{ ...base, name: ' lead' }, 'invalid_value', 'name'],
    [{ ...base, name: 'x'.repeat(101) }, 'too_long', 'name'],
    [{ ...base, name: 'x', period: 'year' }, 'invalid_value', 'period'],
    [{ ...base, name: 'x', channels: [] }, 'invalid_value', 'channels'],
    [{ ...base, name: 'x', channels: [t.channels[0], t.channels[0]] }, 'duplicate', 'channels'],
    [{ ...base, name: 'x', channels: Array.from({ length: 33 }, (_, i) => i + 1) }, 'invalid_value', 'channels'],
    [{ ...base, name: 'x', channels: ['1'] }, 'wrong_type', 'channels'],
    [{ ...base, name: 'x', charts: 'pie' }, 'invalid_value', 'charts'],
    [{ ...base, name: 'x', language: 'pt' }, 'invalid_value', 'language'],
    [{ ...base, name: 'x', formats: [] }, 'invalid_value', 'formats'],
    [{ ...base, name: 'x', formats: ['pdf', 'doc'] }, 'invalid_value', 'formats'],
    [{ ...base, name: 'x', formats: ['pdf', 'pdf'] }, 'duplicate', 'formats'],
    [{ ...base, name: 'x', recipients: { users: [987654] } }, 'invalid_value', 'recipients'],
    [{ ...base, name: 'x', recipients: { system: [987654] } }, 'invalid_value', 'recipients'],
    [{ ...base, name: 'x', recipients: { people: [1] } }, 'unknown_field', 'recipients'],
    [{ ...base, name: 'x', summary: false, charts: 'none', alarms: false }, 'invalid_value', 'summary'],
    [{ ...base, name: 'x', auto_enabled: 'yes' }, 'wrong_type', 'auto_enabled'],
    [{ ...base, name: 'x', colour: 'red' }, 'unknown_field', 'colour'],
  ];
  for (const [body, code, field] of bad) {
    const r = await create(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.code, code, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.field, field, JSON.stringify(body));
  }
  // A channel of another group (or account) is not this group's.
  const other = await groupTenant('standard', 1, 'UTC');
  let r = await create({ ...base, name: 'x', channels: [other.channels[0]] });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'channels');
  assert.equal(await sql(`SELECT count(*) FROM report_settings WHERE account_id = ${t.id}`), '0');

  // P17 on Standard: 3 per group.
  for (let i = 1; i <= 3; i++) {
    r = await create({ ...base, name: `Weekly ${i}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  r = await create({ ...base, name: 'Weekly 4' });
  assert.equal(r.status, 403);
  assert.equal(r.body.code, 'plan_limit');
  assert.equal(r.body.quota, 'P17');
  assert.equal(r.body.limit, 3);
  r = await t.c.get(`/api/v1/groups/${t.group}/reports`);
  assert.deepEqual(r.body.quota, { id: 'P17', limit: 3, used: 3 });
  assert.equal(r.body.items.length, 3);
  const rep = r.body.items[0];
  // Free has none.
  const free = await groupTenant('free', 1, 'UTC');
  r = await create({ ...base, name: 'x', channels: [free.channels[0]] }, free.group, free.c);
  assert.equal(r.status, 403);
  assert.deepEqual([r.body.code, r.body.quota, r.body.limit], ['plan_limit', 'P17', 0]);

  // Names are unique in the group.
  r = await t.c.patch(`/api/v1/reports/${rep.id}`, { name: 'Weekly 2' });
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'name_taken');

  // Automatic creation: the period running now, then off.
  r = await t.c.patch(`/api/v1/reports/${rep.id}`, { auto_enabled: true, language: 'de', charts: 'overlaid' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.auto_enabled, true);
  assert.equal(r.body.language, 'de');
  assert.equal(r.body.charts, 'overlaid');
  const np = r.body.next_period;
  assert.ok(np.from_us <= Date.now() * 1000 && Date.now() * 1000 < np.to_us);
  assert.equal(np.to_us - np.from_us, 7 * DAY_US);
  assert.equal(new Date(np.from_us / 1000).getUTCDay(), 1); // a Monday
  // When it is due (the scheduling rule of this server: the defaults).
  assert.equal(Date.parse(np.due_from), np.to_us / 1000 + 300e3, 'the end + METRON_REPORT_SETTLE_S');
  assert.equal(Date.parse(np.due_by), np.to_us / 1000 + 21600e3, 'the end + METRON_REPORT_WAIT_S');
  assert.deepEqual((await t.c.get(`/api/v1/groups/${t.group}/reports`)).body.items.find((x) => x.id === rep.id).next_period, np);
  r = await t.c.patch(`/api/v1/reports/${rep.id}`, { auto_enabled: false });
  assert.equal(r.body.next_period, null);

  // The group's own time zone is the report's.
  r = await t.c.patch(`/api/v1/groups/${t.group}`, { time_zone: 'Mars/Olympus' });
  assert.equal(r.status, 400);
  assert.equal(r.body.field, 'time_zone');
  r = await t.c.patch(`/api/v1/groups/${t.group}`, { time_zone: 'America/New_York' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.time_zone, 'America/New_York');
  r = await t.c.get(`/api/v1/reports/${rep.id}`);
  assert.equal(r.body.time_zone, 'America/New_York');
  // A day of the DST change there has 23 hours.
  r = await t.c.post(`/api/v1/reports/${rep.id}/runs`, { from: '2024-03-10', to: '2024-03-11' });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.to_us - r.body.from_us, 23 * 3600e6);
  assert.equal(r.body.from, '2024-03-10T05:00:00Z');
  assert.equal(r.body.time_zone, 'America/New_York');
  r = await t.c.patch(`/api/v1/groups/${t.group}`, { time_zone: null });
  assert.equal(r.body.time_zone, null);
  assert.equal((await t.c.get(`/api/v1/reports/${rep.id}`)).body.time_zone, 'UTC');

  // By hand: a past period only; date or from/to.
  const today = new Date().toISOString().slice(0, 10);
  for (const [body, status, code] of [
    [{ date: today }, 409, 'period_not_over'],
    [{}, 400, 'missing'],
    [{ date: '2024-01-01', from: '2024-01-01', to: '2024-01-02' }, 400, 'missing'],
    [{ from: '2024-01-01' }, 400, 'missing'],
    [{ date: '2024-02-30' }, 400, 'invalid_value'],
    [{ from: '2024-01-10', to: '2024-01-10' }, 400, 'invalid_value'],
    [{ from: '2024-01-01', to: '2024-05-01' }, 400, 'invalid_value'],
    [{ date: 20240101 }, 400, 'wrong_type'],
  ]) {
    r = await t.c.post(`/api/v1/reports/${rep.id}/runs`, body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.body.code, code, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
  }
  r = await t.c.post(`/api/v1/reports/${rep.id}/runs`, { date: '2024-01-03' });
  assert.equal(r.status, 202);
  assert.equal(r.body.label, '2024-W01');
  assert.equal(r.body.from, '2024-01-01T00:00:00Z');
  r = await t.c.post(`/api/v1/reports/${rep.id}/runs`, { from: '2024-01-01', to: '2024-01-11' });
  assert.equal(r.status, 202);
  assert.equal(r.body.label, '2024-01-01 – 2024-01-10');
  r = await t.c.get(`/api/v1/reports/${rep.id}/runs?limit=2`);
  assert.equal(r.status, 200);
  assert.equal(r.body.items.length, 2);
  assert.ok(r.body.next_before > 0);
  r = await t.c.get(`/api/v1/reports/${rep.id}/runs?before=${r.body.next_before}`);
  assert.equal(r.body.items.length, 1);
  assert.equal(r.body.next_before, null);

  // Members: view reads, edit changes; no access is 404; another tenant too.
  const viewer = await createUser(srv.url, { accountId: t.id, user: 'viewer', password: PW, role: 'member' });
  const editor = await createUser(srv.url, { accountId: t.id, user: 'editor', password: PW, role: 'member' });
  const outsider = await createUser(srv.url, { accountId: t.id, user: 'outsider', password: PW, role: 'member' });
  r = await t.c.put(`/api/v1/groups/${t.group}/access`, { users: [
    { user_id: viewer.userId, access: 'view' }, { user_id: editor.userId, access: 'edit' }], teams: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const v = await login(srv.url, { account: t.account, user: 'viewer', password: PW });
  const ed = await login(srv.url, { account: t.account, user: 'editor', password: PW });
  const o = await login(srv.url, { account: t.account, user: 'outsider', password: PW });
  assert.equal((await v.get(`/api/v1/reports/${rep.id}`)).status, 200);
  assert.equal((await v.get(`/api/v1/groups/${t.group}/reports`)).status, 200);
  assert.equal((await v.patch(`/api/v1/reports/${rep.id}`, { language: 'fr' })).status, 403);
  assert.equal((await v.post(`/api/v1/reports/${rep.id}/runs`, { date: '2024-01-03' })).status, 403);
  assert.equal((await ed.patch(`/api/v1/reports/${rep.id}`, { language: 'fr' })).status, 200);
  assert.equal((await o.get(`/api/v1/reports/${rep.id}`)).status, 404);
  assert.equal((await o.get(`/api/v1/groups/${t.group}/reports`)).status, 404);
  assert.equal((await other.c.get(`/api/v1/reports/${rep.id}`)).status, 404);
  r = await other.c.get(`/api/v1/data/summary?channels=${t.channels[0]}&from=0&to=1000`);
  assert.equal(r.status, 404);
  assert.equal(r.body.field, 'channels');
  r = await t.c.get(`/api/v1/data/summary?channels=${t.channels[0]}&from=1000&to=1000`);
  assert.equal(r.status, 400);
  r = await t.c.get(`/api/v1/data/summary?channels=${t.channels[0]}&from=0&to=1000`);
  assert.deepEqual(r.body.channels[0], { id: t.channels[0], n: 0, min: null, t_min: null, max: null,
    t_max: null, mean: null, special: { count: 0, missing: 0, '+over': 0, '-over': 0, break: 0, error: 0 } });
  assert.equal((await other.c.patch(`/api/v1/reports/${rep.id}`, { language: 'it' })).status, 404);
  const runId = (await t.c.get(`/api/v1/reports/${rep.id}/runs`)).body.items[0].id;
  assert.equal((await other.c.get(`/api/v1/report-runs/${runId}`)).status, 404);
  assert.equal((await o.get(`/api/v1/report-runs/${runId}`)).status, 404);
  assert.equal((await v.get(`/api/v1/report-runs/${runId}`)).status, 200);

  // Deleting takes the runs; it is audited.
  r = await t.c.del(`/api/v1/reports/${rep.id}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { id: rep.id, deleted: true });
  assert.equal(await sql(`SELECT count(*) FROM report_runs WHERE report_id = ${rep.id}`), '0');
  assert.equal((await t.c.get(`/api/v1/report-runs/${runId}`)).status, 404);
  const audit = await sql(`SELECT string_agg(action, ',' ORDER BY id) FROM audit_log
    WHERE account_id = ${t.id} AND target_type = 'report' AND target_id = ${rep.id}`);
  assert.equal(audit, 'report.create,report.update,report.update,report.run,report.run,report.run,report.update,report.delete');
});

// ----------------------------------------------------------- languages

test('Chinese and Japanese reports: pdftotext reads the CJK title, labels and channel names', async () => {
  const t = await groupTenant('pro', 2, 'Asia/Shanghai');
  const t0 = dayStart(3);
  await ingest(t, t0, 2);
  await compact();
  let r = await t.c.patch(`/api/v1/channels/${t.channels[0]}`, { name: '锅炉温度' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const cases = [
    { name: '锅炉房日报', language: 'zh-CN', labels: ['日报', '摘要', '最小值', '最大值', '平均值', '图表', '报警事件', '时区'] },
    { name: 'ボイラー室の日報', language: 'ja', labels: ['日報', 'サマリー', '最小値', '最大値', '平均値', 'グラフ', '警報イベント', 'タイムゾーン'] },
  ];
  const date = new Date((t0 + DAY_US + 12 * 3600e6) / 1000).toISOString().slice(0, 10);
  for (const cs of cases) {
    r = await t.c.post(`/api/v1/groups/${t.group}/reports`, { name: cs.name, period: 'day',
      language: cs.language, channels: t.channels, charts: cs.language === 'ja' ? 'overlaid' : 'per_channel' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    r = await t.c.post(`/api/v1/reports/${r.body.id}/runs`, { date });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.id;
    assert.equal(await work(), 1);
    const run = (await t.c.get(`/api/v1/report-runs/${id}`)).body;
    assert.equal(run.state, 'done', JSON.stringify(run));
    const pdf = path.join(out, `${cs.language}.pdf`);
    fs.writeFileSync(pdf, await download(t, run.files.find((f) => f.format === 'pdf').file_id));
    const text = execFileSync('pdftotext', ['-layout', pdf, '-']).toString('utf8');
    assert.match(text, new RegExp(cs.name), text.slice(0, 500));
    for (const label of cs.labels) assert.ok(text.includes(label), `${cs.language}: no "${label}" in\n${text.slice(0, 800)}`);
    assert.ok(text.includes('锅炉温度'), 'the channel name');
    // The zone as its offset, never its id; nothing else a code to a person.
    assert.ok(text.includes('UTC+08:00'), text.slice(0, 800));
    assert.deepEqual(personTextProblems([text]), []);
    // The figures are there too.
    const api = (await t.c.get(`/api/v1/data/summary?channels=${t.channels[0]}&from=${run.from_us}&to=${run.to_us}`)).body.channels[0];
    const row = text.split('\n').find((l) => l.includes('锅炉温度') && /\d{4}-\d\d-\d\d/.test(l));
    assert.ok(row, text.slice(0, 1500));
    assert.ok(row.includes(shown(api.min)) && row.includes(shown(api.max)), row);
    execFileSync('pdftoppm', ['-r', '100', '-f', '1', '-l', '1', '-png', pdf, path.join(out, `p-${cs.language}`)]);
    const png = fs.readdirSync(out).find((f) => f.startsWith(`p-${cs.language}-`));
    assert.ok(png);
    // REPORT_IMG_OUT=docs/img/report-page1.png keeps the Japanese page for the docs.
    if (cs.language === 'ja' && process.env.REPORT_IMG_OUT) {
      fs.copyFileSync(path.join(out, png), process.env.REPORT_IMG_OUT);
    }
  }
});

// -------------------------------------------------------------- failures

test('a run that fails is retried with its error visible, fails for good after 5 attempts, and is queued again by hand', async () => {
  const t = await groupTenant('pro', 1, 'UTC');
  const t0 = dayStart(3);
  await ingest(t, t0, 1);
  await compact();
  let r = await t.c.post(`/api/v1/groups/${t.group}/reports`, { name: 'Quota', period: 'day',
    channels: t.channels, formats: ['pdf'] });
  const rep = r.body;
  // The storage quota is full: the files do not fit.
  const fill = (bytes) => request(srv.url, 'POST', '/api/v1/test/storage', { body: { account_id: t.id, data_bytes: bytes } });
  assert.equal((await fill(500e9)).status, 200);
  r = await t.c.post(`/api/v1/reports/${rep.id}/runs`, { date: new Date(t0 / 1000).toISOString().slice(0, 10) });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = r.body.id;
  let clock = 0;
  for (let attempt = 1; attempt <= 5; attempt++) {
    assert.equal(await work(), 1, `attempt ${attempt}`);
    const run = (await t.c.get(`/api/v1/report-runs/${id}`)).body;
    assert.equal(run.attempts, attempt);
    assert.equal(run.state, attempt < 5 ? 'retry' : 'failed', JSON.stringify(run));
    assert.match(run.error, /P2|storage|plan/i);
    assert.equal(run.error_kind, 'storage'); // the portal's sentence
    assert.equal(run.progress, null); // only while running
    assert.deepEqual(run.files, []);
    if (attempt < 5) {
      assert.ok(Date.parse(run.next_at) > Date.now() - 5000);
      assert.equal(await work(), 0, 'not due before its back-off');
      clock += [60, 300, 1800, 7200][attempt - 1] + 1; // METRON_REPORT_RETRY_S=60
      await setClock(srv.url, clock);
    } else {
      assert.equal(run.next_at, null);
      assert.ok(run.finished_at);
    }
  }
  assert.equal(await work(), 0);
  r = await t.c.get(`/api/v1/reports/${rep.id}`);
  assert.equal(r.body.last_run.state, 'failed');
  assert.equal(r.body.last_run.error_kind, 'storage'); // the list says why in words
  assert.equal(r.body.last_run.attempts, 5);
  assert.equal(r.body.last_run.time_zone, 'UTC');
  assert.equal(await sql(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id} AND NOT is_folder`), '0');
  // Room again; queued by hand it is made.
  assert.equal((await fill(0)).status, 200);
  r = await t.c.post(`/api/v1/report-runs/${id}/retry`);
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.body.state, 'queued');
  assert.equal(r.body.attempts, 0);
  r = await t.c.post(`/api/v1/report-runs/${id}/retry`);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'not_failed');
  assert.equal(await work(), 1);
  r = await t.c.get(`/api/v1/report-runs/${id}`);
  assert.equal(r.body.state, 'done', JSON.stringify(r.body));
  assert.equal(r.body.error, null);
  assert.equal(r.body.error_kind, null);
  assert.equal(r.body.progress, null);
  // The worker recorded its steps as it went; the last one stays in the row.
  assert.equal(await sql(`SELECT step || ' ' || step_done || '/' || step_total FROM report_runs WHERE id = ${id}`), 'storing 0/0');
  assert.equal(r.body.files.length, 1);
  await setClock(srv.url, 0);
});

// ------------------------------------------------------------ schedule

/** Poll "fn" until it returns a truthy value (or fail after "ms"). */
const until = (fn, what, ms = 60000) => pollUntil(fn, what, ms, 100);

test('automatic reports: once per period after its data arrived, exactly once with two server processes, across a restart and a kill -9', async () => {
  const t = await groupTenant('pro', 2, 'UTC');
  const nowUs = Date.now() * 1000;
  const today = nowUs - (nowUs % DAY_US);
  // Today's data so far, on the main server (its clock is the real one).
  {
    const n = Math.floor((nowUs - today) / MIN_US);
    for (let i = 0; i < n; i += 4000) {
      const ts = [];
      for (let j = i; j < Math.min(n, i + 4000); j++) ts.push(today + j * MIN_US);
      const r = await t.ingest.batch({ batch_id: uniq('b'), channels: t.channels.map((id, k) => ({
        id, t: ts, v: ts.map((_, j) => value(k, i + j)) })) });
      assert.equal(r.status, 201, r.text);
    }
  }
  let r = await t.c.post(`/api/v1/groups/${t.group}/reports`, { name: 'Daily auto', period: 'day',
    channels: t.channels, formats: ['pdf', 'csv'], auto_enabled: true, recipients: { users: [t.userId] } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const rep = r.body;
  assert.equal(rep.next_period.from_us, today);
  assert.equal(rep.next_period.to_us, today + DAY_US);

  // Two more processes on the database: worker threads, a jobs round every second.
  const env = { METRON_COMPACT_MS: '3600000', METRON_SMTP_URL: smtp.url, METRON_SMTP_TLS: 'optional',
    METRON_REPORT_POLL_MS: '100',
    METRON_REPORT_LEASE_S: '5' };
  const start = (extra = {}) => startServer({ databaseUrl: dbUrl, env: { ...env, ...extra },
    args: ['--jobs-interval', '1'] });
  let a = await start();
  let b = await start();
  const clockAll = async (servers, offsetS) => {
    for (const s of servers) assert.equal((await setClock(s.url, offsetS)).offset_s, offsetS);
  };
  // The sessions job of a process whose clock runs a day ahead removes
  // sessions made on the real clock: sign in on that process instead.
  let cur = t.c;
  const signIn = async (s) => { cur = await login(s.url, { account: t.account, user: 'admin', password: PW }); };
  const runsOf = async () => {
    const res = await cur.get(`/api/v1/reports/${rep.id}/runs?limit=100`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items;
  };
  const mailsOf = (id) => smtp.messages().filter((m) => m.includes(`Message-ID: <metron.`) &&
    decodeSubject(m).includes('Daily auto') && m.includes(`#/drive?folder=`)).length;

  // 10 minutes after midnight: over and settled, but no sample after the
  // end yet: the report waits for its data.
  const offset1 = Math.ceil((today + DAY_US + 10 * MIN_US - nowUs) / 1e6);
  await clockAll([a, b], offset1);
  await signIn(a);
  await sleep(2500); // two jobs rounds on each
  assert.deepEqual(await runsOf(), []);
  // The apps send the rest of the day and a few minutes of the next.
  {
    const app = appClient(a.url, t.app.credential);
    const from = Math.floor((nowUs - today) / MIN_US);
    const ts = [];
    for (let j = from; j < 1440 + 5; j++) ts.push(today + j * MIN_US);
    r = await app.batch({ batch_id: uniq('late'), channels: t.channels.map((id, k) => ({
      id, t: ts, v: ts.map((_, j) => value(k, from + j)) })) });
    assert.equal(r.status, 201, r.text);
    assert.equal((await request(a.url, 'POST', '/api/v1/test/compact')).status, 200);
  }
  // Both processes' jobs and workers race; and so do explicit rounds.
  await Promise.all([a, b, a, b].map((s) => request(s.url, 'POST', '/api/v1/test/jobs?job=reports')));
  const first = await until(async () => {
    const runs = await runsOf();
    return runs.length === 1 && runs[0].state === 'done' ? runs[0] : null;
  }, 'the first automatic run');
  assert.equal(first.kind, 'auto');
  assert.equal(first.from_us, today);
  assert.equal(first.attempts, 1);
  assert.equal(first.files.length, 3);
  await sleep(1500); // more rounds: nothing more
  assert.equal((await runsOf()).length, 1);
  assert.equal(await sql(`SELECT count(*) FROM report_runs WHERE report_id = ${rep.id}`), '1');
  assert.equal(await sql(`SELECT count(*) FROM report_files WHERE run_id = ${first.id}`), '3');
  assert.equal(await sql(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id} AND NOT is_folder`), '3');
  assert.equal(await sql(`SELECT count(*) FROM notify_outbox WHERE dedupe_key = 'report_run:${first.id}'`), '1');
  await until(() => mailsOf() === 1, 'the mail');
  r = await cur.get(`/api/v1/reports/${rep.id}`);
  assert.equal(r.body.next_period.from_us, today + DAY_US);

  // A restart: every process stops; a new one goes on with the next day.
  await a.stop();
  await b.stop();
  a = await start({ METRON_REPORT_TEST_STALL_MS: '4000' });
  const offset2 = offset1 + 86400;
  await clockAll([a], offset2);
  await signIn(a);
  {
    const app = appClient(a.url, t.app.credential);
    const ts = [];
    for (let j = 1440 + 5; j < 2 * 1440 + 5; j++) ts.push(today + j * MIN_US);
    r = await app.batch({ batch_id: uniq('day2'), channels: t.channels.map((id, k) => ({
      id, t: ts, v: ts.map((_, j) => value(k, 1445 + j)) })) });
    assert.equal(r.status, 201, r.text);
    assert.equal((await request(a.url, 'POST', '/api/v1/test/compact')).status, 200);
  }
  // Its worker takes the run and stalls before storing: kill -9 there.
  const second = await until(async () => {
    const runs = await runsOf();
    return runs.length === 2 && runs[0].state === 'running' ? runs[0] : null;
  }, 'the second run to start');
  assert.equal(second.from_us, today + DAY_US);
  await a.stop('SIGKILL');
  // Another process takes it once its lease (5 s) has run out.
  b = await start();
  await clockAll([b], offset2 + 6);
  await signIn(b);
  const done = await until(async () => {
    const runs = await runsOf();
    return runs[0].state === 'done' ? runs[0] : null;
  }, 'the second run after the kill');
  assert.equal(done.id, second.id);
  assert.equal(done.attempts, 2);
  assert.equal(done.files.length, 3);
  await sleep(1500);
  const runs = await runsOf();
  assert.deepEqual(runs.map((x) => [x.from_us, x.state]), [[today + DAY_US, 'done'], [today, 'done']]);
  assert.equal(await sql(`SELECT count(*) FROM drive_items WHERE account_id = ${t.id} AND NOT is_folder`), '6');
  assert.equal(await sql(`SELECT count(*) FROM notify_outbox WHERE dedupe_key LIKE 'report_run:%'
    AND account_id = ${t.id}`), '2');
  await until(() => mailsOf() === 2, 'the second mail');
  await b.stop();
});
