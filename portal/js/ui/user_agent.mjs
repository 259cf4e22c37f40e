// A browser's User-Agent header as a person names it: "Chrome 131" and
// "Windows", not "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/...".
// Pure (no DOM, no catalogue): tests/code/user_agent.test.mjs runs it in node.

const MAX = 512; // a header longer than this is read from its first 512 characters

// First match wins: the browsers built on Chromium name themselves before
// "Chrome/", and every Chromium browser says "Safari/" too.
const BROWSERS = [
  ['Edge', /\bEdg(?:e|A|iOS)?\/(\d+)/],
  ['Opera', /\b(?:OPR|Opera)\/(\d+)/],
  ['Samsung Internet', /\bSamsungBrowser\/(\d+)/],
  ['Firefox', /\b(?:Firefox|FxiOS)\/(\d+)/],
  ['Chrome', /\b(?:HeadlessChrome|Chrome|CriOS)\/(\d+)/],
  ['Safari', /\bVersion\/(\d+)[.\d]* (?:Mobile\/\S+ )?Safari\//],
];

const SYSTEMS = [
  ['iOS', /\b(?:iPhone|iPad|iPod)\b/],
  ['Android', /\bAndroid\b/],
  ['ChromeOS', /\bCrOS\b/],
  ['Windows', /\bWindows\b/],
  ['macOS', /\bMac OS X\b|\bMacintosh\b/],
  ['Linux', /\bLinux\b|\bX11\b/],
];

/**
 * { browser, version, os } of a User-Agent header; browser and os are ''
 * when not recognised, version '' when the browser gives none.
 */
export function parseUserAgent(ua) {
  const s = String(ua || '').slice(0, MAX);
  let browser = '';
  let version = '';
  for (const [name, re] of BROWSERS) {
    const m = re.exec(s);
    if (m) { browser = name; version = m[1] || ''; break; }
  }
  let os = '';
  for (const [name, re] of SYSTEMS) {
    if (re.test(s)) { os = name; break; }
  }
  return { browser, version, os };
}
