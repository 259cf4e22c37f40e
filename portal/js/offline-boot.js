// Starts the offline viewer (offline.html): the classic-script bundle when
// the build made one (it is the only way from file:// in Chromium), else
// the ES modules (any web server; also forced with ?esm).
(function () {
  'use strict';
  var bundle = window.__metronOfflineBundle;
  if (bundle && !/[?&]esm(&|=|$)/.test(location.search)) {
    bundle.start();
    return;
  }
  var s = document.createElement('script');
  s.type = 'module';
  s.src = 'js/offline.mjs';
  document.head.appendChild(s);
})();
