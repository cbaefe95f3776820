import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANY, MemoryThresholdStore, ThresholdBook } from '@llm-cache/storage';

test("a lookup takes its namespace's threshold, else its tenant's, else the global one, else the configured one", async (t) => {
  const store = new MemoryThresholdStore();
  const book = new ThresholdBook(store, 0.85);
  await book.start();
  t.after(() => book.close());
  assert.deepEqual(book.lookup('acme', 'faq'), { threshold: 0.85, source: 'config' });
  await book.set({ tenant: ANY, namespace: ANY, threshold: 0.9 });
  assert.deepEqual(book.lookup('acme', 'faq'), { threshold: 0.9, source: 'global' });
  await book.set({ tenant: 'acme', namespace: ANY, threshold: 0.8 });
  await book.set({ tenant: 'acme', namespace: 'faq', threshold: 0.7 });
  assert.deepEqual(book.lookup('acme', 'faq'), { threshold: 0.7, source: 'namespace' });
  assert.deepEqual(book.lookup('acme', 'docs'), { threshold: 0.8, source: 'tenant' });
  assert.deepEqual(book.lookup('acme', ANY), { threshold: 0.8, source: 'tenant' });
  assert.deepEqual(book.lookup('globex', 'faq'), { threshold: 0.9, source: 'global' }, "another tenant never sees acme's");
  assert.deepEqual(book.lookup(ANY, ANY), { threshold: 0.9, source: 'global' });
  assert.equal(await book.unset('acme', 'faq'), true);
  assert.equal(await book.unset('acme', 'faq'), false);
  assert.deepEqual(book.lookup('acme', 'faq'), { threshold: 0.8, source: 'tenant' });
});

test("another process's change is read on refresh, and a failed read keeps the thresholds held", async (t) => {
  const store = new MemoryThresholdStore();
  const book = new ThresholdBook(store, 0.85);
  await book.start();
  t.after(() => book.close());
  await store.put({ tenant: 'acme', namespace: ANY, threshold: 0.6, updatedAt: 1 });
  assert.equal(book.get('acme', 'faq'), 0.85, 'not yet read');
  await book.refresh();
  assert.equal(book.get('acme', 'faq'), 0.6);
  store.list = () => Promise.reject(new Error('store down'));
  await book.refresh();
  assert.equal(book.get('acme', 'faq'), 0.6);
});
