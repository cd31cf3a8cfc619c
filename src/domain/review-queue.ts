import { type App, listApps } from './apps.js';
import type { Actor, DomainContext } from './context.js';
import { tenantNames, userEmails } from './display-names.js';

/** A public app waiting for a platform admin's review, with the names the reviewer needs. */
export interface ReviewItem {
  app: App;
  /** The owning tenant's name (its id if the tenant is gone). */
  tenantName: string;
  /** The owner's email, null when the app has no owner or the owner was deleted. */
  ownerEmail: string | null;
}

/**
 * The review queue: apps in review, then approved apps with a change awaiting review (`app.pending_change`),
 * that `actor` may see (listApps decides which), at most 200 of each.
 */
export async function reviewQueue(ctx: DomainContext, actor: Actor): Promise<ReviewItem[]> {
  const inReview = await listApps(ctx, actor, { status: 'in_review', limit: 200 });
  const changes = await listApps(ctx, actor, { status: 'approved', pendingChange: true, limit: 200 });
  const items = [...inReview.items, ...changes.items];
  const tenants = await tenantNames(
    ctx,
    items.map((a) => a.tenant_id),
  );
  const owners = await userEmails(
    ctx,
    items.map((a) => a.owner_user_id).filter((x): x is string => !!x),
  );
  return items.map((a) => ({
    app: a,
    tenantName: tenants.get(a.tenant_id) ?? a.tenant_id,
    ownerEmail: (a.owner_user_id && owners.get(a.owner_user_id)) || null,
  }));
}
