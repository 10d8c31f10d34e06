import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Tests pass `level: 'silent'` or their own logger. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'settlement', level, base: { service: 'settlement' } });
}
