// Notifications (N1): the list with an unread/all filter, mark one read,
// mark all read; the header's badge follows the unread count.
import { registerPage, navigate } from '../router.mjs';
import { t, formatDateTime, formatNumber } from '../i18n.mjs';
import { api, errorMessage } from '../api.mjs';
import { setUnread } from '../session.mjs';
import { h, fill } from '../ui/dom.mjs';
import { pageHead, reportReply } from '../ui/crud.mjs';
import { kindPill, notificationLinks, titleOf, retellAlarms, noticeBody } from '../alarms/notices.mjs';

const PAGE = 20;

registerPage('notifications', {
  title: 'nav.notifications',
  async render(container, params) {
    const filter = params.filter === 'unread' ? 'unread' : 'all';
    const offset = Math.max(0, Number(params.offset) || 0);
    const r = await api.get(`/notifications?filter=${filter}&limit=${PAGE}&offset=${offset}`);
    const seg = h('div', { class: 'segmented', role: 'group', 'aria-label': t('notif.filter') },
      ['unread', 'all'].map((f) => h('button', { type: 'button', 'data-filter': f, 'aria-pressed': String(f === filter),
        text: t(`notif.${f}`), onclick: () => navigate('notifications', { filter: f }) })));
    const markAll = h('button', { type: 'button', 'data-testid': 'mark-all-read', text: t('notif.mark_all'),
      onclick: async () => {
        const m = await api.post('/notifications/read-all', {});
        if (reportReply(m, t('notif.marked', { n: formatNumber(m.body && m.body.marked || 0) }))) {
          setUnread(m.body.unread || 0);
          navigate('notifications', { filter });
        }
      } });
    if (r.status !== 200) {
      fill(container, pageHead(t('nav.notifications'), seg), h('p', { class: 'form-error', text: errorMessage(r.body, r.status) }));
      return;
    }
    const { items, total, unread } = r.body;
    setUnread(unread);
    markAll.disabled = !unread;
    const list = items.length ? h('ul', { class: 'notif-list' }, items.map((n) => {
      const body = noticeBody(n);
      const li = h('li', { class: ['panel', 'notif-item', !n.read && 'unread'], 'data-id': String(n.id) },
        h('div', { class: 'panel-head' },
          h('h3', {}, !n.read ? h('span', { class: 'pill accent', text: t('notif.new') }) : null, ' ', kindPill(n), titleOf(n)),
          h('span', { class: 'muted small-text', text: formatDateTime(n.created_at) })),
        body ? h('p', { class: 'notif-body', text: body }) : null,
        notificationLinks(n),
        !n.read ? h('button', { type: 'button', class: 'small', 'data-testid': 'mark-read', text: t('notif.mark_read'),
          onclick: async () => {
            const m = await api.post(`/notifications/${n.id}/read`, {});
            if (reportReply(m)) { setUnread(m.body.unread || 0); navigate('notifications', { filter, offset }); }
          } }) : null);
      return li;
    })) : h('p', { class: 'empty', text: t(filter === 'unread' ? 'notif.none_unread' : 'notif.none') });
    const pager = total > PAGE ? h('div', { class: 'page-tools' },
      offset > 0 ? h('button', { type: 'button', text: t('common.previous'), onclick: () => navigate('notifications', { filter, offset: Math.max(0, offset - PAGE) }) }) : null,
      h('span', { class: 'muted', text: t('common.range', { from: formatNumber(offset + 1), to: formatNumber(Math.min(total, offset + PAGE)), total: formatNumber(total) }) }),
      offset + PAGE < total ? h('button', { type: 'button', text: t('common.next'), onclick: () => navigate('notifications', { filter, offset: offset + PAGE }) }) : null) : null;
    fill(container, pageHead(t('nav.notifications'), seg, markAll),
      h('p', { class: 'muted', 'data-testid': 'unread-summary', text: t('notif.summary', { unread: formatNumber(unread) }) }),
      list, pager);
    if (items.length) await retellAlarms(list, items);
  },
});
