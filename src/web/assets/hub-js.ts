/**
 * The hub's only script: small enhancements over pages that work without it. Copy buttons, opening the
 * pre-rendered confirmation dialogs as modals, making server-opened dialogs modal, and replacing the URL of
 * a page that showed a one-time secret so that reloading it never re-posts the form.
 */
export const HUB_JS = `'use strict';
(function () {
  function copyText(text, button) {
    var done = function () {
      var label = button.querySelector('[data-copy-label]') || button;
      var old = label.textContent;
      label.textContent = 'Copied';
      button.classList.add('is-copied');
      setTimeout(function () { label.textContent = old; button.classList.remove('is-copied'); }, 1800);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else { fallback(text); done(); }
  }
  function fallback(text) {
    var t = document.createElement('textarea');
    t.value = text; t.setAttribute('readonly', ''); t.className = 'visually-hidden';
    document.body.appendChild(t); t.select();
    try { document.execCommand('copy'); } catch (e) {}
    document.body.removeChild(t);
  }
  document.querySelectorAll('[data-copy]').forEach(function (b) { b.hidden = false; });
  document.addEventListener('click', function (ev) {
    var el = ev.target instanceof Element ? ev.target : null;
    if (!el) return;
    var copy = el.closest('[data-copy]');
    if (copy) {
      var src = document.getElementById(copy.getAttribute('data-copy'));
      if (src) copyText(src.tagName === 'INPUT' || src.tagName === 'TEXTAREA' ? src.value.trim() : src.textContent.trim(), copy);
      ev.preventDefault();
      return;
    }
    var opener = el.closest('[data-dialog]');
    if (opener) {
      var d = document.getElementById(opener.getAttribute('data-dialog'));
      if (d && typeof d.showModal === 'function') {
        ev.preventDefault();
        d.showModal();
        var first = d.querySelector('[autofocus], input:not([type=hidden]), button');
        if (first) first.focus();
      }
      return;
    }
    var closer = el.closest('[data-dialog-close]');
    if (closer) {
      var dlg = closer.closest('dialog');
      if (dlg && dlg.hasAttribute('data-prerendered')) { ev.preventDefault(); dlg.close(); }
    }
  });
  document.addEventListener('submit', function (ev) {
    var f = ev.target;
    if (f instanceof HTMLFormElement && f.hasAttribute('data-confirm') && !window.confirm(f.getAttribute('data-confirm'))) ev.preventDefault();
  });
  document.querySelectorAll('dialog[open][data-modal]').forEach(function (d) {
    if (typeof d.showModal !== 'function') return;
    // close() queues one 'close' event of its own: skip it, act on the user's.
    var skip = true;
    d.addEventListener('close', function () {
      if (skip) { skip = false; return; }
      d.querySelectorAll('[data-secret]').forEach(function (e) { if ('value' in e) e.value = ''; e.textContent = ''; });
      var href = d.getAttribute('data-close-href');
      if (href) location.replace(href);
    });
    d.close(); d.showModal();
    var first = d.querySelector('[autofocus], input:not([type=hidden]), button, a');
    if (first) first.focus();
  });
  var replace = document.querySelector('[data-replace-url]');
  if (replace && history.replaceState) history.replaceState(null, '', replace.getAttribute('data-replace-url'));
})();
`;
