import assert from 'node:assert/strict';
import { test } from 'node:test';
import { byteWindow, coveredContextHash, coverText, type TextWindow } from '@llm-cache/core';

/** A window of `max` words, in which words of "?" marks are unreadable. */
const words = (max: number): TextWindow => ({
  maxTokens: max,
  maxChars: max * 100,
  fits: (text) => text.split(' ').length <= max,
  unseen: (text) => text.split(' ').filter((word) => /^\?+$/.test(word)),
});

test('a text that fits is embedded whole, with nothing to match exactly', () => {
  assert.deepEqual(coverText('how do I reverse a list', words(10)), { embedded: 'how do I reverse a list', exact: '' });
});

test('a longer text is embedded from its last sentence; what precedes it must match exactly', () => {
  const context = 'The report covers four quarters. Revenue grew in each one. Hiring slowed in the fourth.';
  assert.deepEqual(coverText(`${context} What was the total revenue?`, words(8)), {
    embedded: 'What was the total revenue?',
    exact: context,
  });
  // A paraphrase after the same context splits at the same place, so it shares the exact part.
  assert.equal(coverText(`${context} How much revenue was there in total?`, words(8)).exact, context);
});

test('when even the last sentence does not fit, the whole text must match exactly', () => {
  const text = 'one two three four five six seven eight nine ten eleven twelve';
  const covered = coverText(text, words(5));
  assert.equal(covered.exact, text);
  assert.equal(covered.embedded, 'eight nine ten eleven twelve', 'the longest tail that fits is still embedded');
});

test('unreadable words must match exactly, even in a text that fits', () => {
  const covered = coverText('translate ??? into words', words(10));
  assert.equal(covered.embedded, 'translate ??? into words');
  assert.notEqual(covered.exact, '');
  assert.notEqual(coverText('translate ?? into words', words(10)).exact, covered.exact);
});

test('the exact part changes the context digest, and nothing changes it when there is none', () => {
  assert.equal(coveredContextHash('abc', ''), 'abc');
  assert.notEqual(coveredContextHash('', 'context one'), coveredContextHash('', 'context two'));
  assert.notEqual(coveredContextHash('turns', 'context'), coveredContextHash('other turns', 'context'));
});

test('the byte window counts UTF-8 bytes and sees every word', () => {
  const window = byteWindow(8);
  assert.equal(window.fits('12345678'), true);
  assert.equal(window.fits('1234567é'), false);
  assert.deepEqual(window.unseen('😀'), []);
});

test('full-width sentence ends split without a space, so a long CJK prompt is matched on its last sentence', () => {
  const context = '本报告涵盖四个季度。每个季度收入都在增长。'.repeat(200);
  const covered = coverText(`${context}总收入是多少？`, byteWindow(8191));
  assert.equal(covered.embedded, '总收入是多少？');
  assert.equal(covered.exact, context);
});

test("a tail cut inside a word fits the window's own units and never splits a surrogate pair", () => {
  const han = '汉'.repeat(4_400);
  const covered = coverText(han, byteWindow(8191));
  assert.equal(covered.exact, han, 'nothing fits: the whole text must match exactly');
  assert.ok(Buffer.byteLength(covered.embedded) <= 8191 && covered.embedded.length > 2_000, `${covered.embedded.length} characters`);
  const emoji = '😀'.repeat(3_000);
  const tail = coverText(emoji, byteWindow(8191)).embedded;
  assert.ok(Buffer.from(tail).toString() === tail, 'no lone surrogate (it would not survive UTF-8)');
  assert.ok(Buffer.byteLength(tail) <= 8191 && Buffer.byteLength(tail) > 8_000);
});
