import { type Permission } from '../auth/session';

export interface NavItem {
  readonly to: string;
  readonly label: string;
  /** Shown only to users with this permission; the api refuses the page's calls to anyone else anyway. */
  readonly requires?: Permission;
}

/** The console's sections, in menu order. Their first path segments are the api's CONSOLE_SECTIONS. */
export const NAV_ITEMS: readonly NavItem[] = [
  { to: '/', label: 'Dashboard', requires: 'device.view' },
  { to: '/devices', label: 'Devices', requires: 'device.view' },
  { to: '/users', label: 'Users', requires: 'user.view' },
  { to: '/groups', label: 'Groups', requires: 'user.view' },
  { to: '/strategies', label: 'Strategies', requires: 'strategy.manage' },
  { to: '/keys', label: 'API keys' },
  { to: '/tokens', label: 'Registration tokens', requires: 'registration_token.manage' },
  { to: '/relay-ip-lists', label: 'Relay IP lists', requires: 'relay_ip_list.manage' },
  { to: '/audit', label: 'Audit', requires: 'audit.view' },
  { to: '/settings', label: 'Settings', requires: 'setting.view' },
  { to: '/account', label: 'My account' },
];
