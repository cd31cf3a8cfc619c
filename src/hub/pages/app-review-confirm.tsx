import type { App, AppChange } from '../../domain/apps.js';
import { reviewRequiredNote } from '../../domain/apps.js';
import type { Hub } from '../context.js';
import { Alert, Csrf } from '../ui/components.js';

/**
 * The confirmation step before saving a change that sends a reviewed public app back to review: the POST
 * answers this section instead of saving; its form carries the change again with `confirm=yes`. Works
 * without JavaScript.
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
  const state = app.status === 'approved' ? 'approved' : 'in review';
  return (
    <section class="card" aria-labelledby="review-confirm-title">
      <h2 id="review-confirm-title">This change sends the app back to review</h2>
      <Alert kind="warn">
        <strong>
          {app.name} is {state}.
        </strong>{' '}
        {reviewRequiredNote(p.change)} If you save, the app goes back to Draft.
      </Alert>
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
            Save and send back to review
          </button>
        </div>
      </form>
    </section>
  );
}
