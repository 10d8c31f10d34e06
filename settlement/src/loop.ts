/**
 * A background loop: runs `fn` every `intervalMs`, at most one run at a time; `kick()` asks
 * for a run as soon as the current one ends (kicks during a run coalesce into one more run).
 * A run that answers `{ wakeInMs }` (the worker: when the next hold runs out) is followed by
 * the next one after that long when it is sooner than `intervalMs`.
 */
import type { Logger } from './log.ts';

export class Loop {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;

  constructor(
    readonly name: string,
    private readonly fn: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.#stopped = false;
    this.kick();
  }

  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#run();
  }

  async #run(): Promise<void> {
    let wait = this.intervalMs;
    do {
      this.#again = false;
      wait = this.intervalMs;
      try {
        const r = (await this.fn()) as { wakeInMs?: unknown } | undefined;
        if (typeof r?.wakeInMs === 'number' && r.wakeInMs >= 0) {
          // a couple of ms past the moment, so that it has certainly come; something due now
          // that this run left (another process holds it) is looked at again shortly, not at once
          wait = Math.min(wait, Math.max(20, Math.ceil(r.wakeInMs) + 2));
        }
      } catch (err) {
        this.log.error({ err, loop: this.name }, 'background loop run failed');
      }
    } while (this.#again && !this.#stopped);
    this.#running = undefined;
    if (!this.#stopped) this.#timer = setTimeout(() => this.kick(), wait);
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
