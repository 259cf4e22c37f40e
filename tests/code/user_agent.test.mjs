// portal/js/ui/user_agent.mjs: a session's User-Agent header named as a
// person knows it (My settings, "Where you are signed in"), on the headers
// of the browsers in use (copied from their current releases).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseUserAgent } from '../../portal/js/ui/user_agent.mjs';

const CASES = [
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    { browser: 'Chrome', version: '131', os: 'Windows' }],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
    { browser: 'Edge', version: '131', os: 'Windows' }],
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
    { browser: 'Safari', version: '18', os: 'macOS' }],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
    { browser: 'Safari', version: '18', os: 'iOS' }],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1',
    { browser: 'Chrome', version: '131', os: 'iOS' }],
  ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    { browser: 'Firefox', version: '133', os: 'Linux' }],
  ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36',
    { browser: 'Samsung Internet', version: '26', os: 'Android' }],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0',
    { browser: 'Opera', version: '115', os: 'Windows' }],
  ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
    { browser: 'Chrome', version: '156', os: 'Linux' }],
  ['Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    { browser: 'Chrome', version: '131', os: 'ChromeOS' }],
  ['curl/8.5.0', { browser: '', version: '', os: '' }],
  ['', { browser: '', version: '', os: '' }],
];

test('browsers and systems named from their User-Agent headers', () => {
  for (const [ua, want] of CASES) assert.deepEqual(parseUserAgent(ua), want, ua);
  assert.deepEqual(parseUserAgent(null), { browser: '', version: '', os: '' });
});

test('a header is read from its first 512 characters only', () => {
  assert.deepEqual(parseUserAgent(`${'x'.repeat(600)} Firefox/133.0`), { browser: '', version: '', os: '' });
  assert.equal(parseUserAgent(`Firefox/133.0 ${'x'.repeat(100000)}`).browser, 'Firefox');
});
