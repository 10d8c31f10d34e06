/**
 * The live room (Yjs, its sync and everything drawn from it), loaded by the room page right
 * after its server-rendered first view is on screen (issue 11 item 12, decision 0020): one
 * chunk, not among the scripts the first view waits for.
 */
export { Room } from '$lib/room/room.svelte.ts';
export { Chat } from '$lib/room/chat.svelte.ts';
export { default as LiveRoom } from './LiveRoom.svelte';
