/**
 * One client connection as the room core sees it: who it is, how to send it bytes, and the
 * little state the core keeps per connection (kept small: a server holds ~20k of these).
 * The core never touches a socket; the `ws` adapter (server.ts) implements `Transport`.
 */
import type { Principal } from './write-rules.ts';

export interface Transport {
  /** Sends one binary frame. Must not throw; a slow or dead peer is the adapter's business. */
  send(message: Uint8Array): void;
  /** Closes the connection with a WebSocket close code. */
  close(code: number, reason: string): void;
}

let nextId = 1;

export class Connection {
  /** Tag for transaction origins (see hooks.ts `Origin`). */
  get kind(): 'connection' {
    return 'connection';
  }
  readonly id = nextId++;
  /** Yjs client ids this connection wrote new content with (normally exactly one). */
  clientIds: number[] | null = null;
  /** Awareness client ids this connection controls (removed when it closes); usually one. */
  awarenessIds: number[] | null = null;
  /** Messages waiting while an async hook for an earlier message runs. */
  backlog: Uint8Array[] | null = null;
  closed = false;
  // token bucket for updates + awareness messages
  tokens: number;
  refilledAt = 0;

  constructor(
    readonly roomId: string,
    readonly principal: Principal,
    readonly transport: Transport,
    burst: number,
  ) {
    this.tokens = burst;
  }

  send(message: Uint8Array): void {
    if (!this.closed) this.transport.send(message);
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close(code, reason);
  }

  /** Takes one token; false when the connection is over its rate. */
  take(now: number, perSecond: number, burst: number): boolean {
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(burst, this.tokens + (elapsed * perSecond) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
