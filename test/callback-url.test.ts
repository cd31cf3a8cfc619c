import { describe, expect, it } from 'vitest';
import {
  callbackOriginKey,
  callbackUrlProblem,
  callbackUrlReviewProblem,
  originKeys,
  originMatchesCallback,
  redirectUriMatches,
} from '../src/domain/callback-url.js';

describe('registering a callback URL', () => {
  it.each([
    'https://app.example.com/cb',
    'http://127.0.0.1/cb',
    'http://[::1]:8080/cb',
    'http://localhost:3000/cb',
  ])('accepts %s', (url) => expect(callbackUrlProblem(url)).toBeNull());
  it.each([
    ['relative', '/cb'],
    ['fragment', 'https://app.example.com/cb#x'],
    ['http to a public host', 'http://app.example.com/cb'],
    ['http to localhost.evil.test', 'http://localhost.evil.test/cb'],
    ['userinfo', 'https://user:pw@app.example.com/cb'],
    ['javascript scheme', 'javascript:alert(1)'],
    ['custom scheme', 'myapp://cb'],
    ['spaces', 'https://app.example.com/a b'],
  ])('refuses %s', (_name, url) => expect(callbackUrlProblem(url)).toMatch(/./));
});

describe('submitting for review', () => {
  it('accepts a real https callback', () =>
    expect(callbackUrlReviewProblem('https://app.acme.io/oauth/cb')).toBeNull());
  it.each([
    ['http', 'http://127.0.0.1/cb', /https/],
    ['localhost', 'https://localhost/cb', /localhost/],
    ['example domain', 'https://app.example.com/cb', /example/],
    ['.test domain', 'https://app.acme.test/cb', /example or test/],
    ['IP address', 'https://203.0.113.7/cb', /IP address/],
    ['placeholder', 'https://acme.io/placeholder', /placeholder/],
    ['localhost with a trailing dot', 'https://localhost./cb', /localhost/],
    ['LOCALHOST. with a trailing dot', 'https://LOCALHOST./cb', /localhost/],
    ['example domain with a trailing dot', 'https://example.com./cb', /example/],
    ['.local with a trailing dot', 'https://printer.local./cb', /localhost/],
  ])('refuses %s and says why', (_name, url, why) => expect(callbackUrlReviewProblem(url)).toMatch(why));
});

describe('redirect_uri matching', () => {
  const registered = 'https://app.example/cb';
  it('matches the registered string exactly', () =>
    expect(redirectUriMatches(registered, registered)).toBe(true));
  it.each([
    'https://app.example/cb/',
    'https://app.example/CB',
    'HTTPS://app.example/cb',
    'https://app.example/cb?x=1',
    'https://app.example/cb/../x',
    'https://app.example/cb/%2e%2e/x',
    'https://app.example/cb/..;/x',
    'https://app.example:443/cb',
    'https://app.example.evil/cb',
    'https://app.example@evil/cb',
    'https://www%2eapp%2eexample%2fcb%2f:y@evil.test/',
  ])('rejects %s', (uri) => expect(redirectUriMatches(registered, uri)).toBe(false));

  it('lets loopback IP callbacks vary only in port (RFC 8252 §7.3)', () => {
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:49152/cb')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1:8080/cb', 'http://127.0.0.1:9090/cb')).toBe(true);
    expect(redirectUriMatches('http://[::1]/cb', 'http://[::1]:5000/cb')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:80/cb')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1:80/cb', 'http://127.0.0.1/cb')).toBe(true);
    expect(redirectUriMatches('http://[::1]/cb', 'http://[::1]:50000/cb')).toBe(true);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:0/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:65536/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:49152/cb2')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:49152/CB')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:49152/cb?x=1')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://[::1]:49152/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'https://127.0.0.1:49152/cb')).toBe(false);
    expect(redirectUriMatches('http://localhost/cb', 'http://localhost:49152/cb')).toBe(false);
    expect(redirectUriMatches('http://localhost/cb', 'http://localhost.evil.test/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1.evil.test:80/cb')).toBe(false);
  });
});

describe('loopback ports with leading zeros (RFC 8252 §7.3, RFC 9700 §4.1.3)', () => {
  it.each([
    'http://127.0.0.1:01234/cb',
    'http://[::1]:08080/cb',
    'http://localhost:0080/cb',
    'https://app.example.com:0443/cb',
    'http://127.0.0.1:0/cb',
    'http://127.0.0.1:/cb',
  ])('refuses to register %s', (url) => expect(callbackUrlProblem(url)).toMatch(/port/));

  it('still registers plain ports', () => {
    expect(callbackUrlProblem('http://127.0.0.1:1234/cb')).toBeNull();
    expect(callbackUrlProblem('http://[::1]:65535/cb')).toBeNull();
    expect(callbackUrlProblem('https://app.example.com:8443/cb')).toBeNull();
    expect(callbackUrlProblem('https://user@app.example.com/cb')).toMatch(/user name/);
  });

  it('does not match a requested loopback port with a leading zero', () => {
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:01234/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1:1234/cb', 'http://127.0.0.1:01234/cb')).toBe(false);
    expect(redirectUriMatches('http://[::1]/cb', 'http://[::1]:00080/cb')).toBe(false);
    expect(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:1234/cb')).toBe(true);
  });
});

describe("the origin of an app's pages (CORS): one key for callbacks and origins alike", () => {
  it("is the callback's origin as a browser writes it", () => {
    expect(callbackOriginKey('https://SPA.Example.com/cb')).toBe('https://spa.example.com');
    expect(callbackOriginKey('https://spa.example.com:443/cb')).toBe('https://spa.example.com');
    expect(callbackOriginKey('https://bücher.example.com/cb')).toBe('https://xn--bcher-kva.example.com');
    expect(callbackOriginKey('https://spa.example.com:8443/cb')).toBe('https://spa.example.com:8443');
    expect(callbackOriginKey('com.example.app:/cb')).toBeNull();
    expect(callbackOriginKey('not a url')).toBeNull();
  });

  it('is any port for a loopback IP callback, as for redirects; other spellings of it are exact', () => {
    expect(callbackOriginKey('http://127.0.0.1/cb')).toBe('http://127.0.0.1:*');
    expect(callbackOriginKey('http://127.0.0.1:8080/cb')).toBe('http://127.0.0.1:*');
    expect(callbackOriginKey('http://[::1]/cb')).toBe('http://[::1]:*');
    expect(callbackOriginKey('http://127.1:6000/cb')).toBe('http://127.0.0.1:6000');
    expect(callbackOriginKey('http://localhost:3000/cb')).toBe('http://localhost:3000');
    expect(originMatchesCallback('http://127.0.0.1/cb', 'http://127.0.0.1:5173')).toBe(true);
    expect(originMatchesCallback('http://127.1:6000/cb', 'http://127.0.0.1:5173')).toBe(false);
    expect(originMatchesCallback('http://127.1:6000/cb', 'http://127.0.0.1:6000')).toBe(true);
    expect(originMatchesCallback('http://localhost:3000/cb', 'http://localhost:5173')).toBe(false);
  });

  it('takes only a serialised http(s) origin from a page', () => {
    expect(originKeys('https://spa.example.com')).toEqual(['https://spa.example.com']);
    expect(originKeys('http://127.0.0.1:5173')).toEqual(['http://127.0.0.1:5173', 'http://127.0.0.1:*']);
    for (const bad of [
      'null',
      '',
      'https://spa.example.com/',
      'https://spa.example.com/cb',
      'HTTPS://spa.example.com',
      'https://SPA.example.com',
      'https://spa.example.com:443',
      'https://user@spa.example.com',
      'file:///etc/passwd',
      'chrome-extension://abc',
    ])
      expect(originKeys(bad), bad).toEqual([]);
    expect(originMatchesCallback('https://spa.example.com/cb', 'https://spa.example.com.evil.net')).toBe(
      false,
    );
    expect(originMatchesCallback('https://bücher.example.com/cb', 'https://xn--bcher-kva.example.com')).toBe(
      true,
    );
  });
});
