import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openApiDocument } from '@llm-cache/gateway';

test('schemas/openapi.yaml is the document the routes generate (run `npm run openapi` after changing a route)', async () => {
  const committed = readFileSync(new URL('../../../schemas/openapi.yaml', import.meta.url), 'utf8');
  assert.equal(committed, await openApiDocument());
});
