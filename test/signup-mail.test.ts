import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainOutbox } from '../src/domain/outbox.js';
import { Browser, parseForms } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startTestSmtp, type TestSmtp } from './helpers/smtp.js';
import { createUser } from './helpers/users.js';

/**
 * With mail configured: sign-up confirms the address by a single-use link and answers the same for a new
 * and a taken address; "forgot password" mails a single-use, 30-minute reset link that signs the user out
 * everywhere. A real SMTP server in the test process reads what arrives.
 */
let ts: TestServer;
let smtp: TestSmtp;
let clock = Date.now();

beforeAll(async () => {
  smtp = await startTestSmtp();
  ts = await startTestServer({
    now: () => clock,
    env: { CLAVIS_SMTP_URL: smtp.url, CLAVIS_OUTBOX_POLL_MS: '600000' },
  });
});
afterAll(async () => {
  await ts?.close();
  await smtp?.close();
});

async function mailTo(address: string) {
  await drainOutbox(ts.server.services.ctx, { kinds: ['mail'] });
  return smtp.to(address);
}

const linkIn = (text: string, path: string) => {
  const m = new RegExp(`https?://[^\\s]+${path.replace('/', '\\/')}\\?token=[A-Za-z0-9_%-]+`).exec(text);
  if (!m) throw new Error(`no ${path} link in: ${text}`);
  return m[0];
};

describe('sign-up with mail', () => {
  it('answers the same for a new and a taken address, and the link creates the account once', async () => {
    const taken = await createUser(ts, { role: 'developer' });
    const fresh = `new-${Date.now()}@example.org`;
    const answers = [];
    for (const email of [fresh, taken.email]) {
      const b = new Browser(ts.url);
      const posted = await b.submit(await b.get('/signup'), '/signup', {
        name: 'Ada <b>',
        email,
        password: 'a long password 123',
      });
      // Redirect after POST: a reload of "check your inbox" sends no second mail.
      expect(posted.status).toBe(303);
      const res = await b.follow(posted);
      answers.push({
        status: res.status,
        body: res.html.replace(email, 'EMAIL').replace(/name="csrf" value="[^"]*"/g, ''),
      });
      expect(b.cookies.has('clavis_session')).toBe(false);
    }
    expect(answers[0]?.status).toBe(200);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]?.body).toContain('Check your inbox');

    const [existsMail] = await mailTo(taken.email);
    expect(existsMail?.subject).toBe('You already have an account');
    expect(existsMail?.text).toContain('/login/forgot');

    const [verify] = await mailTo(fresh);
    expect(verify?.subject).toBe('Confirm your email address');
    expect(verify?.html).toContain('Ada &lt;b&gt;');
    const link = linkIn(verify?.text ?? '', '/signup/verify');
    // No account until the link is followed.
    const before = await ts.server.services.ctx.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', fresh)
      .execute();
    expect(before).toHaveLength(0);

    const b = new Browser(ts.url);
    const confirm = await b.get(link);
    expect(confirm.status).toBe(200);
    const created = await b.submit(confirm, '/signup/verify');
    expect(created.status).toBe(201);
    expect(created.html).toContain('Your sandbox is ready');
    const user = await ts.server.services.ctx.db
      .selectFrom('users')
      .select(['id', 'email_verified_at', 'updated_at'])
      .where('email', '=', fresh)
      .executeTakeFirstOrThrow();
    expect(user.email_verified_at).toBe(clock);
    // OIDC `updated_at` follows the profile's change (the `email_verified` claim reads email_verified_at).
    expect(user.updated_at).toBe(clock);
    // Single use: the link, opened again, says at once that it is used up, and offers no button.
    const other = new Browser(ts.url);
    const used = await other.get(link);
    expect(used.status).toBe(400);
    expect(used.html).toMatch(/not valid: it was used already/);
    expect(used.html).not.toContain('action="/signup/verify"');
    // So does a made-up one.
    const made = await other.get('/signup/verify?token=garbage');
    expect(made.status).toBe(400);
    expect(made.html).not.toContain('action="/signup/verify"');
    // A form posted from the page before it was used up is refused, and the page shows it once.
    const late = await b.post('/signup/verify', {
      token: new URL(link).searchParams.get('token') as string,
      csrf: parseForms(confirm.html).find((f) => f.action === '/signup/verify')?.fields.csrf ?? '',
    });
    expect(late.status).toBe(303);
    const shown = await b.follow(late);
    expect(shown.status).toBe(400);
    expect(shown.html).toMatch(/not valid|used|expired/i);
    // The token is stored only as a hash.
    const token = new URL(link).searchParams.get('token') as string;
    const rows = await ts.server.services.ctx.db.selectFrom('email_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token);
  });
});

describe('forgot password', () => {
  it('mails a single-use reset link that sets the password and revokes sessions; unknown addresses look the same', async () => {
    const u = await createUser(ts, { role: 'developer', password: 'the old password 1' });
    const signedIn = new Browser(ts.url);
    const login = await signedIn.submit(await signedIn.get('/login'), '/login', {
      email: u.email,
      password: 'the old password 1',
    });
    expect(login.status).toBe(303);
    expect((await signedIn.get('/apps')).status).toBe(200);

    const page = await new Browser(ts.url).get('/login');
    expect(page.html).toContain('/login/forgot');
    const answers = [];
    for (const email of [u.email, `nobody-${Date.now()}@example.org`]) {
      const b = new Browser(ts.url);
      const posted = await b.submit(await b.get('/login/forgot'), '/login/forgot', { email });
      expect(posted.status).toBe(303);
      const res = await b.follow(posted);
      answers.push({ status: res.status, body: res.html.replaceAll(email, 'EMAIL') });
    }
    expect(answers[0]?.status).toBe(200);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[0]?.body).toContain('a link to choose a new password is on its way');

    const [mail, ...more] = await mailTo(u.email);
    expect(more).toHaveLength(0);
    expect(mail?.subject).toBe('Reset your password');
    const link = linkIn(mail?.text ?? '', '/login/reset');

    const b = new Browser(ts.url);
    const form = await b.get(link);
    expect(form.status).toBe(200);
    const weakPost = await b.submit(form, '/login/reset', { password: 'short' });
    expect(weakPost.status).toBe(303);
    expect(weakPost.location).toMatch(/^\/login\/reset\?token=[^&]+&flash=/);
    const weak = await b.follow(weakPost);
    expect(weak.status).toBe(400);
    expect(weak.html).toContain('10 characters');
    expect(weak.html).not.toContain('value="short"');
    // Shown once: a reload is the plain form of a still usable link.
    const reload = await b.get(weakPost.location!);
    expect(reload.status).toBe(200);
    expect(reload.html).not.toContain('10 characters.</span>');
    expect(reload.html).not.toMatch(/class="field-error"/);
    const done = await b.submit(weak, '/login/reset', { password: 'the new password 2' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/login?reset=done');
    // Signed out everywhere; the new password works, the old does not; the link is used up.
    expect((await signedIn.get('/apps')).status).toBe(303);
    const b2 = new Browser(ts.url);
    const old = await b2.submit(await b2.get('/login'), '/login', {
      email: u.email,
      password: 'the old password 1',
    });
    expect((await b2.follow(old)).status).toBe(401);
    expect(
      (await b2.submit(await b2.get('/login'), '/login', { email: u.email, password: 'the new password 2' }))
        .status,
    ).toBe(303);
    expect((await new Browser(ts.url).get(link)).status).toBe(400);
  });

  it('redirects after the POST: a reload of "on its way" or of an error sends no mail and shows it no more', async () => {
    const u = await createUser(ts, { role: 'developer' });
    const b = new Browser(ts.url);
    const posted = await b.submit(await b.get('/login/forgot'), '/login/forgot', { email: u.email });
    expect(posted.status).toBe(303);
    expect(posted.location).toMatch(/^\/login\/forgot\?flash=/);
    expect((await b.get(posted.location!)).html).toContain('on its way');
    const reload = await b.get(posted.location!);
    expect(reload.status).toBe(200);
    expect(reload.html).not.toContain('on its way');
    expect(reload.html).toContain('action="/login/forgot"');
    expect(await mailTo(u.email)).toHaveLength(1);
    // An empty address: 400 once, then the clean form.
    const empty = await b.submit(reload, '/login/forgot', { email: '' });
    const shown = await b.follow(empty);
    expect(shown.status).toBe(400);
    expect(shown.html).toContain('Enter your email address.');
    expect((await b.get(empty.location!)).html).not.toContain('Enter your email address.');
  });

  it('a reset link expires after 30 minutes', async () => {
    const u = await createUser(ts, { role: 'developer' });
    const b = new Browser(ts.url);
    await b.submit(await b.get('/login/forgot'), '/login/forgot', { email: u.email });
    const link = linkIn((await mailTo(u.email))[0]?.text ?? '', '/login/reset');
    const form = await b.get(link);
    clock += 30 * 60_000 + 1;
    const posted = await b.submit(form, '/login/reset', { password: 'another password 3' });
    expect(posted.status).toBe(303);
    const res = await b.follow(posted);
    expect(res.status).toBe(400);
    expect(res.html).toContain('has expired');
  });
});

describe('without mail', () => {
  it('sign-up signs in at once and the reset page says mail is not configured', async () => {
    const plain = await startTestServer();
    try {
      const b = new Browser(plain.url);
      const res = await b.submit(await b.get('/signup'), '/signup', {
        name: 'No mail',
        email: `nomail-${Date.now()}@example.org`,
        password: 'a long password 123',
      });
      expect(res.status).toBe(201);
      const login = await b.get('/login/forgot');
      expect(login.html).toContain('no SMTP server is configured');
      expect((await new Browser(plain.url).get('/login')).html).not.toContain('/login/forgot');
    } finally {
      await plain.close();
    }
  });
});
