/** Structured JSON logs (pino); pass ids (userId, roomId, storeId) as fields, not in the text. */
import { pino } from 'pino';

export const log = pino({
  name: 'web',
  level: process.env.LOG_LEVEL || 'info',
  base: { service: 'web' },
});
