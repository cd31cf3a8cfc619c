import { describePendingChange } from '../../domain/app-pending-change.js';
import type { App, AppChange } from '../../domain/apps.js';
import { reviewedChangeSummary, reviewRequiredNote } from '../../domain/apps.js';
import type { Hub } from '../context.js';
import { Alert, Csrf } from '../ui/components.js';
import { appPath } from './app-shell.js';

/**
 * The confirmation step before saving a change that needs review again: the POST answers this section
 * instead of saving; its form carries the change again with `confirm=yes`. On an approved app the change
 * waits for review while the approved version stays live; on an app in review it goes back to Draft.
 * Works without JavaScript.
 */
export function ReviewConfirm(p: {
  hub: Hub;
  app: App;
  change: AppChange;
  /** Where the confirmed form posts (the same action that asked). */
  action: string;
  /** Where Cancel goes (the tab, unchanged). */
  cancelHref: string;
  /** The submitted form's fields, posted again on Confirm. */
  fields: Array<[string, string]>;
}) {
  const { app } = p;
  const approved = app.status === 'approved';
  return (
    <section class="card" aria-labelledby="review-confirm-title">
      <h2 id="review-confirm-title">
        {approved ? 'This change needs review' : 'This change sends the app back to review'}
      </h2>
      {approved ? (
        <Alert kind="warn">
          <strong>{app.name} is approved.</strong> Changed after review: {reviewedChangeSummary(p.change)}. If
          you save, the change awaits a reviewer's approval; the approved version stays live for every
          tenant's users until the change is approved. You can withdraw the change while it waits.
        </Alert>
      ) : (
        <Alert kind="warn">
          <strong>{app.name} is in review.</strong> {reviewRequiredNote(p.change)} If you save, the app goes
          back to Draft.
        </Alert>
      )}
      <form method="post" action={p.action}>
        <Csrf token={p.hub.csrf} />
        {p.fields.map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <input type="hidden" name="confirm" value="yes" />
        <div class="actions">
          <a class="btn" href={p.cancelHref}>
            Cancel
          </a>
          <button type="submit" class="btn btn-danger-solid">
            {approved ? 'Save and send the change for review' : 'Save and send back to review'}
          </button>
        </div>
      </form>
    </section>
  );
}

/**
 * An approved app's change awaiting review, with a Withdraw button (POST, redirected), and the reason a
 * reviewer gave for not approving the last one.
 */
export function PendingChangeBox({ hub, app }: { hub: Hub; app: App }) {
  const change = app.pending_change;
  if (!change)
    return app.status === 'approved' && app.review_note ? (
      <Alert kind="error">
        <strong>The reviewer did not approve your change:</strong> {app.review_note}
        <div>The approved version is still live.</div>
      </Alert>
    ) : null;
  return (
    <section class="card" aria-labelledby="pending-change-title">
      <h2 id="pending-change-title">Change awaiting review</h2>
      <Alert kind="info">
        Changed: {describePendingChange(change)}. The approved version stays live until a reviewer approves
        the change.
      </Alert>
      <form method="post" action={`${appPath(app)}/pending-change/withdraw`}>
        <Csrf token={hub.csrf} />
        <button type="submit" class="btn">
          Withdraw change
        </button>
      </form>
    </section>
  );
}
