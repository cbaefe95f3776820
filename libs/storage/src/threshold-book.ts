import type { ThresholdRecord, ThresholdStore } from './ports.ts';

/** Where a threshold came from: a namespace's own, its tenant's, the global default, or the configuration. */
export type ThresholdSource = 'namespace' | 'tenant' | 'global' | 'config';

/** The tenant and namespace that stand for "every one". */
export const ANY = '*';

const keyOf = (tenant: string, namespace: string): string => `${tenant}\u0000${namespace}`;

/**
 * Every threshold set at runtime, held in memory for the request path and read again from the
 * store when the control topic announces a change (and every `refreshMs` in case an announcement
 * is missed). A lookup takes its namespace's threshold, else its tenant's, else the global one,
 * else the configuration's.
 */
export class ThresholdBook {
  private records = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly store: ThresholdStore,
    private readonly configured: number,
    private readonly options: { refreshMs?: number; logger?: { warn(details: object, message: string): void } } = {},
  ) {}

  /** Reads the store once and then every `refreshMs` (default 5 s). */
  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh().catch(() => undefined), this.options.refreshMs ?? 5_000);
    this.timer.unref();
  }

  /** Reads the store again; concurrent calls share one read. A failed read keeps the thresholds held. */
  refresh(): Promise<void> {
    this.refreshing ??= this.store
      .list()
      .then((records) => {
        this.records = new Map(records.map((record) => [keyOf(record.tenant, record.namespace), record.threshold]));
      })
      .catch((error: unknown) => this.options.logger?.warn({ err: error }, 'could not read the thresholds; keeping the ones held'))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** A read that starts after the caller's write: one already under way may have read the store before it. */
  private async reread(): Promise<void> {
    await this.refreshing;
    await this.refresh();
  }

  /** How many thresholds a tenant has set (its default and its namespaces'). */
  countOf(tenant: string): number {
    let count = 0;
    for (const key of this.records.keys()) if (key.startsWith(`${tenant}\u0000`)) count += 1;
    return count;
  }

  /** Whether this exact threshold was set. */
  has(tenant: string, namespace: string): boolean {
    return this.records.has(keyOf(tenant, namespace));
  }

  get(tenant: string, namespace: string): number {
    return this.lookup(tenant, namespace).threshold;
  }

  /**
   * The threshold in force for a namespace of a tenant, and where it comes from. Namespace `*` asks
   * for the tenant's default, tenant `*` for the global one.
   */
  lookup(tenant: string, namespace: string): { threshold: number; source: ThresholdSource } {
    const own = tenant === ANY || namespace === ANY ? undefined : this.records.get(keyOf(tenant, namespace));
    if (own !== undefined) return { threshold: own, source: 'namespace' };
    const tenants = tenant === ANY ? undefined : this.records.get(keyOf(tenant, ANY));
    if (tenants !== undefined) return { threshold: tenants, source: 'tenant' };
    const global = this.records.get(keyOf(ANY, ANY));
    if (global !== undefined) return { threshold: global, source: 'global' };
    return { threshold: this.configured, source: 'config' };
  }

  /** Sets a threshold in the store and here at once (others learn of it from the caller's announcement). */
  async set(record: Omit<ThresholdRecord, 'updatedAt'>): Promise<void> {
    await this.store.put({ ...record, updatedAt: Date.now() });
    await this.reread();
    this.records.set(keyOf(record.tenant, record.namespace), record.threshold);
  }

  /** Removes a threshold, so the next broader one applies; false when there was none. */
  async unset(tenant: string, namespace: string): Promise<boolean> {
    const removed = await this.store.delete(tenant, namespace);
    await this.reread();
    this.records.delete(keyOf(tenant, namespace));
    return removed;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
