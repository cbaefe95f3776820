import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secretScrubber } from '../src/index.ts';

test('the scrubber removes every occurrence of each secret, also in its JSON-escaped form', () => {
  const scrub = secretScrubber(['sk-123456', 'pa"ss\\word', 'ab']);
  assert.equal(scrub('key sk-123456 and again sk-123456.'), 'key [redacted] and again [redacted].');
  assert.equal(scrub(JSON.stringify({ msg: 'failed with pa"ss\\word' })), '{"msg":"failed with [redacted]"}');
  assert.equal(scrub('ab stays: too short to be a secret'), 'ab stays: too short to be a secret');
  assert.equal(secretScrubber([])('unchanged'), 'unchanged');
});
