import { describe, expect, it } from 'vitest';
import { presentedCredentials } from '../../src/oauth/client-auth.js';
import { InvalidClient, InvalidRequest } from '../../src/oauth/errors.js';
import { parseParams } from '../../src/oauth/form.js';

const basic = (raw: string) => `Basic ${Buffer.from(raw).toString('base64')}`;
const form = (s = '') => parseParams(s);

describe('presentedCredentials (RFC 6749 §2.3)', () => {
  it('reads HTTP Basic credentials, form-decoding both parts', () => {
    expect(presentedCredentials(basic('my%20client:s%2Bcret'), form())).toEqual({
      clientId: 'my client',
      secrets: ['s+cret', 's%2Bcret'],
      method: 'client_secret_basic',
    });
  });

  it('tries a secret that needs no decoding only once', () => {
    expect(presentedCredentials(basic('c1:abc-DEF_123'), form())).toEqual({
      clientId: 'c1',
      secrets: ['abc-DEF_123'],
      method: 'client_secret_basic',
    });
  });

  it('keeps an undecodable secret as sent', () => {
    expect(presentedCredentials(basic('c1:100%'), form())?.secrets).toEqual(['100%']);
  });

  it('accepts the scheme name in any case', () => {
    expect(presentedCredentials(`bAsIc ${Buffer.from('c1:s').toString('base64')}`, form())?.clientId).toBe(
      'c1',
    );
  });

  it('refuses other schemes and malformed Basic credentials as invalid_client', () => {
    expect(() => presentedCredentials('Bearer abc', form())).toThrow(InvalidClient);
    expect(() => presentedCredentials('Basic !!!', form())).toThrow(InvalidClient);
    expect(() => presentedCredentials(basic('no-colon'), form())).toThrow(InvalidClient);
    expect(() => presentedCredentials(basic(':secret-without-id'), form())).toThrow(InvalidClient);
  });

  it('refuses a control character in Basic credentials, raw or form-encoded, as invalid_request', () => {
    for (const raw of ['\0:x', 'c1:s\u0001', 'a\nb:x', '%00:x', 'c1:s%1f', 'c1:s%1F'])
      expect(() => presentedCredentials(basic(raw), form()), raw).toThrow(InvalidRequest);
    // "%2500" is the text "%00" once decoded: no control.
    expect(presentedCredentials(basic('c1:%2500'), form())?.secrets).toEqual(['%00', '%2500']);
  });

  it('refuses two authentication methods in one request', () => {
    expect(() => presentedCredentials(basic('c1:s'), form('client_secret=s'))).toThrow(InvalidRequest);
  });

  it('accepts a body client_id beside Basic only when it names the same client', () => {
    expect(presentedCredentials(basic('c1:s'), form('client_id=c1'))?.clientId).toBe('c1');
    expect(() => presentedCredentials(basic('c1:s'), form('client_id=c2'))).toThrow(InvalidRequest);
  });

  it('reads client_secret_post credentials from the body', () => {
    expect(presentedCredentials(undefined, form('client_id=c1&client_secret=s%20t'))).toEqual({
      clientId: 'c1',
      secrets: ['s t'],
      method: 'client_secret_post',
    });
  });

  it('identifies a public client by client_id alone', () => {
    expect(presentedCredentials('', form('client_id=c1'))).toEqual({
      clientId: 'c1',
      secrets: [],
      method: 'none',
    });
  });

  it('finds no credentials when none are sent, and refuses a secret without a client_id', () => {
    expect(presentedCredentials(undefined, form('grant_type=x'))).toBeNull();
    expect(() => presentedCredentials(undefined, form('client_secret=s'))).toThrow(InvalidRequest);
  });
});
