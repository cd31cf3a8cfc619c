import type { ComponentChildren } from 'preact';
import { ASSET_CSS_PATH } from './styles.js';

export interface LayoutProps {
  title: string;
  children: ComponentChildren;
  /** The signed-in user, for the top bar (email and a sign-out form); omit on public pages. */
  user?: { email: string; display_name: string } | null;
  /** CSRF token for the sign-out form (needed when `user` is set). */
  csrf?: string;
  /** A narrow, centred column (login, consent). */
  narrow?: boolean;
  /** Extra navigation links for the top bar. */
  nav?: Array<{ href: string; label: string }>;
}

/**
 * The page shell every server-rendered page uses: document head with the stylesheet, a top bar, and a main
 * region. Preact escapes every string, so callers pass plain data, never HTML.
 */
export function Layout({ title, children, user, csrf, narrow, nav }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${title} · Clavis`}</title>
        <link rel="stylesheet" href={ASSET_CSS_PATH} />
      </head>
      <body>
        <a class="skip-link" href="#main">
          Skip to content
        </a>
        <header class="topbar">
          <a class="brand" href="/">
            Clavis
          </a>
          <nav aria-label="Account">
            {(nav ?? []).map((n) => (
              <a href={n.href} key={n.href}>
                {n.label}
              </a>
            ))}
            {user ? (
              <>
                <span class="muted small">{user.email}</span>
                <form method="post" action="/logout" class="inline-form">
                  <input type="hidden" name="csrf" value={csrf ?? ''} />
                  <button type="submit" class="btn-link">
                    Sign out
                  </button>
                </form>
              </>
            ) : null}
          </nav>
        </header>
        <main id="main">
          <div class={narrow ? 'container narrow' : 'container'}>{children}</div>
        </main>
      </body>
    </html>
  );
}
