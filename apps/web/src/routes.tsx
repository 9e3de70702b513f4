import { createBrowserRouter, Link, useRouteError } from 'react-router';

import { ChangePasswordPage } from './auth/change-password-page';
import { RequireSession } from './auth/require-session';
import { SignInPage } from './auth/sign-in-page';
import { AppShell } from './layout/app-shell';
import { ErrorNotice } from './ui/error-notice';

// Each page is its own chunk, loaded when first visited: the first load carries only the shell and
// the sign-in (the size budget is checked in apps/e2e/src/console/bundle-size.e2e-spec.ts).

function RouteError() {
  return (
    <div className="content">
      <ErrorNotice error={useRouteError()} title="This page failed" />
      <Link to="/">Back to the dashboard</Link>
    </div>
  );
}

function Loading() {
  return (
    <p className="muted" role="status">
      Loading…
    </p>
  );
}

function NotFound() {
  return (
    <div className="content">
      <h1>Not found</h1>
      <p>
        There is no page at this address. <Link to="/">Back to the dashboard</Link>
      </p>
    </div>
  );
}

export const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  {
    path: '/change-password',
    element: (
      <RequireSession allowPendingPassword>
        <ChangePasswordPage />
      </RequireSession>
    ),
  },
  {
    path: '/',
    element: (
      <RequireSession>
        <AppShell />
      </RequireSession>
    ),
    errorElement: <RouteError />,
    HydrateFallback: Loading,
    children: [
      {
        index: true,
        lazy: async () => ({ Component: (await import('./pages/dashboard/dashboard-page')).DashboardPage }),
      },
      {
        path: 'devices',
        lazy: async () => ({ Component: (await import('./pages/devices/devices-page')).DevicesPage }),
      },
      {
        path: 'devices/:id',
        lazy: async () => ({ Component: (await import('./pages/devices/device-page')).DevicePage }),
      },
      {
        path: 'users',
        lazy: async () => ({ Component: (await import('./pages/users/users-page')).UsersPage }),
      },
      {
        path: 'groups',
        lazy: async () => ({ Component: (await import('./pages/groups/groups-page')).GroupsPage }),
      },
      {
        path: 'strategies',
        lazy: async () => ({
          Component: (await import('./pages/strategies/strategies-page')).StrategiesPage,
        }),
      },
      {
        path: 'keys',
        lazy: async () => ({ Component: (await import('./pages/api-keys/api-keys-page')).ApiKeysPage }),
      },
      {
        path: 'tokens',
        lazy: async () => ({ Component: (await import('./pages/tokens/tokens-page')).TokensPage }),
      },
      {
        path: 'relay-ip-lists',
        lazy: async () => ({
          Component: (await import('./pages/relay-ip-lists/relay-ip-lists-page')).RelayIpListsPage,
        }),
      },
      {
        path: 'audit',
        lazy: async () => ({ Component: (await import('./pages/audit/audit-page')).AuditPage }),
      },
      {
        path: 'settings',
        lazy: async () => ({ Component: (await import('./pages/settings/settings-page')).SettingsPage }),
      },
      {
        path: 'account',
        lazy: async () => ({ Component: (await import('./pages/account/account-page')).AccountPage }),
      },
      { path: '*', element: <NotFound /> },
    ],
  },
]);
