import assert from 'node:assert/strict';
import test from 'node:test';
import { FalseHitBudget, seededRandom } from '../src/index.ts';

test('the risks charged never exceed the budget earned, and the cheapest hits are the ones taken', () => {
  const budget = new FalseHitBudget({ maxFalseHitRate: 0.02 });
  const random = seededRandom(1);
  let charged = 0;
  for (let i = 1; i <= 20_000; i++) {
    const risk = random();
    const allowance = budget.allowance;
    if (budget.tryCharge(risk)) {
      charged += risk;
      assert.ok(risk <= Math.max(allowance, budget.allowance));
    }
    assert.ok(charged <= 0.02 * i + 1e-9, `charged ${charged} after ${i} lookups`);
  }
  // Uniform risks: answering every lookup with risk under a costs a^2/2 per lookup, so a = 0.2 spends 0.02.
  assert.ok(Math.abs(budget.allowance - 0.2) < 0.03, `allowance ${budget.allowance}`);
  assert.ok(budget.spentRate > 0.015 && budget.spentRate <= 0.02, `spent ${budget.spentRate} per lookup`);
});

test('unspent budget is carried over only up to the burst', () => {
  const budget = new FalseHitBudget({ maxFalseHitRate: 0.02, burst: 100, window: 200 });
  for (let i = 0; i < 10_000; i++) budget.tryCharge(0.5);
  assert.ok(budget.allowance >= 0 && budget.spentRate <= 0.02);
  const before = budget.spentRate * 10_000;
  let taken = 0;
  for (let i = 0; i < 100; i++) if (budget.tryCharge(0.001)) taken += 0.001;
  // At most the burst (0.02 * 100) plus what the 100 lookups earn.
  assert.ok(budget.spentRate * 10_100 - before <= 0.02 * 100 + 0.02 * 100 + 1e-9);
  assert.ok(taken > 0);
});

test('a lookup that would be a certain miss never gets a hit', () => {
  const budget = new FalseHitBudget({ maxFalseHitRate: 0.5, burst: 10_000 });
  for (let i = 0; i < 1000; i++) assert.equal(budget.tryCharge(1), false);
});
