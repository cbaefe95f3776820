import { CacheError } from '@llm-cache/core';

/** Options of a {@link Batcher}. */
export interface BatcherOptions<I, O> {
  /** Most items handed to one `run` call (>= 1). */
  maxBatchSize: number;
  /** How long the first queued item waits for company before its batch runs (>= 0). */
  maxWaitMs: number;
  /**
   * Processes one batch; must resolve to exactly one output per input, in order. A rejection
   * rejects the callers whose items were in that batch, and nobody else.
   */
  run: (items: I[]) => Promise<O[]>;
}

/** One `submit` call: its outputs fill in as the batches holding its items complete. */
interface Request<O> {
  outputs: O[];
  remaining: number;
  failed: boolean;
  resolve: (outputs: O[]) => void;
  reject: (error: unknown) => void;
}

interface Slot<I, O> {
  item: I;
  request: Request<O>;
  index: number;
}

/**
 * A micro-batcher: items from concurrent `submit` calls are queued and handed to `run` together,
 * at most `maxBatchSize` at a time, after waiting at most `maxWaitMs` for the batch to fill.
 * Only one `run` is in flight at a time; items arriving meanwhile form the next batch, which
 * starts as soon as the current one settles. A submit larger than `maxBatchSize` is split over
 * several batches and settles when all of them have.
 */
export class Batcher<I, O> {
  readonly #maxBatchSize: number;
  readonly #maxWaitMs: number;
  readonly #run: (items: I[]) => Promise<O[]>;
  #queue: Slot<I, O>[] = [];
  #cancelTimer: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: BatcherOptions<I, O>) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new CacheError('LLMCACHE_CONFIG', `maxBatchSize must be an integer >= 1, got ${options.maxBatchSize}`);
    }
    if (!(options.maxWaitMs >= 0)) {
      throw new CacheError('LLMCACHE_CONFIG', `maxWaitMs must be >= 0, got ${options.maxWaitMs}`);
    }
    this.#maxBatchSize = options.maxBatchSize;
    this.#maxWaitMs = options.maxWaitMs;
    this.#run = options.run;
  }

  /** Items queued and not yet handed to `run`. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Queues items; resolves to their outputs in order once every batch holding them has run. */
  submit(items: readonly I[]): Promise<O[]> {
    if (this.#closed) {
      return Promise.reject(new CacheError('LLMCACHE_EMBEDDING', 'the embedder is closed', { retryable: false }));
    }
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<O[]>((resolve, reject) => {
      const request: Request<O> = {
        outputs: new Array<O>(items.length),
        remaining: items.length,
        failed: false,
        resolve,
        reject,
      };
      items.forEach((item, index) => this.#queue.push({ item, request, index }));
      this.#schedule();
    });
  }

  /** Refuses new items, runs what is queued, and resolves when nothing is in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#queue.length === 0 && this.#running === undefined) return;
    await new Promise<void>((resolve) => {
      this.#idle.push(resolve);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running !== undefined) return; // the next batch starts when this one settles
    if (this.#queue.length === 0) {
      this.#notifyIdle();
      return;
    }
    if (this.#queue.length >= this.#maxBatchSize || this.#closed) {
      this.#flush();
    } else if (this.#cancelTimer === undefined) {
      // maxWaitMs 0 still gathers the calls made in the same tick, without the 1 ms timer floor.
      if (this.#maxWaitMs === 0) {
        const handle = setImmediate(() => this.#flush());
        this.#cancelTimer = () => clearImmediate(handle);
      } else {
        const handle = setTimeout(() => this.#flush(), this.#maxWaitMs);
        this.#cancelTimer = () => clearTimeout(handle);
      }
    }
  }

  #flush(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    if (this.#running !== undefined) return;
    // Skip items of callers already rejected by an earlier batch: nobody waits for them.
    this.#queue = this.#queue.filter((slot) => !slot.request.failed);
    const batch = this.#queue.splice(0, this.#maxBatchSize);
    if (batch.length === 0) {
      this.#notifyIdle();
      return;
    }
    this.#running = this.#execute(batch).finally(() => {
      this.#running = undefined;
      // Items that arrived during the run have already waited: run them without a new delay.
      if (this.#queue.length > 0) this.#flush();
      else this.#notifyIdle();
    });
  }

  async #execute(batch: Slot<I, O>[]): Promise<void> {
    let outputs: O[];
    try {
      outputs = await this.#run(batch.map((slot) => slot.item));
      if (!Array.isArray(outputs) || outputs.length !== batch.length) {
        throw new CacheError(
          'LLMCACHE_EMBEDDING',
          `batch run returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} results for ${batch.length} inputs`,
        );
      }
    } catch (error) {
      for (const { request } of batch) {
        if (request.failed) continue;
        request.failed = true;
        request.reject(error);
      }
      return;
    }
    batch.forEach((slot, i) => {
      const { request } = slot;
      if (request.failed) return;
      request.outputs[slot.index] = outputs[i] as O;
      request.remaining -= 1;
      if (request.remaining === 0) request.resolve(request.outputs);
    });
  }

  #notifyIdle(): void {
    if (this.#running !== undefined || this.#queue.length > 0) return;
    const waiters = this.#idle;
    this.#idle = [];
    for (const resolve of waiters) resolve();
  }
}
