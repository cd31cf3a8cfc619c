/**
 * A minimal browser for driving server-rendered pages over real HTTP: a cookie jar, manual redirects, and
 * a form parser for the HTML Clavis renders (preact's escaping: &amp; &quot; &lt; &gt; &#39;).
 */
export interface Form {
  action: string;
  method: string;
  fields: Record<string, string>;
  /** Submit buttons' name=value pairs (e.g. decision=allow). */
  buttons: Array<{ name: string; value: string }>;
}

export interface Page {
  status: number;
  headers: Headers;
  url: string;
  html: string;
  location: string | null;
}

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? decodeEntities(m[1]!) : undefined;
}

export function parseForms(html: string): Form[] {
  const forms: Form[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)) {
    const open = m[1]!;
    const body = m[2]!;
    const fields: Record<string, string> = {};
    for (const i of body.matchAll(/<input\b[^>]*>/g)) {
      const name = attr(i[0], 'name');
      if (name) fields[name] = attr(i[0], 'value') ?? '';
    }
    const buttons: Form['buttons'] = [];
    for (const b of body.matchAll(/<button\b[^>]*>/g)) {
      const name = attr(b[0], 'name');
      if (name) buttons.push({ name, value: attr(b[0], 'value') ?? '' });
    }
    forms.push({
      action: attr(` ${open}`, 'action') ?? '',
      method: (attr(` ${open}`, 'method') ?? 'get').toLowerCase(),
      fields,
      buttons,
    });
  }
  return forms;
}

export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  #cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  #store(headers: Headers): void {
    for (const c of headers.getSetCookie()) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method: string, url: string, body?: Record<string, string> | string): Promise<Page> {
    const abs = new URL(url, this.base).toString();
    const headers: Record<string, string> = {};
    if (this.cookies.size) headers.cookie = this.#cookieHeader();
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(abs, {
      method,
      headers,
      redirect: 'manual',
      body:
        body === undefined
          ? undefined
          : typeof body === 'string'
            ? body
            : new URLSearchParams(body).toString(),
    });
    this.#store(res.headers);
    return {
      status: res.status,
      headers: res.headers,
      url: abs,
      html: await res.text(),
      location: res.headers.get('location'),
    };
  }

  get(url: string): Promise<Page> {
    return this.request('GET', url);
  }

  post(url: string, body: Record<string, string> | string): Promise<Page> {
    return this.request('POST', url, body);
  }

  /**
   * Follows a 303 (redirect after POST) with a GET, as a browser does; any other answer is returned as it
   * is. Failed forms answer 303 to a page that shows the failure once, with the POST's status.
   */
  async follow(page: Page): Promise<Page> {
    return page.status === 303 && page.location ? this.get(page.location) : page;
  }

  /** Submits the form whose action matches, with extra field values (and an optional button). */
  async submit(
    page: Page,
    action: string,
    values: Record<string, string> = {},
    button?: string,
  ): Promise<Page> {
    const form = parseForms(page.html).find((f) => f.action === action);
    if (!form)
      throw new Error(
        `no form with action ${action} on page (status ${page.status}): ${page.html.slice(0, 500)}`,
      );
    const fields: Record<string, string> = { ...form.fields, ...values };
    if (button) {
      const b = form.buttons.find((x) => x.value === button);
      if (!b) throw new Error(`no button ${button}`);
      fields[b.name] = b.value;
    }
    return this.post(form.action, fields);
  }
}

/**
 * Drives an authorization request through login and consent. Returns the final redirect back to the
 * client (its Location), or the last page when the flow stops at a page.
 */
export async function authorize(
  browser: Browser,
  authorizeUrl: string,
  options: { email?: string; password?: string; decision?: 'allow' | 'deny' } = {},
): Promise<{ location: string | null; page: Page; sawConsent: boolean; sawLogin: boolean }> {
  let page = await browser.get(authorizeUrl);
  let sawLogin = false;
  let sawConsent = false;
  for (let i = 0; i < 6; i++) {
    if (page.status >= 300 && page.status < 400 && page.location) {
      const loc = new URL(page.location, browser.base);
      if (loc.origin !== new URL(browser.base).origin || !loc.pathname.startsWith('/'))
        return { location: page.location, page, sawConsent, sawLogin };
      if (!loc.pathname.startsWith('/oauth/authorize') && !loc.pathname.startsWith('/login'))
        return { location: page.location, page, sawConsent, sawLogin };
      page = await browser.get(loc.toString());
      continue;
    }
    const forms = parseForms(page.html);
    if (forms.some((f) => f.action === '/login') && options.email) {
      sawLogin = true;
      page = await browser.submit(page, '/login', { email: options.email, password: options.password ?? '' });
      if (page.status !== 303) return { location: null, page, sawConsent, sawLogin };
      // A failed sign-in redirects back to the sign-in page, which shows the error (and its status) once.
      if (new URL(page.location ?? '/', browser.base).pathname === '/login')
        return { location: null, page: await browser.get(page.location!), sawConsent, sawLogin };
      continue;
    }
    if (forms.some((f) => f.action === '/oauth/authorize/decision')) {
      sawConsent = true;
      page = await browser.submit(page, '/oauth/authorize/decision', {}, options.decision ?? 'allow');
      continue;
    }
    return { location: null, page, sawConsent, sawLogin };
  }
  return { location: page.location, page, sawConsent, sawLogin };
}
