import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OTHER, TopValues, topSamples } from '../src/top-values.ts';

test('the first values keep their label, the rest are other, and memory stays bounded under a flood of names', () => {
  const values = new TopValues({ limit: 3, now: () => 0 });
  assert.deepEqual(
    ['a', 'b', 'c', 'd', 'a', 'e'].map((value) => values.label(value)),
    ['a', 'b', 'c', OTHER, 'a', OTHER],
  );
  for (let i = 0; i < 10_000; i++) assert.equal(values.label(`flood-${i}`), OTHER);
  assert.ok((values as unknown as { others: Map<string, unknown> }).others.size <= 64, 'the summary of the others stays bounded');
});

test('at the end of a window a busier other value takes the place of the quietest kept one', () => {
  let now = 0;
  const values = new TopValues({ limit: 2, windowMs: 1000, now: () => now });
  const dropped: string[] = [];
  values.onDrop((value) => dropped.push(value));
  values.label('quiet');
  values.label('busy');
  for (let i = 0; i < 50; i++) {
    values.label('busy');
    assert.equal(values.label('rising'), OTHER);
  }
  now = 1000;
  assert.equal(values.label('rising'), 'rising', 'rising had more traffic than quiet in the window');
  assert.deepEqual(dropped, ['quiet']);
  assert.equal(values.label('busy'), 'busy');
  assert.equal(values.label('quiet'), OTHER);
  // A single use in a window does not beat a kept value that had as much.
  now = 2000;
  assert.equal(values.label('quiet'), OTHER);
  assert.deepEqual(dropped, ['quiet']);
});

test('a smaller limit drops the quietest kept values', () => {
  const values = new TopValues({ limit: 3, now: () => 0 });
  const dropped: string[] = [];
  values.onDrop((value) => dropped.push(value));
  for (const value of ['a', 'a', 'a', 'b', 'c', 'c']) values.label(value);
  values.setLimit(1);
  assert.deepEqual(dropped.sort(), ['b', 'c']);
  assert.equal(values.label('a'), 'a');
  assert.equal(values.label('b'), OTHER);
});

test('topSamples keeps the heaviest samples and merges the rest into one', () => {
  const samples = [5, 1, 9, 3, 7].map((weight) => ({ name: `n${weight}`, weight }));
  const merged = topSamples(
    samples,
    2,
    (s) => s.weight,
    (rest) => ({ name: OTHER, weight: rest.reduce((sum, s) => sum + s.weight, 0) }),
  );
  assert.deepEqual(merged, [
    { name: 'n9', weight: 9 },
    { name: 'n7', weight: 7 },
    { name: OTHER, weight: 9 },
  ]);
  assert.equal(
    topSamples(
      samples,
      5,
      (s) => s.weight,
      () => assert.fail('nothing to merge'),
    ).length,
    5,
  );
});
