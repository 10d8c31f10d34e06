/** The server's limits and their defaults (README.md's environment table sets them). */
import type { RoomLimits } from './room.ts';

export interface ServerLimits extends RoomLimits {
  /** Largest WebSocket message accepted; larger ones close the connection with 1009. */
  maxMessageBytes: number;
  /** A connection whose unsent data passes this is closed with 1013 (it reconnects and resyncs). */
  maxBufferedBytes: number;
  /** Largest HTTP request body. */
  maxBodyBytes: number;
  /** Live connections per member per room; the next upgrade gets 429 (0 = no cap). */
  maxConnectionsPerMember: number;
  /** Live connections (and pending upgrades) per client address; the next gets 429 (0 = no cap). */
  maxConnectionsPerIp: number;
  /**
   * Whether loopback clients count per address. Off by default: behind a reverse proxy on the
   * same host every client is 127.0.0.1, and the benchmarks connect from there.
   */
  countLoopbackPerIp: boolean;
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxMessageBytes: 2 * 1024 * 1024,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxBodyBytes: 256 * 1024,
  messagesPerSecond: 50,
  messageBurst: 200,
  compactBytes: 512 * 1024,
  maxConnectionsPerMember: 8,
  maxConnectionsPerIp: 1000,
  countLoopbackPerIp: false,
};
