/**
 * A custom eviction policy: when over its limit, the cache drops the entries with the largest answers
 * first (they cost the most memory and are the cheapest to regenerate per byte). Use it with:
 *
 *   eviction:
 *     policy: custom
 *     module: examples/largest-first-policy.ts
 */
import type { EvictionPolicy } from '@llm-cache/evictor';

const largestFirst: EvictionPolicy = {
  name: 'largest-first',
  select: (candidates, count) =>
    [...candidates]
      .sort((a, b) => b.responseBytes - a.responseBytes || a.createdAt - b.createdAt)
      .slice(0, count)
      .map((entry) => entry.id),
};

export default largestFirst;
