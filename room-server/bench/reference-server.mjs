// The reference the room-server benchmark compares against (not a server to use): the stock
// y-websocket server, `@y/websocket-server`'s `setupWSConnection` on a Node http server, as
// its own bin/server starts it (no persistence: YPERSISTENCE unset; no auth, no rules). Only
// /healthz and /metrics are added, in the shape bench/run.ts reads.
//
//   npm run bench -w room-server -- idle --peer reference
//   npm run bench -w room-server -- edit --peer reference
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { docs, setupWSConnection } from '@y/websocket-server/utils';

// the `ws` that @y/websocket-server itself depends on (6.x), not the room-server's
const utils = fileURLToPath(import.meta.resolve('@y/websocket-server/utils'));
const { Server: WebSocketServer } = createRequire(utils)('ws');

let connections = 0;
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', rooms: docs.size, connections }));
  } else if (req.url === '/metrics') {
    const m = process.memoryUsage();
    res.end(
      `x_memory_bytes{kind="heap_used"} ${m.heapUsed}\n` +
        `x_memory_bytes{kind="heap_total"} ${m.heapTotal}\n` +
        `x_memory_bytes{kind="external"} ${m.external}\n`,
    );
  } else {
    res.end('okay');
  }
});
// exactly as @y/websocket-server's src/server.js (its own `ws`, default options)
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, req) => {
  connections++;
  ws.on('close', () => connections--);
  setupWSConnection(ws, req);
});
server.on('upgrade', (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
});
server.listen(Number(process.env.PORT ?? 1234), process.env.HOST ?? '127.0.0.1');
const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
