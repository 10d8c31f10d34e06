/**
 * A background loop: runs `fn` every `intervalMs`, at most one run at a time; `kick()` asks
 * for a run as soon as the current one ends (kicks during a run coalesce into one more run).
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
    do {
      this.#again = false;
      try {
        await this.fn();
      } catch (err) {
        this.log.error({ err, loop: this.name }, 'background loop run failed');
      }
    } while (this.#again && !this.#stopped);
    this.#running = undefined;
    if (!this.#stopped) this.#timer = setTimeout(() => this.kick(), this.intervalMs);
  }

  /** Stops scheduling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}
