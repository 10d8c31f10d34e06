/** Reads a Server-Sent Events stream event by event. */
export interface SseReader {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- event payloads
  next(event: string): Promise<{ event: string; data: any }>;
  close(): Promise<void>;
}

export async function openSse(url: string): Promise<SseReader> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  if (!(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    throw new Error(`not an event stream: ${res.status}`);
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const events: { event: string; data: unknown }[] = [];
  return {
    async next(event) {
      for (;;) {
        const found = events.findIndex((e) => e.event === event);
        if (found >= 0) return events.splice(found, 1)[0] as { event: string; data: never };
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        buf += decoder.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const chunk = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(chunk)?.[1];
          const data = /^data: (.*)$/m.exec(chunk)?.[1];
          if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
        }
      }
    },
    async close() {
      ac.abort();
      await reader.cancel().catch(() => {});
    },
  };
}
