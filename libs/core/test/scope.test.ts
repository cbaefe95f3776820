import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, entryIdOf, hashParams, scopeKeyOf, splitConversation } from '@llm-cache/core';

const scope = { tenant: 't', namespace: 'n', model: 'm', paramsHash: hashParams({}), contextHash: '' };

test('equal parameters hash equally whatever their key order', () => {
  assert.equal(
    hashParams({ temperature: 0, top_p: 1, tools: [{ a: 1, b: 2 }] }),
    hashParams({ tools: [{ b: 2, a: 1 }], top_p: 1, temperature: 0 }),
  );
  assert.notEqual(hashParams({ temperature: 0 }), hashParams({ temperature: 0.1 }));
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
});

test('every scope component separates the scope key', () => {
  const base = scopeKeyOf(scope);
  for (const change of [
    { tenant: 'u' },
    { namespace: 'o' },
    { model: 'x' },
    { paramsHash: hashParams({ temperature: 1 }) },
    { contextHash: 'abc' },
  ]) {
    assert.notEqual(scopeKeyOf({ ...scope, ...change }), base, JSON.stringify(change));
  }
});

test('entry ids are stable for the same scope and normalized text', () => {
  const key = scopeKeyOf(scope);
  assert.equal(entryIdOf(key, 'Hello   world '), entryIdOf(key, 'Hello world'));
  assert.notEqual(entryIdOf(key, 'Hello world'), entryIdOf(scopeKeyOf({ ...scope, model: 'x' }), 'Hello world'));
});

test('a conversation splits into current turn, system prompt and context digest', () => {
  const apple = splitConversation([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Who is the CEO of Apple?' },
    { role: 'assistant', content: 'Tim Cook.' },
    { role: 'user', content: [{ type: 'text', text: 'How old is he?' }] },
  ]);
  const microsoft = splitConversation([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Who is the CEO of Microsoft?' },
    { role: 'assistant', content: 'Satya Nadella.' },
    { role: 'user', content: 'How old is he?' },
  ]);
  assert.equal(apple.text, 'How old is he?');
  assert.equal(apple.system, 'Be brief.');
  assert.equal(apple.text, microsoft.text);
  assert.notEqual(apple.contextHash, microsoft.contextHash);
  assert.equal(splitConversation([{ role: 'user', content: 'hi' }]).contextHash, '');
});
