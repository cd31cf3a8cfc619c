/**
 * The design system's base stylesheet, served at {@link ASSET_CSS_PATH}. No inline styles anywhere (the page
 * CSP is `style-src 'self'`). Light and dark themes follow the system setting; colours meet WCAG AA contrast.
 */
export const ASSET_CSS_PATH = '/assets/app.css';

export const APP_CSS = `
:root {
  --bg: #f6f7f9; --surface: #ffffff; --text: #1a1d23; --muted: #5b6270; --border: #d9dde3;
  --primary: #2f54d1; --primary-hover: #2443ad; --primary-text: #ffffff;
  --danger: #b3261e; --danger-bg: #fdecea; --ok: #1d6b3a; --ok-bg: #e6f4ea; --warn: #7a4d00; --warn-bg: #fff4e0;
  --focus: #7aa2ff; --radius: 10px; --shadow: 0 1px 2px rgba(16,24,40,.06), 0 4px 16px rgba(16,24,40,.06);
  --font: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #101216; --surface: #181b21; --text: #e8eaef; --muted: #a3aab8; --border: #2c313a;
    --primary: #6d8dff; --primary-hover: #8aa3ff; --primary-text: #0b0d12;
    --danger: #ffb4ab; --danger-bg: #3b1512; --ok: #8fd9a8; --ok-bg: #12301f; --warn: #ffd08a; --warn-bg: #35260b;
    --shadow: none;
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--bg); color: var(--text); font: 16px/1.5 var(--font); }
a { color: var(--primary); text-underline-offset: 2px; }
a:hover { color: var(--primary-hover); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip-link { position: absolute; left: -9999px; top: 0; }
.skip-link:focus { left: 1rem; top: 1rem; background: var(--surface); padding: .5rem 1rem; z-index: 10; }
.topbar { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: .75rem 1.25rem;
  background: var(--surface); border-bottom: 1px solid var(--border); }
.brand { font-weight: 700; letter-spacing: .02em; color: var(--text); text-decoration: none; }
.topbar nav { display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; }
.topbar form { margin: 0; }
main { padding: 2rem 1rem 4rem; }
.container { max-width: 960px; margin: 0 auto; }
.container.narrow { max-width: 440px; }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
  box-shadow: var(--shadow); padding: 1.5rem; }
.card + .card { margin-top: 1rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .75rem; }
h2 { font-size: 1.15rem; margin: 1.25rem 0 .5rem; }
p { margin: 0 0 1rem; }
.muted { color: var(--muted); }
.small { font-size: .875rem; }
.field { display: flex; flex-direction: column; gap: .35rem; margin-bottom: 1rem; }
label { font-weight: 600; font-size: .95rem; }
input[type=text], input[type=email], input[type=password], input[type=url], select, textarea {
  font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--border); border-radius: 8px;
  padding: .6rem .75rem; width: 100%; }
input:focus-visible, select:focus-visible, textarea:focus-visible { border-color: var(--primary); }
.actions { display: flex; gap: .75rem; flex-wrap: wrap; margin-top: 1.25rem; }
.btn { display: inline-flex; align-items: center; justify-content: center; gap: .4rem; font: inherit; font-weight: 600;
  border-radius: 8px; border: 1px solid var(--border); background: var(--surface); color: var(--text);
  padding: .6rem 1.1rem; cursor: pointer; text-decoration: none; min-height: 44px; }
.btn:hover { border-color: var(--muted); }
.btn-primary { background: var(--primary); border-color: var(--primary); color: var(--primary-text); }
.btn-primary:hover { background: var(--primary-hover); border-color: var(--primary-hover); color: var(--primary-text); }
.btn-danger { color: var(--danger); border-color: var(--danger); }
.btn-link { border: 0; background: none; color: var(--primary); padding: 0; min-height: 0; font-weight: 500;
  text-decoration: underline; }
.btn-block { width: 100%; }
.alert { border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; border: 1px solid transparent; }
.alert-error { background: var(--danger-bg); color: var(--danger); border-color: var(--danger); }
.alert-ok { background: var(--ok-bg); color: var(--ok); }
.alert-warn { background: var(--warn-bg); color: var(--warn); }
.badge { display: inline-block; border-radius: 999px; padding: .1rem .6rem; font-size: .8rem; font-weight: 600;
  border: 1px solid var(--border); }
.badge-ok { background: var(--ok-bg); color: var(--ok); border-color: transparent; }
.badge-warn { background: var(--warn-bg); color: var(--warn); border-color: transparent; }
.app-head { display: flex; align-items: center; gap: .9rem; margin-bottom: 1rem; }
.app-icon { flex: none; width: 48px; height: 48px; border-radius: 12px; display: grid; place-items: center;
  background: var(--primary); color: var(--primary-text); font-weight: 700; font-size: 1.25rem; }
.scope-list { list-style: none; padding: 0; margin: 0 0 1rem; border: 1px solid var(--border); border-radius: 8px; }
.scope-list li { padding: .7rem .9rem; border-top: 1px solid var(--border); }
.scope-list li:first-child { border-top: 0; }
.scope-list code, code { font-family: var(--mono); font-size: .85em; color: var(--muted); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .65rem .5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
.table-wrap { overflow-x: auto; }
.inline-form { display: inline; margin: 0; }
@media (max-width: 600px) {
  main { padding: 1rem .75rem 3rem; }
  .card { padding: 1.1rem; }
  .actions .btn { flex: 1 1 100%; }
  th.hide-sm, td.hide-sm { display: none; }
}
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
`;
