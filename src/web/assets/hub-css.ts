/**
 * The hub's stylesheet, layered on the design system's base (src/web/styles.ts) and using its colour
 * variables, so light and dark themes and AA contrast carry over. No inline styles anywhere (CSP).
 */
export const HUB_CSS = `
:root { --surface-2: #f0f2f6; --primary-soft: #e8edfc; --row-hover: #f8f9fb; --info: #1f4fb8; --info-bg: #e8effd; }
@media (prefers-color-scheme: dark) {
  :root { --surface-2: #20242c; --primary-soft: #1c2542; --row-hover: #1d2128; --info: #a9c1ff; --info-bg: #17213d; }
}
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.topbar { position: sticky; top: 0; z-index: 5; padding: .6rem 1.25rem; min-height: 60px; }
.topbar .brand { display: inline-flex; align-items: center; gap: .55rem; font-size: 1.05rem; }
.brand-mark { width: 28px; height: 28px; border-radius: 8px; background: var(--primary); color: var(--primary-text);
  display: grid; place-items: center; font-size: .9rem; font-weight: 800; }
.topbar nav a.nav-link { color: var(--muted); text-decoration: none; font-weight: 600; font-size: .95rem;
  padding: .45rem .7rem; border-radius: 8px; }
.topbar nav a.nav-link:hover { color: var(--text); background: var(--surface-2); }
.topbar nav a.nav-link[aria-current=page] { color: var(--primary); background: var(--primary-soft); }
.topbar nav { margin-left: auto; }
.topbar .user-chip { display: inline-flex; align-items: center; gap: .5rem; padding-left: .75rem;
  border-left: 1px solid var(--border); }
.topbar > .brand + .user-chip { margin-left: auto; border-left: 0; }
.container.wide { max-width: 1120px; }
.page-head { display: flex; align-items: flex-end; justify-content: space-between; gap: 1rem; flex-wrap: wrap;
  margin-bottom: 1.25rem; }
.page-head h1 { margin: 0; }
.page-head p { margin: .25rem 0 0; }
.page-head .actions { margin-top: 0; }
.crumbs { font-size: .875rem; color: var(--muted); margin-bottom: .35rem; }
.crumbs a { color: var(--muted); }
.tabs { display: flex; gap: .25rem; border-bottom: 1px solid var(--border); margin-bottom: 1.25rem; overflow-x: auto; }
.tabs a { padding: .65rem .9rem; color: var(--muted); text-decoration: none; font-weight: 600; white-space: nowrap;
  border-bottom: 3px solid transparent; margin-bottom: -1px; }
.tabs a:hover { color: var(--text); }
.tabs a[aria-current=page] { color: var(--primary); border-bottom-color: var(--primary); }
.card h2:first-child, .card form > input[type=hidden] + h2 { margin-top: 0; }
.card-head { display: flex; justify-content: space-between; align-items: center; gap: 1rem; flex-wrap: wrap;
  margin-bottom: .75rem; }
.card-head h2 { margin: 0; }
.section-note { color: var(--muted); font-size: .9rem; margin: -.25rem 0 1rem; }
.grid-2 { display: grid; grid-template-columns: 1fr 1fr; gap: 0 1rem; }
.hint { color: var(--muted); font-size: .85rem; font-weight: 400; }
.field-error { color: var(--danger); font-size: .875rem; font-weight: 600; }
[aria-invalid=true] { border-color: var(--danger) !important; }
input[type=date], input[type=number], input[type=search] { font: inherit; color: inherit; background: var(--bg);
  border: 1px solid var(--border); border-radius: 8px; padding: .6rem .75rem; width: 100%; }
textarea { min-height: 5.5rem; resize: vertical; }
fieldset { border: 1px solid var(--border); border-radius: 8px; padding: .75rem 1rem 1rem; margin: 0 0 1rem; }
legend { font-weight: 600; font-size: .95rem; padding: 0 .35rem; }
fieldset.field { display: block; }
.choice { display: flex; gap: .6rem; align-items: flex-start; padding: .55rem .25rem; font-weight: 400; }
.choice input { margin-top: .3rem; width: 1.05rem; height: 1.05rem; accent-color: var(--primary); flex: none; }
.choice strong { display: block; }
.choice-row { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: .5rem; }
.choice-row .choice { border: 1px solid var(--border); border-radius: 8px; padding: .65rem .75rem; }
.btn-sm { min-height: 34px; padding: .3rem .7rem; font-size: .875rem; }
.btn-ghost { background: transparent; border-color: transparent; }
.btn-ghost:hover { background: var(--surface-2); border-color: transparent; }
.btn-danger-solid { background: var(--danger); border-color: var(--danger); color: #fff; }
@media (prefers-color-scheme: dark) { .btn-danger-solid { color: #1a0b0a; } }
.btn.is-copied { border-color: var(--ok); color: var(--ok); }
.badge-info { background: var(--info-bg); color: var(--info); border-color: transparent; }
.badge-danger { background: var(--danger-bg); color: var(--danger); border-color: transparent; }
.badge-muted { background: var(--surface-2); color: var(--muted); border-color: transparent; }
.mono, .id-value { font-family: var(--mono); font-size: .88rem; word-break: break-all; }
.alert-info { background: var(--info-bg); color: var(--info); border-color: var(--info); }
.copy-id { display: inline-flex; align-items: center; gap: .4rem; max-width: 100%; vertical-align: middle; }
.copy-id .btn { flex: none; }
.id-chip { display: block; min-width: 0; max-width: 34ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
  font-family: var(--mono); font-size: .84rem; color: var(--text); background: var(--surface-2);
  border-radius: 6px; padding: .15rem .45rem; }
.secrets-table .id-chip { max-width: 20ch; }
.cell-sub.block { display: block; }
td .mono { color: var(--text); }
table.data tbody tr:hover { background: var(--row-hover); }
table.data td { vertical-align: middle; }
table.data td.actions-cell { text-align: right; white-space: nowrap; }
.cell-sub { color: var(--muted); font-size: .82rem; }
.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: flex-end; margin-bottom: 1rem; }
.filters .field { margin: 0; flex: 1 1 160px; }
.filters .field.grow { flex: 3 1 240px; }
.filters label { font-size: .8rem; color: var(--muted); }
.empty { text-align: center; padding: 2.5rem 1rem; color: var(--muted); }
.empty strong { display: block; color: var(--text); font-size: 1.05rem; margin-bottom: .35rem; }
.id-list { display: grid; gap: .75rem; }
.id-row { display: grid; grid-template-columns: 180px 1fr auto; gap: .25rem 1rem; align-items: center;
  padding: .85rem 1rem; border: 1px solid var(--border); border-radius: 10px; background: var(--bg); }
.id-row.primary-id { border-color: var(--primary); background: var(--primary-soft); }
.id-row .id-label { font-weight: 700; }
.id-row .id-label small { display: block; font-weight: 400; color: var(--muted); font-size: .8rem; }
.id-row .id-value { font-size: .92rem; }
.id-row .id-help { grid-column: 2 / 4; color: var(--muted); font-size: .85rem; }
.secret-hint { font-family: var(--mono); letter-spacing: .04em; }
.status-line { display: flex; gap: .5rem; flex-wrap: wrap; align-items: center; margin-top: .4rem; }
dialog.modal { border: 1px solid var(--border); border-radius: 14px; padding: 0; width: min(560px, calc(100vw - 1.5rem));
  background: var(--surface); color: var(--text); box-shadow: 0 24px 64px rgba(16,24,40,.25); }
dialog.modal[open]:not(:modal) { position: fixed; inset: 0; margin: auto; z-index: 20; max-height: calc(100vh - 2rem);
  overflow: auto; box-shadow: 0 0 0 100vmax rgba(15,18,25,.55), 0 24px 64px rgba(16,24,40,.25); }
dialog.modal::backdrop { background: rgba(15,18,25,.55); }
.modal-body { padding: 1.35rem 1.5rem 1.5rem; }
.modal-body h2 { margin-top: 0; font-size: 1.25rem; }
.modal-body .actions { justify-content: flex-end; }
.secret-box { display: flex; gap: .5rem; align-items: stretch; margin: .75rem 0 1rem; }
.secret-box input { font-family: var(--mono) !important; font-size: .92rem !important; background: var(--surface-2) !important; }
.secret-box textarea.secret-value { flex: 1 1 auto; min-width: 0; min-height: 0; resize: none; field-sizing: content;
  font-family: var(--mono); font-size: .92rem; line-height: 1.45; background: var(--surface-2);
  overflow-wrap: anywhere; word-break: break-all; white-space: pre-wrap; }
.kv { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0 0 1rem; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; }
.audit-list { list-style: none; margin: 0; padding: 0; }
.audit-list li { display: grid; grid-template-columns: 12px minmax(0, 1fr) auto; gap: .9rem; padding: .8rem 0;
  border-bottom: 1px solid var(--border); }
.audit-list li > div { min-width: 0; overflow-wrap: anywhere; }
.audit-list li:last-child { border-bottom: 0; }
.audit-dot { width: 10px; height: 10px; border-radius: 50%; background: var(--primary); margin-top: .45rem; }
.audit-dot.dot-secret { background: var(--warn); }
.audit-dot.dot-danger { background: var(--danger); }
.audit-list time { color: var(--muted); font-size: .85rem; white-space: nowrap; }
.auth-hero { text-align: center; margin-bottom: 1.25rem; }
.auth-hero h1 { margin-bottom: .35rem; }
.auth-switch { text-align: center; margin-top: 1rem; font-size: .95rem; }
.steps { margin: 0; padding-left: 1.2rem; }
.steps li { margin-bottom: .35rem; }
.review-item { display: flex; justify-content: space-between; gap: 1rem; flex-wrap: wrap; }
.review-item + .review-item { border-top: 1px solid var(--border); padding-top: 1rem; margin-top: 1rem; }
.review-item h3 { margin: 0 0 .5rem; font-size: 1.1rem; }
.review-actions { display: flex; flex-direction: column; gap: .75rem; width: min(340px, 100%); }
.review-actions form { display: flex; flex-direction: column; align-items: stretch; gap: .25rem; }
.review-actions .field { margin-bottom: .35rem; }
.review-actions textarea { min-height: 4rem; }
.scope-chips { display: flex; flex-wrap: wrap; gap: .25rem; }
.scope-chip { white-space: nowrap; font-family: var(--mono); font-size: .8rem; background: var(--surface-2);
  border-radius: 6px; padding: .1rem .4rem; }
.apis-table .badge { white-space: nowrap; }
.plain-list { list-style: none; margin: 0; padding: 0; }
.plain-list li + li { margin-top: .25rem; }
.label-text { font-weight: 600; font-size: .95rem; }
.scopes-table input[type=text] { width: 100%; min-width: 8rem; }
.scopes-table .choice { padding: 0; }
.permission + .permission { border-top: 1px solid var(--border); padding-top: 1rem; margin-top: 1rem; }
.permission h3 { margin: 0 0 .2rem; font-size: 1.05rem; }
.permission .actions { margin-top: .75rem; }
.request-scopes { margin-top: 1rem; }
.danger-zone h2 { color: var(--danger); }
.inline-fields { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
.inline-fields select { width: auto; padding: .35rem .5rem; }
@media (max-width: 760px) {
  .topbar { flex-wrap: wrap; gap: .4rem; padding: .5rem .75rem; }
  /* Brand and "Sign out" share the first row; the section links get a row of their own. */
  .topbar .user-chip { order: 2; border-left: 0; padding-left: 0; margin-left: auto; }
  .topbar nav { order: 3; gap: .25rem; width: 100%; margin-left: 0; }
  .topbar .user-email { display: none; }
  .grid-2 { grid-template-columns: 1fr; }
  .id-row { grid-template-columns: 1fr auto; }
  .id-row .id-label { grid-column: 1 / 3; }
  .id-row .id-help { grid-column: 1 / 3; }
  /* On narrow screens the identifier gets a full-width monospace block of its own (no mid-string wrap beside
     the Copy button); the button sits under it. */
  .id-row { grid-template-columns: 1fr; }
  .id-row .id-label, .id-row .id-help, .id-row .id-value { grid-column: 1; }
  .id-row .id-value { display: block; padding: .45rem .6rem; border: 1px solid var(--border); border-radius: 6px;
    background: var(--surface); overflow-wrap: anywhere; word-break: normal; line-height: 1.5; }
  .id-row .btn { justify-self: start; }
  table.data .hide-md { display: none; }
  .page-head .actions { width: 100%; }
  .page-head .actions .btn { flex: 1 1 auto; }
}
@media (max-width: 600px) {
  table.stack thead { display: none; }
  table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
  table.stack tr { border-bottom: 1px solid var(--border); padding: .6rem 0; }
  table.stack td { border: 0; padding: .2rem 0; }
  table.stack td[data-label]::before { content: attr(data-label); display: block; color: var(--muted);
    font-size: .75rem; font-weight: 600; text-transform: uppercase; letter-spacing: .04em; }
  table.data td.actions-cell { text-align: left; }
  .copy-id { display: flex; }
  .id-chip, .secrets-table .id-chip { max-width: none; flex: 0 1 auto; }
  .secret-box { flex-direction: column; }
  /* Tabs wrap onto a second line rather than being clipped. */
  .tabs { flex-wrap: wrap; overflow-x: visible; border-bottom: 0; gap: .4rem; }
  .tabs a { border: 1px solid var(--border); border-radius: 999px; padding: .4rem .85rem; margin-bottom: 0;
    white-space: normal; }
  .tabs a[aria-current=page] { background: var(--primary-soft); border-color: var(--primary); }
  .audit-list li { grid-template-columns: 12px minmax(0, 1fr); }
  .audit-list li time { grid-column: 2; margin-top: -.6rem; }
  dialog.modal .actions .btn { flex: 1 1 100%; }
}
`;
