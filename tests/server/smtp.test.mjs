// The SMTP sink of the harness (for the mail tests of issue #3): a message
// sent over SMTP on loopback lands in messages().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sleep, startSmtpSink, tempDir } from './harness.mjs';

test('the SMTP sink receives mail sent with curl (libcurl, as the server will)', async () => {
  const sink = await startSmtpSink();
  const dir = tempDir();
  try {
    const file = path.join(dir, 'mail.txt');
    fs.writeFileSync(file, 'From: metron@localhost\r\nTo: user@example.test\r\n' +
      'Subject: Reset your password\r\n\r\nhttps://metron.test/reset#token\r\n');
    execFileSync('curl', ['-sS', '--url', sink.url, '--mail-from', 'metron@localhost',
      '--mail-rcpt', 'user@example.test', '--upload-file', file]);
    let msgs = [];
    for (let i = 0; i < 50 && msgs.length === 0; i++) {
      await sleep(20);
      msgs = sink.messages();
    }
    assert.equal(msgs.length, 1);
    assert.match(msgs[0], /Subject: Reset your password/);
    assert.match(msgs[0], /X-RcptTo: user@example\.test/);
  } finally {
    await sink.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
