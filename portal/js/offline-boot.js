// Starts the offline viewer (offline.html): the classic-script bundle when
// the build made one (it is the only way from file:// in Chromium), else
// the ES modules (any web server; also forced with ?esm), found next to this
// script wherever the portal's files are (a release folder, a sub-path).
(function () {
  'use strict';
  var bundle = window.__metronOfflineBundle;
  if (bundle && !/[?&]esm(&|=|$)/.test(location.search)) {
    bundle.start();
    return;
  }
  var s = document.createElement('script');
  s.type = 'module';
  var me = document.currentScript && document.currentScript.src;
  s.src = me ? new URL('offline.mjs', me).href : 'js/offline.mjs';
  document.head.appendChild(s);
})();
