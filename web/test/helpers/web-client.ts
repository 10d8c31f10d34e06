/**
 * A signed-in browser over plain HTTP, for tests of web's routes and forms against the real
 * stack: keeps the session cookie, sends forms as a browser does (Origin, answered with 303).
 */
import { expect } from 'vitest';
import type { Stack } from './stack.ts';

export interface WebClient {
  cookies: Map<string, string>;
  request(
    method: string,
    path: string,
    o?: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
}

export function webClient(stack: Pick<Stack, 'webUrl'>): WebClient {
  const cookies = new Map<string, string>();
  return {
    cookies,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { origin: stack.webUrl, ...o.headers };
      if (cookies.size) headers.cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
      let body: string | undefined;
      if (o.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        headers.accept = 'text/html'; // a form post as a browser sends it: answered with a redirect
        body = new URLSearchParams(o.form).toString();
      } else if (o.json !== undefined) {
        headers['content-type'] ??= 'application/json';
        body = JSON.stringify(o.json);
      }
      const res = await fetch(stack.webUrl + path, { method, headers, body, redirect: 'manual' });
      for (const sc of res.headers.getSetCookie()) {
        const [pair] = sc.split(';');
        const i = pair!.indexOf('=');
        const value = pair!.slice(i + 1);
        if (!value || /max-age=0/i.test(sc)) cookies.delete(pair!.slice(0, i));
        else cookies.set(pair!.slice(0, i), value);
      }
      return res;
    },
  };
}

let users = 0;
/** A newly registered account, signed in. */
export async function registeredClient(
  stack: Pick<Stack, 'webUrl'>,
  name: string,
): Promise<WebClient> {
  const c = webClient(stack);
  const res = await c.request('POST', '/register', {
    form: {
      name,
      email: `user${++users}-${Date.now()}-${process.pid}@example.test`,
      password: 'correct horse battery staple',
    },
  });
  expect(res.status, await res.clone().text()).toBe(303);
  return c;
}

/** The member's id in a room: the subject of the join token web issues them. */
export async function memberIdIn(c: WebClient, roomId: string): Promise<string> {
  const res = await c.request('POST', `/rooms/${roomId}/token`);
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string })
    .sub;
}
