import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CacheError, type CacheEntry } from '@llm-cache/core';

/**
 * A custom eviction policy, loaded from the module named by `eviction.module` (its default export:
 * an object with `select`, or a function returning one). The evictor hands it the candidates of the
 * cache or namespace being trimmed, oldest first, and removes the ids it returns, in its order.
 */
export interface EvictionPolicy {
  readonly name?: string;
  /** Chooses at least `count` entries to evict (fewer ends this round); unknown ids are ignored. */
  select(candidates: readonly CacheEntry[], count: number, now: number): readonly string[] | Promise<readonly string[]>;
}

const isPolicy = (value: unknown): value is EvictionPolicy =>
  typeof value === 'object' && value !== null && typeof (value as { select?: unknown }).select === 'function';

/** Loads a policy module (TypeScript works too: the project runs through tsx). */
export async function loadEvictionPolicy(modulePath: string): Promise<EvictionPolicy> {
  let loaded: { default?: unknown };
  try {
    loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as { default?: unknown };
  } catch (error) {
    throw new CacheError('LLMCACHE_CONFIG', `eviction.module: cannot load ${modulePath}: ${(error as Error).message}`, { cause: error });
  }
  const exported = typeof loaded.default === 'function' ? (loaded.default as () => unknown)() : loaded.default;
  const policy = exported instanceof Promise ? ((await exported) as unknown) : exported;
  if (!isPolicy(policy))
    throw new CacheError(
      'LLMCACHE_CONFIG',
      `eviction.module: ${modulePath} must default-export an object with select(candidates, count, now)`,
    );
  return policy;
}
