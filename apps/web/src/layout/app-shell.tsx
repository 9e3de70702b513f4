import { useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';

import { useSignedIn, useSignOut } from '../auth/session';
import { LiveStatus } from '../live/live-status';
import { NAV_ITEMS } from './navigation';

/**
 * The signed-in frame: a side menu on a desktop, a menu button on a phone; the page in <main>. The
 * skip link and landmarks let a keyboard or screen-reader user go straight to the content.
 */
export function AppShell() {
  const me = useSignedIn();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const location = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const items = NAV_ITEMS.filter(
    (item) => item.requires === undefined || me.permissions.includes(item.requires),
  );
  const [lastPath, setLastPath] = useState(location.pathname);
  if (lastPath !== location.pathname) {
    // A phone's menu closes once a place was chosen.
    setLastPath(location.pathname);
    setMenuOpen(false);
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="side-menu"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <span className="brand">Switchboard</span>
        <LiveStatus />
        <span className="whoami">
          {me.username} <span className="role">{me.role}</span>
        </span>
        <button
          type="button"
          className="button-small"
          onClick={() => void signOut().then(() => navigate('/sign-in', { replace: true }))}
        >
          Sign out
        </button>
      </header>
      <nav id="side-menu" className={menuOpen ? 'sidebar open' : 'sidebar'} aria-label="Main">
        <ul>
          {items.map((item) => (
            <li key={item.to}>
              <NavLink to={item.to} end={item.to === '/'}>
                {item.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
