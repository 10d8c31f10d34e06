/**
 * Environment → options for `npm start -w room-server` (see README.md for the table).
 * Every other setting has a default in `startRoomServer`.
 */
import { dataDir, roomTokenSecret } from '@patungan/model/node';
import { trustedProxies } from './connection.ts';
import type { RoomServerOptions } from './server.ts';

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RoomServerOptions {
  const limits: RoomServerOptions['limits'] = {};
  const maxMessageBytes = int(env, 'MAX_MESSAGE_BYTES');
  if (maxMessageBytes !== undefined) limits.maxMessageBytes = maxMessageBytes;
  const maxBufferedBytes = int(env, 'MAX_BUFFERED_BYTES');
  if (maxBufferedBytes !== undefined) limits.maxBufferedBytes = maxBufferedBytes;
  const rate = int(env, 'MESSAGES_PER_SECOND');
  if (rate !== undefined) limits.messagesPerSecond = rate;
  const burst = int(env, 'MESSAGE_BURST');
  if (burst !== undefined) limits.messageBurst = burst;
  const maxRoomBytes = int(env, 'MAX_ROOM_BYTES');
  if (maxRoomBytes !== undefined) limits.maxRoomBytes = maxRoomBytes;
  const perMember = int(env, 'MAX_CONNECTIONS_PER_MEMBER');
  if (perMember !== undefined) limits.maxConnectionsPerMember = perMember;
  const perIp = int(env, 'MAX_CONNECTIONS_PER_IP');
  if (perIp !== undefined) limits.maxConnectionsPerIp = perIp;
  const opts: RoomServerOptions = {
    port: int(env, 'PORT') ?? 1234,
    host: env.HOST || '127.0.0.1',
    secret: roomTokenSecret(env),
    dataDir: dataDir(env),
    settlementUrl: env.SETTLEMENT_URL || 'http://127.0.0.1:4000',
    logLevel: env.LOG_LEVEL || 'info',
    limits,
  };
  if (env.METRICS_TOKEN) {
    if (env.METRICS_TOKEN.length < 16)
      throw new Error('METRICS_TOKEN must be at least 16 characters');
    opts.metricsToken = env.METRICS_TOKEN;
  }
  if (env.TRUSTED_PROXIES) {
    const proxies = env.TRUSTED_PROXIES.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    trustedProxies(proxies); // throws on a bad entry, at start
    opts.trustedProxies = proxies;
  }
  const unload = int(env, 'UNLOAD_DELAY_MS');
  if (unload !== undefined) opts.unloadDelayMs = unload;
  const scan = int(env, 'DEADLINE_SCAN_MS');
  if (scan) opts.deadlineScanMs = scan;
  const ping = int(env, 'PING_INTERVAL_MS');
  if (ping !== undefined) opts.pingIntervalMs = ping;
  const files = int(env, 'MAX_OPEN_FILES');
  if (files !== undefined) opts.maxOpenFiles = files;
  return opts;
}
