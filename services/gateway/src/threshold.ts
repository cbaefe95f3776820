import { CacheError } from '@llm-cache/core';

/** The runtime similarity threshold: one value, replaced atomically, read on every request. */
export class ThresholdSetting {
  private current: number;

  constructor(initial: number) {
    this.current = ThresholdSetting.check(initial);
  }

  static check(value: unknown): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
      throw new CacheError('LLMCACHE_VALIDATION', 'threshold must be a number from 0 to 1');
    }
    return value;
  }

  get(): number {
    return this.current;
  }

  set(value: number): number {
    this.current = ThresholdSetting.check(value);
    return this.current;
  }
}
