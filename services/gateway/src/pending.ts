/** Outstanding requests awaiting an event correlated by request id. */
export class PendingReplies<T> {
  private readonly waiting = new Map<string, { resolve: (value: T | undefined) => void; timer: NodeJS.Timeout }>();

  /** Resolves with the reply, or undefined once timeoutMs passes. Register before publishing. */
  wait(requestId: string, timeoutMs: number): Promise<T | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(requestId, { resolve, timer });
    });
  }

  /** Delivers a reply; false when nobody waits for it (a late or foreign reply). */
  settle(requestId: string, value: T): boolean {
    const waiter = this.waiting.get(requestId);
    if (!waiter) return false;
    clearTimeout(waiter.timer);
    this.waiting.delete(requestId);
    waiter.resolve(value);
    return true;
  }

  cancel(requestId: string): void {
    const waiter = this.waiting.get(requestId);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiting.delete(requestId);
    waiter.resolve(undefined);
  }

  get size(): number {
    return this.waiting.size;
  }

  close(): void {
    for (const id of [...this.waiting.keys()]) this.cancel(id);
  }
}
