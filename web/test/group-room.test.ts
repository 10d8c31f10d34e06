/**
 * Issue 13's group features through the real stack (web, room-server, settlement) and real
 * Chromium phones: room chat with unread counts.
 */
import { describe, expect, it } from 'vitest';
import { browserStack } from './helpers/browser-stack.ts';
import { createRoom, joinAsGuest, register, tab, until } from './helpers/phone.ts';

const t = browserStack({ logLevel: 'warn' });

describe('room chat', () => {
  it('is live for everyone, attributed to its writer, with unread counts per device', async () => {
    t.dumpOnFailure('group-chat', 3000);
    const { page: org } = await t.phone();
    await register(org, 'Citra');
    const url = await createRoom(org, 'Ngobrol');
    const invite = await org.locator('[data-testid=invite-url]').inputValue();
    const { page: budi } = await t.phone();
    await joinAsGuest(budi, invite, 'Budi');

    // Budi writes in the chat; Citra, on another tab, sees a count on the chat tab.
    await tab(budi, 'chat');
    await budi.fill('[data-testid=chat-input]', 'Aku mau kopi ya');
    await budi.locator('[data-testid=chat-send]').click();
    await until('Budi sees his own message', async () =>
      (await budi.locator('[data-testid=chat-message]').count()) === 1 ? true : null,
    );
    // His own message is never unread for him.
    expect(await budi.locator('[data-testid=chat-unread]').count()).toBe(0);

    const badge = org.locator('[data-testid=chat-unread]');
    await until('the unread count on Citra’s chat tab', async () =>
      (await badge.textContent())?.trim() === '1' ? true : null,
    );
    await budi.fill('[data-testid=chat-input]', 'Dan roti');
    await budi.locator('[data-testid=chat-send]').click();
    await until('two unread', async () =>
      (await badge.textContent())?.trim() === '2' ? true : null,
    );

    // Opening the chat shows both, by Budi's name, and clears the count.
    await tab(org, 'chat');
    const messages = org.locator('[data-testid=chat-message]');
    await until('Citra sees the messages', async () =>
      (await messages.count()) === 2 ? true : null,
    );
    expect(await messages.first().textContent()).toContain('Budi');
    expect(await messages.first().textContent()).toContain('Aku mau kopi ya');
    const budiId = await messages.first().getAttribute('data-by');
    expect(budiId).toBeTruthy();
    await until('the count clears', async () => ((await badge.count()) === 0 ? true : null));

    // Citra answers; Budi (back on the catalog) gets one unread.
    await tab(budi, 'catalog');
    await org.fill('[data-testid=chat-input]', 'Siap!');
    await org.locator('[data-testid=chat-send]').click();
    const budiBadge = budi.locator('[data-testid=chat-unread]');
    await until('Budi’s unread count', async () =>
      (await budiBadge.textContent())?.trim() === '1' ? true : null,
    );
    await budi
      .screenshot({ path: '/work/notes/shots/group/chat-unread-phone.png' })
      .catch(() => undefined);

    // Read state is this device's: a reload keeps Citra's "read" and Budi's "unread".
    await org.goto(url);
    await org.locator('[data-testid=room][data-ready=true]').waitFor();
    await tab(org, 'catalog');
    expect(await org.locator('[data-testid=chat-unread]').count()).toBe(0);
    await budi.reload();
    await budi.locator('[data-testid=room][data-ready=true]').waitFor();
    await until('Budi’s count after a reload', async () =>
      (await budiBadge.textContent())?.trim() === '1' ? true : null,
    );
    await tab(budi, 'chat');
    await until('Budi reads it', async () => ((await budiBadge.count()) === 0 ? true : null));
    await budi
      .screenshot({ path: '/work/notes/shots/group/chat-phone.png' })
      .catch(() => undefined);

    // Product comments stay on their product, not in the chat.
    expect(await budi.locator('[data-testid=chat-message]').count()).toBe(3);
  }, 120_000);
});
