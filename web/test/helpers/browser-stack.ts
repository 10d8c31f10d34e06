/**
 * The setup every browser test file shares: the whole stack (`startStack`) and Debian's Chromium
 * (`launch`) before the file's tests, and after them every context the tests opened, the browser
 * and the stack closed. A test file states only its stack options:
 *
 *   const t = browserStack({ logLevel: 'warn' });
 *   const A = await t.phone();            // or openPage(t.browser, t.contexts, { … })
 *   await fetch(`${t.stack.settlementUrl}/stores`);
 */
import { join } from 'node:path';
import { afterAll, beforeAll, onTestFailed } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, launch, phone } from './phone.ts';
import { startStack, type Stack, type StackOptions } from './stack.ts';

export interface BrowserStack {
  readonly stack: Stack;
  readonly browser: Browser;
  /** Contexts to close after the file's tests (`openPage` and `phone` add theirs). */
  readonly contexts: BrowserContext[];
  /** A phone (see `phone` in phone.ts) on the stack's web app. */
  phone(): Promise<{ ctx: BrowserContext; page: Page }>;
  /**
   * Call inside a test: if it fails, print the tail of web's log (`logTail` characters) and
   * `more()`, and save a full-page screenshot of every open page as `<name>-<i>-<j>.png`.
   */
  dumpOnFailure(name: string, logTail: number, more?: () => string): void;
}

/** Registers the file's beforeAll/afterAll; `setupTimeout` covers building web under load. */
export function browserStack(options: StackOptions = {}, setupTimeout = 240_000): BrowserStack {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  beforeAll(async () => {
    stack = await startStack(options);
    browser = await launch();
  }, setupTimeout);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await stack?.close();
  }, 60_000);
  const t: BrowserStack = {
    get stack() {
      if (!stack) throw new Error('the stack is not started (use it inside a test or hook)');
      return stack;
    },
    get browser() {
      if (!browser) throw new Error('the browser is not launched (use it inside a test or hook)');
      return browser;
    },
    contexts,
    phone: () => phone(t.browser, t.stack.webUrl, contexts),
    dumpOnFailure(name, logTail, more) {
      onTestFailed(async () => {
        console.error(t.stack.logs().slice(-logTail));
        if (more) console.error(more());
        for (const [i, c] of contexts.entries()) {
          for (const [j, p] of c.pages().entries()) {
            await p
              .screenshot({ path: join(ARTIFACTS, `${name}-${i}-${j}.png`), fullPage: true })
              .catch(() => undefined);
          }
        }
      });
    },
  };
  return t;
}
