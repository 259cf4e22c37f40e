// The drive's view of a file that is not an instrument file (a report's PDF,
// XLSX or CSV; the link of a report mail opens the report's folder with it,
// docs/reports.md, "The mail"): what it is, its size and time, and its
// download, instead of a chart that cannot be drawn.
import { t, formatDateTime, formatBytes } from '../i18n.mjs';
import { apiUrl } from '../api.mjs';
import { h } from '../ui/dom.mjs';

function kindOf(f) {
  const n = String(f.name || '').toLowerCase();
  if (f.content_type === 'application/pdf' || n.endsWith('.pdf')) return 'drivefile.kind_pdf';
  if (/spreadsheetml/.test(f.content_type || '') || n.endsWith('.xlsx')) return 'drivefile.kind_xlsx';
  if (f.content_type === 'text/csv' || n.endsWith('.csv')) return 'drivefile.kind_csv';
  return 'drivefile.kind_other';
}

/** The view of drive file "f" (GET /drive/files/{id}), for under the panel's head. */
export function otherFileView(f) {
  return h('div', { class: 'df-view', 'data-testid': 'drive-file-other' },
    h('p', { class: 'df-facts', 'data-testid': 'drive-file-facts', text: t('drivefile.facts', { kind: t(kindOf(f)), size: formatBytes(f.size),  // i18n-keys: drivefile.kind_*
      time: formatDateTime(f.updated_at) }) }),
    h('p', { class: 'muted', text: t('drivefile.not_viewable') }),
    h('div', { class: 'form-buttons' }, h('a', { class: 'button primary', href: apiUrl(`/drive/files/${f.id}/content`), download: f.name,
      'data-testid': 'drive-file-download', text: t('reports.download') })));
}
