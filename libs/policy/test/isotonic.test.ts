import assert from 'node:assert/strict';
import test from 'node:test';
import { isotonicIncreasing } from '../src/index.ts';

test('a non-decreasing sequence is kept as it is', () => {
  const fit = isotonicIncreasing([0.1, 0.2, 0.2, 0.9], [1, 1, 1, 1]);
  assert.deepEqual(
    fit.map((p) => p.value),
    [0.1, 0.2, 0.2, 0.9],
  );
  assert.deepEqual(
    fit.map((p) => p.pooled),
    [1, 1, 1, 1],
  );
});

test('violators are pooled into their weighted mean, and each point knows its block', () => {
  const fit = isotonicIncreasing([0.2, 0.6, 0.3, 0.9], [1, 1, 3, 1]);
  assert.equal(fit[0]?.value, 0.2);
  assert.ok(Math.abs((fit[1]?.value ?? 0) - (0.6 + 3 * 0.3) / 4) < 1e-12);
  assert.equal(fit[1]?.value, fit[2]?.value);
  assert.equal(fit[1]?.weight, 4);
  assert.equal(fit[2]?.pooled, 2);
  assert.equal(fit[3]?.value, 0.9);
});

test('the fit never decreases, whatever the input', () => {
  const values = [0.9, 0.1, 0.5, 0.4, 0.8, 0.2, 0.3, 0.95, 0.0];
  const fit = isotonicIncreasing(
    values,
    values.map((_, i) => 1 + (i % 3)),
  );
  for (let i = 1; i < fit.length; i++) assert.ok((fit[i]?.value ?? 0) >= (fit[i - 1]?.value ?? 0));
  const total = values.reduce((sum, v, i) => sum + v * (1 + (i % 3)), 0);
  const fitted = fit.reduce((sum, p, i) => sum + p.value * (1 + (i % 3)), 0);
  assert.ok(Math.abs(total - fitted) < 1e-9, 'pooling keeps the weighted sum');
});
