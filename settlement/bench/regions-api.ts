/**
 * One settlement API process for bench/regions.ts: startSettlement from the environment
 * (DATABASE_URL, REGION_DATABASE_URLS, ROOM_TOKEN_SECRET) with nothing to deliver to (no
 * room-server, no web) and a silent log; prints `{"ready":true,"url":…}` once listening.
 */
import { pino } from 'pino';
import { startSettlement } from '../src/server.ts';

const svc = await startSettlement({
  port: 0,
  roomServerUrl: null,
  webInternalUrl: null,
  stripe: null,
  midtrans: null,
  log: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
});
console.log(JSON.stringify({ ready: true, url: svc.url }));
process.on('SIGTERM', () => void svc.close().then(() => process.exit(0)));
