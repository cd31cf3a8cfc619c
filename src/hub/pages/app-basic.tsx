import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  type App,
  type AppChange,
  changeNeedsNewReview,
  deleteApp,
  getAppForActor,
  previewAppUpdate,
  submitApp,
  submitProblem,
  updateApp,
  withdrawPendingChange,
} from '../../domain/apps.js';
import { callbackUrlReviewProblem } from '../../domain/callback-url.js';
import type { Services } from '../../services.js';
import { sendPage } from '../../web/render.js';
import { type FormErrors, type Hub, seeOther, toFormErrors } from '../context.js';
import { hubAction, hubPage } from '../route.js';
import { Alert, Choices, Csrf, Dialog, Field } from '../ui/components.js';
import { PendingChangeBox, ReviewConfirm } from './app-review-confirm.js';
import { AppParams, AppShell, appPath } from './app-shell.js';

export interface BasicValues {
  name: string;
  description: string;
  callback_url: string;
  visibility: string;
}

export const VISIBILITY_OPTIONS = [
  {
    value: 'private',
    label: 'Private',
    description: 'Only users of your tenant can use it. Works at once, no review.',
  },
  {
    value: 'public',
    label: 'Public',
    description: 'Users of any tenant can authorize it once Clavis has approved it.',
  },
];

export const CALLBACK_HINT =
  'Clavis allows exactly one callback URL per app. While the app is a draft a placeholder such as http://localhost:3000/callback is fine; before you submit a public app, change it to your real https address.';

interface BasicTabProps {
  hub: Hub;
  app: App;
  values?: BasicValues;
  errors?: FormErrors;
  submitError?: string;
  notice?: string;
  /** Render the delete confirmation open (the no-JS path: `?confirm=delete`). */
  confirmDelete?: boolean;
  /** A change that sends the app back to review, awaiting the owner's confirmation. */
  confirmChange?: { change: AppChange; values: BasicValues };
}

const NOTICES: Record<string, string> = {
  saved: 'Changes saved.',
  'review-required':
    'Changes saved. The app is back to Draft: submit it for approval again so users of other tenants can authorize it.',
  'change-pending':
    'Changes saved. The change awaits review; the approved version stays live until it is approved.',
  'change-withdrawn': 'The change was withdrawn. The approved version is unchanged.',
  submitted: 'Submitted for approval. An administrator will review the app; you will see the outcome here.',
};

function SubmitCard({ hub, app, submitError }: BasicTabProps) {
  if (app.visibility !== 'public')
    return (
      <section class="card">
        <h2>Approval</h2>
        <p class="muted">
          Private apps need no approval: users of {hub.tenant.name} can authorize this app now.
        </p>
      </section>
    );
  const canSubmit = app.status === 'draft' || app.status === 'rejected';
  const problem = callbackUrlReviewProblem(app.callback_url);
  return (
    <section class="card" aria-labelledby="submit-title">
      <h2 id="submit-title">Submit for approval</h2>
      {app.status === 'in_review' ? (
        <Alert kind="info">
          The app is in review. Users of other tenants can authorize it once it is approved.
        </Alert>
      ) : app.status === 'approved' ? (
        <Alert kind="ok">Approved: users of every tenant can authorize this app.</Alert>
      ) : (
        <>
          <p class="section-note">
            Public apps are reviewed before users of other tenants can authorize them. The callback URL must
            use https and be your app's real address: not a placeholder, localhost or an example domain.
          </p>
          {submitError ? (
            <Alert kind="error">
              <strong>Cannot submit yet.</strong> {submitError}
            </Alert>
          ) : problem && canSubmit ? (
            <p class="hint">Before you submit: {problem}</p>
          ) : null}
          <form method="post" action={`${appPath(app)}/submit`}>
            <Csrf token={hub.csrf} />
            <button type="submit" class="btn btn-primary" disabled={!canSubmit}>
              Submit for approval
            </button>
          </form>
        </>
      )}
    </section>
  );
}

export function BasicTab(p: BasicTabProps) {
  const { hub, app } = p;
  // While a change awaits review the form shows it, so saving another field keeps the pending change.
  const pending = app.pending_change?.values;
  const v = p.values ?? {
    name: pending?.name ?? app.name,
    description: app.description,
    callback_url: pending?.callback_url ?? app.callback_url,
    visibility: pending?.visibility ?? app.visibility,
  };
  const e = p.errors ?? { fields: {} };
  return (
    <AppShell hub={hub} app={app} tab="" title="Basic info">
      {p.notice ? <Alert kind="ok">{p.notice}</Alert> : null}
      {app.status === 'draft' && app.review_note ? (
        <Alert kind="warn">
          <strong>Needs review again.</strong> {app.review_note}
        </Alert>
      ) : null}
      <PendingChangeBox hub={hub} app={app} />
      {p.confirmChange ? (
        <ReviewConfirm
          hub={hub}
          app={app}
          change={p.confirmChange.change}
          action={appPath(app)}
          cancelHref={appPath(app)}
          fields={Object.entries(p.confirmChange.values)}
        />
      ) : null}
      {app.status === 'rejected' && app.review_note ? (
        <Alert kind="error">
          <strong>The reviewer rejected this app:</strong> {app.review_note}
          <div>Fix what they asked for, save, and submit it again.</div>
        </Alert>
      ) : null}
      <section class="card" aria-labelledby="basic-title">
        <h2 id="basic-title">Basic info</h2>
        <form method="post" action={appPath(app)} novalidate>
          <Csrf token={hub.csrf} />
          {e.form ? <Alert kind="error">{e.form}</Alert> : null}
          <Field name="name" label="App name" value={v.name} error={e.fields.name} required />
          <Field
            name="description"
            label="Description"
            value={v.description}
            error={e.fields.description}
            textarea
          />
          <Field
            name="callback_url"
            label="OAuth callback URL"
            type="url"
            value={v.callback_url}
            error={e.fields.callback_url}
            hint={CALLBACK_HINT}
            required
          />
          <Choices
            name="visibility"
            legend="Visibility"
            row
            options={VISIBILITY_OPTIONS}
            selected={[v.visibility]}
            error={e.fields.visibility}
          />
          {app.visibility === 'public' && app.status === 'approved' ? (
            <p class="hint">
              Changing the callback URL or visibility of an approved app sends it back for review.
            </p>
          ) : null}
          <button type="submit" class="btn btn-primary">
            Save
          </button>
        </form>
      </section>
      <SubmitCard {...p} />
      <section class="card" aria-labelledby="danger-title">
        <h2 id="danger-title">Delete app</h2>
        <p class="section-note">
          Deleting revokes every client secret and ends every user's access. The client_id is never reused.
        </p>
        <a class="btn btn-danger" href={`${appPath(app)}?confirm=delete`} data-dialog="delete-app">
          Delete this app
        </a>
      </section>
      <Dialog
        id="delete-app"
        title={`Delete ${app.name}?`}
        open={!!p.confirmDelete}
        closeHref={appPath(app)}
        role="alertdialog"
      >
        <p>
          Its client secrets stop working and every user loses access <strong>at once</strong>. The app's
          client_id is never reused. This cannot be undone.
        </p>
        <form method="post" action={`${appPath(app)}/delete`}>
          <Csrf token={hub.csrf} />
          <input type="hidden" name="confirm" value="yes" />
          <div class="actions">
            <a class="btn" href={appPath(app)} data-dialog-close>
              Cancel
            </a>
            <button type="submit" class="btn btn-danger-solid">
              Delete app
            </button>
          </div>
        </form>
      </Dialog>
    </AppShell>
  );
}

function send(reply: FastifyReply, status: number, p: BasicTabProps) {
  return sendPage(reply, status, BasicTab(p));
}

export async function basicTabRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const ctx = services.ctx;
  const onApp = { params: AppParams, what: 'app' };
  hubPage(app, services, '/apps/:id', onApp, async ({ hub, params: { id }, query: q, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    return send(reply, 200, {
      hub,
      app: a,
      notice: q.notice ? NOTICES[q.notice] : undefined,
      // A failed submit redirects here; the reason is the app's current one (none if it was fixed since).
      submitError: q.error === 'submit' ? submitProblem(a)?.message : undefined,
      confirmDelete: q.confirm === 'delete',
    });
  });

  hubAction(app, services, '/apps/:id', onApp, async ({ hub, params: { id }, form, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    const values: BasicValues = {
      name: form.get('name'),
      description: form.get('description'),
      callback_url: form.get('callback_url'),
      visibility: form.get('visibility'),
    };
    const patch = {
      name: values.name,
      description: values.description,
      callback_url: values.callback_url,
      visibility: values.visibility as App['visibility'],
    };
    try {
      if (form.get('confirm') !== 'yes') {
        const change = await previewAppUpdate(ctx, hub.actor, a.id, patch);
        if (changeNeedsNewReview(a, change))
          return send(reply, 200, { hub, app: a, values, confirmChange: { change, values } });
      }
      const saved = await updateApp(ctx, hub.actor, a.id, patch);
      const notice =
        saved.status === 'draft' && a.status !== 'draft'
          ? 'review-required'
          : saved.pending_change && saved.pending_change.requested_at !== a.pending_change?.requested_at
            ? 'change-pending'
            : 'saved';
      return seeOther(reply, `${appPath(a)}?notice=${notice}`);
    } catch (e) {
      const errors = toFormErrors(e, ['name', 'description', 'callback_url', 'visibility']);
      return send(reply, 400, { hub, app: a, values, errors });
    }
  });

  hubAction(app, services, '/apps/:id/submit', onApp, async ({ hub, params: { id }, reply }) => {
    const a = await getAppForActor(ctx, hub.actor, id);
    try {
      await submitApp(ctx, hub.actor, a.id);
      return seeOther(reply, `${appPath(a)}?notice=submitted`);
    } catch (e) {
      toFormErrors(e, []); // rethrows anything but a domain refusal
      // Redirect after POST, failure included: a reload must not post again.
      return seeOther(reply, `${appPath(a)}?error=submit`);
    }
  });

  hubAction(
    app,
    services,
    '/apps/:id/pending-change/withdraw',
    onApp,
    async ({ hub, params: { id }, reply }) => {
      const a = await getAppForActor(ctx, hub.actor, id);
      // Nothing pending (withdrawn already, or approved meanwhile): the page shows the app as it is.
      if (!a.pending_change) return seeOther(reply, appPath(a));
      await withdrawPendingChange(ctx, hub.actor, a.id);
      return seeOther(reply, `${appPath(a)}?notice=change-withdrawn`);
    },
  );

  hubAction(app, services, '/apps/:id/delete', onApp, async ({ hub, params: { id }, form, reply }) => {
    // Only the confirmation dialog's form says yes; any other post is sent to the confirmation first.
    if (form.get('confirm') !== 'yes') {
      const a = await getAppForActor(ctx, hub.actor, id);
      return seeOther(reply, `${appPath(a)}?confirm=delete`);
    }
    await deleteApp(ctx, hub.actor, id);
    return seeOther(reply, '/apps?notice=deleted');
  });
}
