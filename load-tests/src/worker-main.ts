/** Worker-thread entry: one {@link Engine} answering the controller's calls. */
import { parentPort, workerData } from 'node:worker_threads';
import { Engine, type EngineConfig } from './engine.ts';

const engine = new Engine(workerData as EngineConfig);
const port = parentPort!;

port.on('message', async (msg: { id: number; method: string; args: unknown[] }) => {
  try {
    const fn = (engine as unknown as Record<string, (...a: unknown[]) => unknown>)[msg.method];
    if (typeof fn !== 'function') throw new Error(`unknown engine call ${msg.method}`);
    const result = await fn.apply(engine, msg.args);
    port.postMessage({ id: msg.id, result });
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
