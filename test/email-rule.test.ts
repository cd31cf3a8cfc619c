import { describe, expect, it } from 'vitest';
import { emailProblem } from '../src/domain/users.js';

describe('emailProblem', () => {
  it.each([
    'a@b.test',
    'admin@clavis.local',
    'first.last+tag@example.co.uk',
    "o'brien@example.com",
    'x_y-z@sub-domain.example.org',
    'ops@localhost',
    'jörg@müller.de',
    'USER@EXAMPLE.COM',
  ])('accepts %s', (email) => expect(emailProblem(email)).toBeNull());

  it.each([
    '<script>@x.test',
    'a@b@c.test',
    'no-at-sign',
    '@example.com',
    'a@',
    'a b@example.com',
    '.a@example.com',
    'a.@example.com',
    'a..b@example.com',
    'a@-example.com',
    'a@example..com',
    'a@exa_mple.com',
    '"quoted"@example.com',
    'a,b@example.com',
    `${'x'.repeat(65)}@example.com`,
    'a\u0000b@example.com',
  ])('refuses %s', (email) => expect(emailProblem(email)).toBe('Enter a valid email address.'));
});
