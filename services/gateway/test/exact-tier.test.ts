import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExactTier, parseCacheControl } from '@llm-cache/gateway';

const hit = (entryId: string, extra: Partial<{ score: number; expiresAt: number | null }> = {}) => ({
  entryId,
  response: `answer ${entryId}`,
  score: 1,
  createdAt: 0,
  expiresAt: null,
  ...extra,
});

test('the exact tier answers, expires and drops by entry id', () => {
  const tier = new ExactTier({ shards: 4, maxEntries: 100, maxBytes: 1_000_000 });
  tier.set('k1', hit('e1'));
  tier.set('k2', hit('e1', { score: 0.9 }));
  tier.set('k3', hit('e2', { expiresAt: 50 }));
  assert.equal(tier.get('k1', 10)?.entryId, 'e1');
  assert.equal(tier.get('k3', 10)?.entryId, 'e2');
  assert.equal(tier.get('k3', 50), undefined, 'expired at expiresAt');
  tier.dropEntries(['e1']);
  assert.equal(tier.get('k1', 10), undefined);
  assert.equal(tier.get('k2', 10), undefined);
  assert.equal(tier.size, 0);
});

test('the exact tier stays within its bounds', () => {
  const tier = new ExactTier({ shards: 2, maxEntries: 10, maxBytes: 1_000_000 });
  for (let i = 0; i < 100; i++) tier.set(`key-${i}`, hit(`e${i}`));
  assert.ok(tier.size <= 10, `size ${tier.size}`);
  const small = new ExactTier({ shards: 1, maxEntries: 1000, maxBytes: 2_000 });
  for (let i = 0; i < 100; i++) small.set(`key-${i}`, { ...hit(`e${i}`), response: 'x'.repeat(200) });
  assert.ok(small.size <= 5, `size ${small.size}`);
});

test('Cache-Control directives are parsed', () => {
  assert.deepEqual(parseCacheControl('no-cache'), { noCache: true, noStore: false, maxAgeSeconds: undefined });
  assert.deepEqual(parseCacheControl('No-Store, max-age=60'), { noCache: false, noStore: true, maxAgeSeconds: 60 });
  assert.deepEqual(parseCacheControl('max-age=abc'), { noCache: false, noStore: false, maxAgeSeconds: undefined });
  assert.deepEqual(parseCacheControl(undefined), { noCache: false, noStore: false, maxAgeSeconds: undefined });
});
