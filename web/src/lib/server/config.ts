/**
 * The web server's configuration, from environment variables (the README's configuration
 * table, docs/web.md). Read lazily: SvelteKit imports server modules while building, and
 * nothing may touch DATA_DIR or the token-secret file then.
 *
 * | variable | default |
 * | --- | --- |
 * | ROOM_SERVER_URL | ws://localhost:1234 (what browsers connect to) |
 * | ROOM_SERVER_INTERNAL_URL | http(s) form of ROOM_SERVER_URL (what this server calls) |
 * | SETTLEMENT_URL | http://127.0.0.1:4000 (this server only: browsers reach settlement through web) |
 * | ROOM_TOKEN_SECRET | generated once into DATA_DIR/room-token-secret |
 * | DATA_DIR | ./data (web keeps its PGlite database in DATA_DIR/web) |
 * | DATABASE_URL | unset: PGlite |
 * | PUBLIC_URL / ORIGIN | the app's own public URL, for invite links (default http://localhost:3000) |
 * | WEB_DEMO_STAFF | 1 in embedded mode (no DATABASE_URL): create one staff login per store |
 * | LOG_LEVEL | info |
 */
import { dataDir as modelDataDir, roomTokenSecret } from '@patungan/model/node';

export interface WebConfig {
  roomServerUrl: string;
  roomServerHttpUrl: string;
  settlementUrl: string;
  readonly tokenSecret: string;
  dataDir: string;
  databaseUrl: string | undefined;
  publicUrl: string;
  demoStaff: boolean;
  logLevel: string;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

/** `ws://h:p` → `http://h:p`, `wss://` → `https://`. */
export function wsToHttp(url: string): string {
  return trimSlash(url.replace(/^ws(s?):\/\//i, 'http$1://'));
}

/** `http://h:p` → `ws://h:p`, `https://` → `wss://`. */
export function httpToWs(url: string): string {
  return trimSlash(url.replace(/^http(s?):\/\//i, 'ws$1://'));
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): WebConfig {
  const roomServerUrl = trimSlash(env.ROOM_SERVER_URL || 'ws://localhost:1234');
  const settlementUrl = trimSlash(env.SETTLEMENT_URL || 'http://127.0.0.1:4000');
  let secret: string | undefined;
  return {
    roomServerUrl,
    roomServerHttpUrl: trimSlash(env.ROOM_SERVER_INTERNAL_URL || wsToHttp(roomServerUrl)),
    settlementUrl,
    get tokenSecret() {
      secret ??= roomTokenSecret(env);
      return secret;
    },
    dataDir: modelDataDir(env),
    databaseUrl: env.DATABASE_URL || undefined,
    publicUrl: trimSlash(env.PUBLIC_URL || env.ORIGIN || 'http://localhost:3000'),
    demoStaff: env.WEB_DEMO_STAFF ? env.WEB_DEMO_STAFF === '1' : !env.DATABASE_URL,
    logLevel: env.LOG_LEVEL || 'info',
  };
}

let current: WebConfig | undefined;

/** The process-wide configuration (each property read from the environment on first use). */
export const config: WebConfig = new Proxy({} as WebConfig, {
  get(_t, prop) {
    current ??= loadConfig();
    return current[prop as keyof WebConfig];
  },
});
