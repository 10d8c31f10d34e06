/**
 * One client connection as the room core sees it: who it is, how to send it bytes, and the
 * little state the core keeps per connection (kept small: a server holds ~20k of these).
 * The core never touches a socket; the `ws` adapter (websocket.ts) implements `Transport`.
 */
import { BlockList, isIP } from 'node:net';
import type { Principal } from './write-rules.ts';

export interface Transport {
  /** Sends one binary frame. Must not throw; a slow or dead peer is the adapter's business. */
  send(message: Uint8Array): void;
  /** Closes the connection with a WebSocket close code. */
  close(code: number, reason: string): void;
}

let nextId = 1;

export class Connection {
  /** Tag for transaction origins (see origins.ts `Origin`). */
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

/** Whether `address` is a loopback address (127.0.0.0/8, ::1, or IPv4-mapped 127.x). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/**
 * The addresses (`1.2.3.4`) and subnets (`172.16.0.0/12`) of reverse proxies whose
 * `X-Forwarded-For` is believed (TRUSTED_PROXIES). Throws on an entry that is neither.
 */
export function trustedProxies(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits, more] = entry.split('/');
    const type = isIP(address ?? '');
    const prefix = Number(bits);
    if (
      !type ||
      more !== undefined ||
      (bits !== undefined &&
        !(Number.isInteger(prefix) && prefix >= 0 && prefix <= (type === 4 ? 32 : 128)))
    ) {
      throw new Error(`TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or subnet`);
    }
    const family = type === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, prefix, family);
  }
  return list;
}

function isTrusted(list: BlockList, address: string): boolean {
  const type = isIP(address);
  return type !== 0 && list.check(address, type === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the socket's peer, or — when the peer is a trusted proxy — the
 * rightmost `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left
 * are whatever the client claimed).
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: BlockList | null,
): string | undefined {
  if (!trusted || !peer || !forwardedFor || !isTrusted(trusted, peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (!isIP(hop)) return peer; // not written by a proxy we trust: fall back to the peer
    if (!isTrusted(trusted, hop)) return hop;
  }
  return peer;
}

/**
 * Live connections per member per room and per client address (docs/contracts.md
 * "Limits"). A slot is taken when an upgrade is let through and given back when its socket
 * closes or the upgrade fails; keys with no live connection are removed (no growth).
 */
export class ConnectionCaps {
  private readonly members = new Map<string, number>();
  private readonly addresses = new Map<string, number>();

  constructor(
    /** Per member per room; 0 = no cap. */
    readonly perMember: number,
    /** Per client address; 0 = no cap. */
    readonly perAddress: number,
    /** Whether loopback clients are counted per address (default: not). */
    readonly countLoopback: boolean,
  ) {}

  /** The key `address` is counted under, or null when it is not counted. */
  addressKey(address: string | undefined): string | null {
    if (this.perAddress === 0 || !address) return null;
    if (!this.countLoopback && isLoopback(address)) return null;
    return address;
  }

  /** Takes a slot for a client address (from `addressKey`); false at the cap. */
  takeAddress(key: string): boolean {
    return take(this.addresses, key, this.perAddress);
  }

  releaseAddress(key: string): void {
    release(this.addresses, key);
  }

  /** Takes a slot for a member in a room; false at the cap. */
  takeMember(roomId: string, memberId: string): boolean {
    return this.perMember === 0 || take(this.members, memberKey(roomId, memberId), this.perMember);
  }

  releaseMember(roomId: string, memberId: string): void {
    if (this.perMember !== 0) release(this.members, memberKey(roomId, memberId));
  }

  /** Live counts (tests, debugging). */
  get size(): { members: number; addresses: number } {
    return { members: this.members.size, addresses: this.addresses.size };
  }
}

// room ids never contain a newline (model's ROOM_ID_PATTERN), so the key is unambiguous
const memberKey = (roomId: string, memberId: string) => `${roomId}\n${memberId}`;

function take(map: Map<string, number>, key: string, cap: number): boolean {
  const n = map.get(key) ?? 0;
  if (n >= cap) return false;
  map.set(key, n + 1);
  return true;
}

function release(map: Map<string, number>, key: string): void {
  const n = map.get(key);
  if (n === undefined) return;
  if (n <= 1) map.delete(key);
  else map.set(key, n - 1);
}
