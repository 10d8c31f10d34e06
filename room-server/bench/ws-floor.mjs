// The floor under the room-server benchmark (not a server to use): a bare `ws` relay on a
// Node http server that forwards each member's update message to the other members of its
// room — no Yjs, no tokens, no write rules, no storage, no presence. Whatever it costs in
// memory per connection and in CPU per edit, the room-server cannot go below with `ws`.
//
//   npm run bench -w room-server -- idle --entry bench/ws-floor.mjs
//   npm run bench -w room-server -- edit --entry bench/ws-floor.mjs
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const rooms = new Map();
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    let connections = 0;
    for (const r of rooms.values()) connections += r.size;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ status: 'ok', rooms: rooms.size, connections }));
  } else if (req.url === '/metrics') {
    const m = process.memoryUsage();
    res.end(
      `x_memory_bytes{kind="heap_used"} ${m.heapUsed}\n` +
        `x_memory_bytes{kind="heap_total"} ${m.heapTotal}\n` +
        `x_memory_bytes{kind="external"} ${m.external}\n`,
    );
  } else {
    res.statusCode = 404;
    res.end();
  }
});
const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
  skipUTF8Validation: true,
});
function onMessage(data) {
  // sync update (0, 2): to everyone else in the room
  if (data[0] !== 0 || data[1] !== 2) return;
  for (const peer of this.room) if (peer !== this) peer.send(data);
}
function onClose() {
  this.room.delete(this);
  if (this.room.size === 0) rooms.delete(this.roomId);
}
server.on('upgrade', (req, socket, head) => {
  const roomId = req.url.slice(1, req.url.indexOf('?') >>> 0);
  wss.handleUpgrade(req, socket, head, (ws) => {
    let room = rooms.get(roomId);
    if (!room) rooms.set(roomId, (room = new Set()));
    room.add(ws);
    ws.room = room;
    ws.roomId = roomId;
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
});
server.listen(Number(process.env.PORT), process.env.HOST ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
