import type { ComponentChildren } from 'preact';
import { Layout } from '../../web/layout.js';
import type { Hub } from '../context.js';

export interface HubPageProps {
  hub: Hub;
  title: string;
  /** The nav section: '/apps', '/admin' or '/account/connected-apps'. */
  active?: string;
  children: ComponentChildren;
  narrow?: boolean;
}

/** Every signed-in hub page: the shared layout with the hub's navigation, script and wide column. */
export function HubPage({ hub, title, active, children, narrow }: HubPageProps) {
  return (
    <Layout
      title={title}
      user={hub.user}
      csrf={hub.csrf}
      active={active}
      wide={!narrow}
      narrow={narrow}
      enhance
    >
      {children}
    </Layout>
  );
}

export interface HubMessageProps {
  hub: Hub;
  title: string;
  message: string;
  link?: { href: string; label: string };
}

/** A plain message page (404, 403, expired form) inside the hub's chrome. */
export function HubMessage({ hub, title, message, link }: HubMessageProps) {
  return (
    <HubPage hub={hub} title={title}>
      <div class="card">
        <h1>{title}</h1>
        <p class="muted">{message}</p>
        {link ? (
          <a class="btn" href={link.href}>
            {link.label}
          </a>
        ) : null}
      </div>
    </HubPage>
  );
}
