import type { ComponentChildren } from 'preact';
import type { AppStatus } from '../../domain/apps.js';
import { SECRET_EXPIRING_WITHIN_MS, type SecretStatus } from '../../domain/secret-status.js';
import { formatDate, formatDateTime } from '../../web/date-format.js';

export const DAY_MS = 86_400_000;

export function DateText({ at, withTime }: { at: number | null; withTime?: boolean }) {
  if (at === null) return <span class="muted">—</span>;
  return <time dateTime={new Date(at).toISOString()}>{withTime ? formatDateTime(at) : formatDate(at)}</time>;
}

/** The CSRF field every form carries. */
export function Csrf({ token }: { token: string }) {
  return <input type="hidden" name="csrf" value={token} />;
}

export function Alert({
  kind,
  children,
}: {
  kind: 'ok' | 'error' | 'warn' | 'info';
  children: ComponentChildren;
}) {
  return (
    <div class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export interface FieldProps {
  name: string;
  label: string;
  value?: string;
  error?: string;
  hint?: ComponentChildren;
  type?: 'text' | 'email' | 'password' | 'url' | 'date' | 'number' | 'search';
  required?: boolean;
  autocomplete?: string;
  placeholder?: string;
  autofocus?: boolean;
  textarea?: boolean;
  id?: string;
  min?: string;
  max?: string;
}

/** A labelled input with its hint and field-level error wired up for screen readers. */
export function Field(p: FieldProps) {
  const id = p.id ?? `f-${p.name}`;
  const described = [p.hint ? `${id}-hint` : '', p.error ? `${id}-error` : ''].filter(Boolean).join(' ');
  const common = {
    id,
    name: p.name,
    required: p.required,
    'aria-invalid': p.error ? ('true' as const) : undefined,
    'aria-describedby': described || undefined,
    autofocus: p.autofocus,
    placeholder: p.placeholder,
  };
  return (
    <div class="field">
      <label for={id}>
        {p.label}
        {p.required ? null : <span class="hint"> (optional)</span>}
      </label>
      {p.textarea ? (
        <textarea {...common}>{p.value ?? ''}</textarea>
      ) : (
        <input
          {...common}
          type={(p.type ?? 'text') as 'text'}
          value={p.value ?? ''}
          autocomplete={p.autocomplete}
          min={p.min}
          max={p.max}
        />
      )}
      {p.hint ? (
        <span id={`${id}-hint`} class="hint">
          {p.hint}
        </span>
      ) : null}
      {p.error ? (
        <span id={`${id}-error`} class="field-error">
          {p.error}
        </span>
      ) : null}
    </div>
  );
}

export interface ChoiceOption {
  value: string;
  label: string;
  description?: string;
}

/** A group of radio buttons or checkboxes in a fieldset with a legend, with its error. */
export function Choices(p: {
  name: string;
  legend: string;
  options: ChoiceOption[];
  selected: string[];
  type?: 'radio' | 'checkbox';
  error?: string;
  hint?: string;
  row?: boolean;
}) {
  const id = `f-${p.name}`;
  return (
    <fieldset class="field" aria-describedby={p.error ? `${id}-error` : undefined}>
      <legend>{p.legend}</legend>
      {p.hint ? <p class="hint">{p.hint}</p> : null}
      <div class={p.row ? 'choice-row' : undefined}>
        {p.options.map((o) => (
          <label class="choice" key={o.value}>
            <input
              type={p.type ?? 'radio'}
              name={p.name}
              value={o.value}
              checked={p.selected.includes(o.value)}
              aria-invalid={p.error ? 'true' : undefined}
            />
            <span>
              <strong>{o.label}</strong>
              {o.description ? <span class="hint">{o.description}</span> : null}
            </span>
          </label>
        ))}
      </div>
      {p.error ? (
        <span id={`${id}-error`} class="field-error">
          {p.error}
        </span>
      ) : null}
    </fieldset>
  );
}

export function Select(p: {
  name: string;
  label: string;
  options: Array<{ value: string; label: string }>;
  value: string;
  error?: string;
  id?: string;
  hideLabel?: boolean;
}) {
  const id = p.id ?? `f-${p.name}`;
  return (
    <div class="field">
      <label for={id} class={p.hideLabel ? 'visually-hidden' : undefined}>
        {p.label}
      </label>
      <select id={id} name={p.name} aria-invalid={p.error ? 'true' : undefined}>
        {p.options.map((o) => (
          <option value={o.value} selected={o.value === p.value} key={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {p.error ? <span class="field-error">{p.error}</span> : null}
    </div>
  );
}

/** A copy button for the element with id `target`; hidden until the script runs (it needs JS). */
export function CopyButton({ target, label }: { target: string; label: string }) {
  return (
    <button type="button" class="btn btn-sm" data-copy={target} hidden>
      <span data-copy-label>Copy</span>
      <span class="visually-hidden"> {label}</span>
    </button>
  );
}

/**
 * An identifier with its copy button: one unbroken monospace line, cut with an ellipsis when the column is
 * narrow, and the button always beside it. The full value stays in the text (copied, read aloud, in the title).
 */
export function CopyableId({ id, value, label }: { id: string; value: string; label: string }) {
  return (
    <span class="copy-id">
      <code class="id-chip" id={id} title={value}>
        {value}
      </code>
      <CopyButton target={id} label={label} />
    </span>
  );
}

/**
 * A control that opens a dialog: a button in a GET form, so it is announced as a button. The script opens
 * the pre-rendered dialog; without it, the form loads the page with that dialog open.
 */
export function DialogButton(p: {
  action: string;
  query: Record<string, string>;
  dialog: string;
  class: string;
  children: ComponentChildren;
}) {
  return (
    <form method="get" action={p.action} class="inline-form">
      {Object.entries(p.query).map(([name, value]) => (
        <input type="hidden" name={name} value={value} key={name} />
      ))}
      <button type="submit" class={p.class} data-dialog={p.dialog}>
        {p.children}
      </button>
    </form>
  );
}

const STATUS: Record<AppStatus, { label: string; cls: string }> = {
  draft: { label: 'Draft', cls: 'badge-muted' },
  in_review: { label: 'In review', cls: 'badge-info' },
  approved: { label: 'Approved', cls: 'badge-ok' },
  rejected: { label: 'Rejected', cls: 'badge-danger' },
  disabled: { label: 'Disabled', cls: 'badge-danger' },
};

/**
 * The app's status, in the same word the API's `status` uses. A private draft is usable in its tenant
 * (private apps need no review), and says so beside the badge.
 */
export function StatusBadge({ status, visibility }: { status: AppStatus; visibility: string }) {
  const s = STATUS[status];
  return (
    <>
      <span class={`badge ${s.cls}`}>{s.label}</span>
      {visibility === 'private' && status === 'draft' ? (
        <span class="hint status-note"> usable in your tenant without review</span>
      ) : null}
    </>
  );
}

export function VisibilityBadge({ visibility }: { visibility: string }) {
  return <span class="badge">{visibility === 'public' ? 'Public' : 'Private'}</span>;
}

/** Expiry warnings: expired, or expiring within the window where a secret's status reads "Expiring". */
export function expiryState(expiresAt: number | null, now: number): 'expired' | 'soon' | null {
  if (expiresAt === null) return null;
  if (expiresAt <= now) return 'expired';
  if (expiresAt - now <= SECRET_EXPIRING_WITHIN_MS) return 'soon';
  return null;
}

/** "in 12 days": how long until `at`, in whole days (at least one). */
export function ExpiresIn({ at, now }: { at: number; now: number }) {
  const days = Math.max(1, Math.ceil((at - now) / DAY_MS));
  return <>in {days === 1 ? '1 day' : `${days} days`}</>;
}

const SECRET_STATUS: Record<SecretStatus, { label: string; cls: string }> = {
  active: { label: 'Active', cls: 'badge-ok' },
  expiring: { label: 'Expiring', cls: 'badge-warn' },
  replaced: { label: 'Replaced', cls: 'badge-muted' },
  revoked: { label: 'Revoked', cls: 'badge-muted' },
  expired: { label: 'Expired', cls: 'badge-danger' },
};

/** A client secret's status (the domain's `secretStatus`), one word per state. */
export function SecretStatusBadge({ status }: { status: SecretStatus }) {
  const s = SECRET_STATUS[status];
  return <span class={`badge ${s.cls}`}>{s.label}</span>;
}

export interface TabDef {
  href: string;
  label: string;
}

export function Tabs({ tabs, current, label }: { tabs: TabDef[]; current: string; label: string }) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((t) => (
        <a href={t.href} key={t.href} aria-current={t.href === current ? 'page' : undefined}>
          {t.label}
        </a>
      ))}
    </nav>
  );
}

/**
 * A dialog. `open` renders it open on the server (the no-JS path, and one-time values); otherwise it is
 * pre-rendered closed and the script opens it as a modal from a `data-dialog` link.
 */
export function Dialog(p: {
  id: string;
  title: string;
  open?: boolean;
  /** Where closing the dialog goes (a plain page without the dialog). */
  closeHref?: string;
  children: ComponentChildren;
  role?: 'dialog' | 'alertdialog';
}) {
  return (
    <dialog
      id={p.id}
      class="modal"
      open={p.open}
      data-modal={p.open ? '' : undefined}
      data-prerendered={p.open ? undefined : ''}
      data-close-href={p.open ? p.closeHref : undefined}
      aria-labelledby={`${p.id}-title`}
      role={p.role === 'alertdialog' ? 'alertdialog' : undefined}
    >
      <div class="modal-body">
        <h2 id={`${p.id}-title`}>{p.title}</h2>
        {p.children}
      </div>
    </dialog>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}
