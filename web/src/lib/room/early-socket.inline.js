// The room page's first inline script (early-socket.ts): opens the room's WebSocket while the
// page's scripts are still downloading, asks for the whole room (Yjs sync step 1 of an empty
// document) and keeps what the server sends until the room's code takes the socket over.
// Its SHA-256 is allowed in the CSP's script-src (svelte.config.js): change it freely.
(() => {
  const url = document.currentScript?.dataset.ws;
  if (!url || !('WebSocket' in window)) return;
  try {
    const ws = new WebSocket(url);
    const early = { url, ws, queue: /** @type {MessageEvent[]} */ ([]), sentStep1: false };
    ws.binaryType = 'arraybuffer';
    ws.onmessage = (e) => early.queue.push(e);
    ws.onopen = () => {
      ws.send(new Uint8Array([0, 0, 1, 0]));
      early.sentStep1 = true;
    };
    window.__patunganEarlySocket = early;
  } catch {
    // No socket now: the room connects once its scripts have loaded.
  }
})();
