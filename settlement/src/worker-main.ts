/**
 * `npm run worker -w settlement`: the worker alone (no HTTP). Safe to run as several
 * processes against one PostgreSQL. Same environment as main.ts.
 */
process.env.SETTLEMENT_API = 'off';
process.env.SETTLEMENT_WORKER = 'on';
await import('./main.ts');
