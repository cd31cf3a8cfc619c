/** The hub's main navigation for a signed-in user, by role (shared by every page that uses the layout). */
export interface NavItem {
  href: string;
  label: string;
}

export function hubNav(role: string | undefined): NavItem[] {
  const items: NavItem[] = [];
  if (role === 'admin' || role === 'developer') items.push({ href: '/apps', label: 'Apps' });
  if (role === 'admin') items.push({ href: '/apis', label: 'APIs' }, { href: '/admin', label: 'Admin' });
  items.push({ href: '/account/connected-apps', label: 'Connected apps' });
  return items;
}
