/**
 * Open redirects (issue 10 item 10): `safeRedirect` resolves a target against the app's own
 * origin and keeps it only when it stays there, returning path + search + hash.
 */
import { describe, expect, it } from 'vitest';
import { safeRedirect } from '../src/lib/server/forms.ts';

const ORIGIN = 'http://127.0.0.1:3000';

describe('safeRedirect', () => {
  it('keeps same-site paths with their query and fragment', () => {
    expect(safeRedirect('/profile', ORIGIN)).toBe('/profile');
    expect(safeRedirect('/rooms/r_abc?tab=cart#pay', ORIGIN)).toBe('/rooms/r_abc?tab=cart#pay');
    expect(safeRedirect('/join/ABC123', ORIGIN)).toBe('/join/ABC123');
    expect(safeRedirect(`${ORIGIN}/friends`, ORIGIN)).toBe('/friends');
  });

  const tricky = [
    '/\t/evil.example',
    '/\t/evil.example/path',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '\t//evil.example',
    ' //evil.example',
    '//evil.example',
    '///evil.example',
    '////evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/\\/evil.example',
    '/.//evil.example',
    '/./\\evil.example',
    '/a/..//evil.example',
    '\\/evil.example',
    '/%09/evil.example',
    'https://evil.example',
    'http://evil.example/profile',
    'HTTP://evil.example',
    'http:evil.example',
    'https:/evil.example',
    '//127.0.0.1:3001/x',
    'http://127.0.0.1:3001/x',
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    '//evil.example@127.0.0.1:3000',
    'http://127.0.0.1:3000@evil.example/',
    'evil.example',
    '',
    '.',
    '?x=1',
  ];

  it.each(tricky)('%j does not leave the origin', (target) => {
    const to = safeRedirect(target, ORIGIN);
    expect(to.startsWith('/')).toBe(true);
    expect(to.startsWith('//')).toBe(false);
    expect(to).not.toMatch(/[\\\t\r\n]/);
    expect(new URL(to, ORIGIN).origin).toBe(ORIGIN);
    // What a browser does with the Location header: resolve against the page it is on.
    expect(new URL(to, `${ORIGIN}/login`).origin).toBe(ORIGIN);
  });

  it('%2f%2f and other encoded slashes stay paths on this site', () => {
    for (const t of ['/%2f%2fevil.example', '/%2F%2Fevil.example', '/%5cevil.example']) {
      const to = safeRedirect(t, ORIGIN);
      expect(new URL(to, ORIGIN).origin).toBe(ORIGIN);
      expect(to.startsWith('//')).toBe(false);
    }
  });

  it('null, undefined and non-strings go home', () => {
    expect(safeRedirect(null, ORIGIN)).toBe('/');
    expect(safeRedirect(undefined, ORIGIN)).toBe('/');
  });
});
