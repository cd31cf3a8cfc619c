import type { ComponentChildren } from 'preact';
import { HUB_CSS_PATH, HUB_JS_PATH } from './assets/index.js';
import { hubNav } from './nav.js';
import { ASSET_CSS_PATH } from './styles.js';

export interface LayoutProps {
  title: string;
  children: ComponentChildren;
  /** The signed-in user, for the top bar (email and a sign-out form); omit on public pages. */
  user?: { email: string; display_name: string; role?: string } | null;
  /** CSRF token for the sign-out form (needed when `user` is set). */
  csrf?: string;
  /** A narrow, centred column (login, consent). */
  narrow?: boolean;
  /** Extra navigation links for the top bar. */
  nav?: Array<{ href: string; label: string }>;
  /** The nav link (href) of the current section, marked `aria-current="page"`. */
  active?: string;
  /** A wider column (the developer hub's tables). */
  wide?: boolean;
  /** Load the hub's small script (copy buttons, dialogs). Pages work without it. */
  enhance?: boolean;
}

/**
 * The page shell every server-rendered page uses: document head with the stylesheet, a top bar, and a main
 * region. Preact escapes every string, so callers pass plain data, never HTML.
 */
export function Layout({ title, children, user, csrf, narrow, nav, active, wide, enhance }: LayoutProps) {
  // Signed-in pages get the hub's navigation by role, except focused flows (sign-in, consent).
  const links = nav ?? (user && !narrow ? hubNav(user.role) : []);
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · Clavis`}</title>
        <link rel="stylesheet" href={ASSET_CSS_PATH} />
        <link rel="stylesheet" href={HUB_CSS_PATH} />
        {enhance ? <script src={HUB_JS_PATH} defer /> : null}
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="topbar">
          <a class="brand" href="/">
            <span class="brand-mark" aria-hidden="true">
              C
            </span>
            Clavis
          </a>
          {links.length > 0 ? (
            <nav aria-label="Main">
              {links.map((n) => (
                <a
                  href={n.href}
                  key={n.href}
                  class="nav-link"
                  aria-current={active && n.href === active ? 'page' : undefined}
                >
                  {n.label}
                </a>
              ))}
            </nav>
          ) : null}
          {user ? (
            <span class="user-chip">
              <span class="muted small user-email">{user.email}</span>
              <form method="post" action="/logout" class="inline-form">
                <input type="hidden" name="csrf" value={csrf ?? ''} />
                <button type="submit" class="btn-link">
                  Sign out
                </button>
              </form>
            </span>
          ) : null}
        </header>
        <main id="main">
          <div class={narrow ? 'container narrow' : wide ? 'container wide' : 'container'}>{children}</div>
        </main>
      </body>
    </html>
  );
}
