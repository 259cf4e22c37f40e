// Help and about (#/help): how data gets into Metron, the offline viewer,
// the version of this portal (vendor/version.json, written by the build)
// and of the API, the supported-instrument table (I4: GET
// /instrument-models, with the minimum firmware per kind of app), and the
// API reference (OpenAPI as JSON) and the gateway protocol (docs/ingest.md),
// made by scripts/portal-references.mjs.
import { registerPage } from '../router.mjs';
import { t, joinList } from '../i18n.mjs';
import { api, errorMessage, API_BASE } from '../api.mjs';
import { asset } from '../config.mjs';
import { h, fill } from '../ui/dom.mjs';
import { pageHead } from '../ui/crud.mjs';
import { table } from '../ui/table.mjs';

/** The build's version file, or null (a portal folder not filled by the build). */
async function version() {
  try {
    const r = await fetch(new URL('../../vendor/version.json', import.meta.url), { cache: 'no-store' });
    return r.ok ? await r.json() : null;
  } catch {
    return null;
  }
}

const kinds = (m) => joinList(m.apps.map((k) => t(`app_kind.${k}`)));

registerPage('help', {
  title: 'nav.help',
  async render(container) {
    const models = h('div', { 'data-testid': 'help-models' }, h('p', { class: 'muted', text: t('common.loading') }));
    const about = h('dl', { class: 'kv', 'data-testid': 'help-about' });
    fill(container, pageHead(t('help.title')),
      h('div', { class: 'grid-2' },
        h('section', { class: 'panel' }, h('h2', { text: t('help.start_title') }),
          h('ol', { class: 'steps' },
            h('li', {}, t('help.step_app'), ' ', h('a', { href: '#/admin/apps', text: t('nav.admin_apps') })),
            h('li', {}, t('help.step_device'), ' ', h('a', { href: '#/admin/devices', text: t('nav.admin_devices') })),
            h('li', {}, t('help.step_channels'), ' ', h('a', { href: '#/admin/channels', text: t('nav.admin_channels') })),
            h('li', { text: t('help.step_gateway') }),
            h('li', {}, t('help.step_monitor'), ' ', h('a', { href: '#/monitor', text: t('nav.monitor') }))),
          h('p', { text: t('help.import') }),
          h('p', {}, t('help.offline'), ' ',
            h('a', { href: 'offline.html', target: '_blank', rel: 'noopener', class: 'nobr', 'data-testid': 'help-offline', text: t('nav.offline') }))),
        h('section', { class: 'panel' }, h('h2', { text: t('help.about_title') }), about,
          h('h3', { text: t('help.references') }),
          h('ul', { class: 'links' },
            h('li', {}, h('a', { href: asset('vendor/docs/openapi.json'), download: 'metron-openapi.json', 'data-testid': 'help-openapi',
              text: t('help.openapi') })),
            h('li', {}, h('a', { href: asset('vendor/docs/ingest.html'), target: '_blank', rel: 'noopener', 'data-testid': 'help-ingest',
              text: t('help.ingest_doc') }))),
          h('p', { class: 'help', text: t('help.references_note') }))),
      h('section', { class: 'panel' }, h('h2', { text: t('help.models_title') }),
        h('p', { class: 'muted', text: t('help.models_intro') }), models));

    const [v, health, m] = await Promise.all([version(), api.get('/health', { quiet401: true }), api.get('/instrument-models')]);
    const row = (k, val, testid) => [h('dt', { text: k }), h('dd', { 'data-testid': testid, text: val })];
    fill(about,
      row(t('help.version'), v && v.version ? (v.commit ? t('help.version_commit', { version: v.version, commit: v.commit })
        : v.version) : t('help.version_unknown'), 'help-version'),
      row(t('help.api'), t('help.api_value', { base: API_BASE }), 'help-api'),
      row(t('help.server'), health.status === 200 ? t('help.server_ok') : t('help.server_down'), 'help-server'));
    if (m.status !== 200) {
      fill(models, h('p', { class: 'form-error', text: errorMessage(m.body, m.status) }));
      return;
    }
    const fw = (x) => x || t('help.fw_any');
    fill(models, table([
      { label: t('field.model'), value: (x) => h('strong', { text: x.model }) },
      { label: t('help.col_apps'), value: kinds },
      { label: t('help.col_fw'), value: (x) => (x.apps.some((k) => k !== 'lr8450-direct') ? fw(x.min_firmware) : null) },
      { label: t('help.col_fw_direct'), value: (x) => (x.apps.includes('lr8450-direct') ? fw(x.min_firmware_direct) : null) },
      { label: t('help.col_console'), value: (x) => t(x.console ? 'common.yes' : 'common.no') },
    ], m.body.items || [], { across: true }));
  },
});
