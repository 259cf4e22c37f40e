// Who is signed in, the current measurement group and the unread count, with
// change events: on('user' | 'group' | 'unread' | 'signin', fn) → unsubscribe.
const state = { user: null, groupId: null, groups: [], unread: 0 };
const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
  return () => listeners.get(event).delete(fn);
}
export function emit(event, value) {
  for (const fn of [...(listeners.get(event) || [])]) fn(value);
}

export const session = state;
export const isAdmin = () => !!(state.user && state.user.role === 'admin');
export const plan = () => (state.user && state.user.account &&
  (state.user.account.effective_plan || state.user.account.plan)) || null;

export function setUser(user) { state.user = user; emit('user', user); }
export function setGroup(id) { state.groupId = id; emit('group', id); }
export function setUnread(n) { state.unread = n; emit('unread', n); }
