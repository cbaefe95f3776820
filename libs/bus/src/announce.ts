import type { CacheEntry } from '@llm-cache/core';
import { TOPICS, type EvictionReason } from '@llm-cache/codec';
import type { EventBus } from './event-bus.ts';

/** Announces removed entries, one event per tenant and namespace, so every gateway drops them. */
export async function announceEvictions(bus: EventBus, removed: readonly CacheEntry[], reason: EvictionReason): Promise<void> {
  const groups = new Map<string, CacheEntry[]>();
  for (const entry of removed) {
    const key = `${entry.tenant}\u0000${entry.namespace}`;
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  for (const entries of groups.values()) {
    const first = entries[0] as CacheEntry;
    await bus.publish(TOPICS.evictions, first.scopeKey, {
      entryIds: entries.map((entry) => entry.id),
      tenant: first.tenant,
      namespace: first.namespace,
      reason,
      at: Date.now(),
    });
  }
}
