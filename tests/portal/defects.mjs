// What a person would notice on a portal page, as sentences for an
// assertion (tests/portal/review.test.mjs, scripts/portal-look-shots.mjs):
// anything wider than the window, a control without a name a screen reader
// can say, a catalogue key or snake_case code among the words, "undefined" or
// "NaN", a table with two columns of the same heading, a word cut in two
// across lines without a hyphen (German's long words in a narrow card), the
// browser's own file button (its words in the browser's language, not the
// page's), a dialog's buttons out of its view. The main area and the header
// are looked at, and an open dialog (the portal's dialogs are appended to
// <body>, outside #main) the same way.

/** The defects of the page shown (an empty list when none). */
export function defects(page) {
  return page.evaluate(() => {
    const out = [];
    const vw = window.innerWidth;
    const what = (el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''} "${(el.textContent || '').trim().slice(0, 40)}"`;
    if (document.documentElement.scrollWidth > vw) out.push(`the page is ${document.documentElement.scrollWidth} px wide`);
    // A box of its own that scrolls sideways (a wide table in its frame) may hold wider content.
    const scrolls = (el) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (/(auto|scroll|hidden)/.test(getComputedStyle(p).overflowX)) return true;
      }
      return false;
    };
    const roots = [document.getElementById('main'), ...document.querySelectorAll('dialog[open]')].filter(Boolean);
    for (const dlg of document.querySelectorAll('dialog[open]')) {
      const r = dlg.getBoundingClientRect();
      if (r.left < -1 || r.right > vw + 1) out.push(`the dialog "${(dlg.querySelector('h2')?.textContent || '').trim()}" is ${Math.round(r.width)} px wide`);
    }
    for (const el of document.querySelectorAll('#main *, .header *, dialog[open] *')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > vw + 1 && !scrolls(el)) out.push(`${what(el)} ends at ${Math.round(r.right)} px`);
    }
    // A dialog's own buttons (the row that ends its body, or its foot) below what it shows:
    // a phone must not have to scroll the dialog to find how to finish or leave it.
    for (const dlg of document.querySelectorAll('dialog[open]')) {
      const sel = ['.dialog-body > .form-buttons:last-child button', '.dialog-body > form > .form-buttons:last-child button',
        '.dialog-body > .dialog-foot:last-child button', '.dialog-buttons button'].join(', ');
      for (const b of dlg.querySelectorAll(sel)) {
        const r = b.getBoundingClientRect();
        const box = (b.closest('.dialog-body') || dlg).getBoundingClientRect();
        if (r.height && r.bottom > Math.min(box.bottom, window.innerHeight) + 1) out.push(`the dialog's button "${b.textContent.trim()}" is out of view`);
      }
    }
    // A control a table's frame hides under its sideways scroll: out of view, and
    // nothing says it is there (a wide table may scroll, its actions must not need it).
    for (const w of document.querySelectorAll('#main .table-wrap, dialog[open] .table-wrap')) {
      const box = w.getBoundingClientRect();
      for (const b of w.querySelectorAll('button, a[href], select, input:not([type=hidden])')) {
        const r = b.getBoundingClientRect();
        if (r.width && r.right > box.right + 1) out.push(`${what(b)} is hidden under the table's sideways scroll`);
      }
    }
    for (const el of document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, meter')) {
      if (!el.getClientRects().length && el.type !== 'file') continue;
      const name = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title')
        || (el.labels && [...el.labels].map((l) => l.textContent).join('').trim())
        || (!['INPUT', 'SELECT', 'TEXTAREA', 'METER'].includes(el.tagName) && el.textContent.trim())
        || [...el.querySelectorAll('img[alt]')].map((i) => i.alt).join('');
      if (!name) out.push(`${el.outerHTML.slice(0, 100)} has no name`);
    }
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n; (n = walker.nextNode());) {
        const s = n.textContent.trim();
        if (n.parentElement.closest('code, pre, input, textarea, .mono, [data-testid=session-browser]')) continue;
        if (/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(s) && !/\.(test|com|org|net|png|csv|json|hok2?|mtw|pdf|xlsx)$/.test(s)) out.push(`a catalogue key "${s}"`);
        if (/(^|\s)[a-z]+_[a-z_]+(\s|$)/.test(s) && !/@/.test(s)) out.push(`a code in "${s.slice(0, 60)}"`);
        if (/\bundefined\b|\bNaN\b|\[object /.test(s)) out.push(`"${s.slice(0, 60)}"`);
      }
    }
    // A word cut in two across lines without a hyphen ("Fernbedien" / "ung" in
    // German): a box too narrow for the language's longest word. Words of letters
    // only (Chinese and Japanese break between any two characters, an address or
    // a code may break anywhere); a soft hyphen (U+00AD) or a hyphen is a break
    // the word allows. A table card's headings are drawn by CSS (::before of
    // data-label), so their words are measured against the room they have.
    const cut = (w) => /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]{4,}$/u.test(w);
    const skip = (el) => el.closest('code, pre, input, textarea, select, .mono, [data-testid=session-browser]');
    for (const root of roots) {
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let n; (n = walker.nextNode());) {
        if (skip(n.parentElement) || !n.parentElement.getClientRects().length) continue;
        const text = n.textContent;
        // An address, a file name or a code among the words ("https://…", "a_b") may break anywhere.
        for (const tok of text.matchAll(/\S+/g)) {
          if (/[/:@_=?&#\\\d]|\.\S/.test(tok[0])) continue;
          for (const w of tok[0].matchAll(/[^\u00ad\-‐(),.;!?"'„“”«»·]+/g)) {
            if (!cut(w[0])) continue;
            // Its first and its last letter on different lines.
            const top = (i) => {
              const range = document.createRange();
              range.setStart(n, i);
              range.setEnd(n, i + 1);
              // A letter just after a line break also has an empty box at the line above's end.
              const r = [...range.getClientRects()].reduce((a, b) => (b.width > a.width ? b : a), { width: -1, top: 0, height: 0 });
              return r.top + r.height / 2;
            };
            const at = tok.index + w.index;
            if (Math.abs(top(at) - top(at + w[0].length - 1)) > 4) out.push(`the word "${w[0]}" is cut across two lines`);
          }
        }
      }
    }
    const ctx2d = document.createElement('canvas').getContext('2d');
    for (const td of document.querySelectorAll('#main td[data-label], dialog[open] td[data-label]')) {
      const before = getComputedStyle(td, '::before');
      if (!td.getClientRects().length || before.content === 'none' || before.display === 'none' || skip(td)) continue;
      const cs = getComputedStyle(td);
      const inner = td.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const room = before.maxWidth.endsWith('%') ? inner * parseFloat(before.maxWidth) / 100 : inner;
      ctx2d.font = `${before.fontStyle} ${before.fontWeight} ${before.fontSize} ${before.fontFamily}`;
      for (const w of td.dataset.label.split(/[\s\u00ad\-‐/(),.:;!?·]+/)) {
        if (cut(w) && ctx2d.measureText(w).width > room + 0.5) out.push(`the word "${w}" is cut across two lines`);
      }
    }
    // The browser draws an <input type=file> in its own language ("Choose File No
    // file chosen" on a German page): ui/file_pick.mjs keeps it out of sight.
    for (const el of document.querySelectorAll('#main input[type=file], dialog[open] input[type=file]')) {
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      if (r.width > 2 && r.height > 2 && cs.visibility !== 'hidden' && !/^rect\(0(px)?,? 0/.test(cs.clip)) out.push(`${el.outerHTML.slice(0, 80)} shows the browser's own words`);
    }
    for (const tr of document.querySelectorAll('#main table thead tr, dialog[open] table thead tr')) {
      const labels = [...tr.children].map((th) => th.textContent.trim()).filter(Boolean);
      const twice = labels.filter((l, i) => labels.indexOf(l) !== i);
      if (twice.length) out.push(`a table with two columns "${twice[0]}"`);
    }
    return [...new Set(out)];
  });
}
