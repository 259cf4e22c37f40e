// Inquiries of the whole account (G5; administrators).
import { registerPage } from '../../router.mjs';
import { t } from '../../i18n.mjs';
import { inquiriesPage } from '../inquiries.mjs';

registerPage('admin/inquiries', {
  title: 'nav.admin_inquiries',
  admin: true,
  render(container) { return inquiriesPage(container, t('nav.admin_inquiries')).ready; },
});
