import assert from 'node:assert/strict';
import { it } from 'node:test';
import { postJson } from '../helpers/cache-process.ts';

const REGIONS = ['north', 'south', 'east', 'west', 'central', 'coastal', 'mountain'];

/**
 * A report of `sentences` sentences (about 25 tokens each) on `company`: the shared context of a
 * RAG prompt. 60 sentences are about 1,500 tokens, far past the local model's window of 128.
 */
export function longContext(company: string, sentences = 60): string {
  return Array.from(
    { length: sentences },
    (_, i) =>
      `In quarter ${i + 1}, ${company} reported that its ${REGIONS[i % REGIONS.length]} division opened ${(i * 7) % 13} offices, ` +
      `hired ${(i * 31) % 97} engineers and settled ${(i * 3) % 11} supplier contracts.`,
  ).join('\n');
}

const REVENUE = 'What was the total revenue?';
const REVENUE_PARAPHRASE = 'How much revenue was there in total?';
const HIRING = 'Who is the head of hiring?';

/**
 * Long prompts: the part of a request the embedding does not read must still decide the match
 * (docs/cache-rules.md, "Long prompts"). Shared by both modes.
 */
export function defineLongPromptScenarios(cacheUrl: () => string): void {
  const lookup = async (body: Record<string, unknown>) => {
    const result = await postJson(`${cacheUrl()}/v1/cache/lookup`, body);
    assert.equal(result.status, 200, JSON.stringify(result.body));
    return result.body as { hit: boolean; response?: string; score: number };
  };
  const store = async (body: Record<string, unknown>) => {
    const result = await postJson(`${cacheUrl()}/v1/cache/entries?wait=true`, body);
    assert.equal(result.status, 201, JSON.stringify(result.body));
  };

  it('matches a long prompt on its question and on the exact context before it', async () => {
    const acme = longContext('Acme Corporation');
    const globex = longContext('Globex Industries');
    assert.ok(acme.length > 5_000, 'more than 1,000 tokens of context');
    await store({ prompt: `${acme}\n${REVENUE}`, response: 'Acme revenue: 12 million', namespace: 'long' });
    const paraphrase = await lookup({ prompt: `${acme}\n${REVENUE_PARAPHRASE}`, namespace: 'long' });
    assert.equal(paraphrase.hit, true, `a paraphrased question after the same context hits: ${JSON.stringify(paraphrase)}`);
    assert.equal(paraphrase.response, 'Acme revenue: 12 million');
    const other = await lookup({ prompt: `${acme}\n${HIRING}`, namespace: 'long' });
    assert.equal(other.hit, false, `another question after the same context misses: ${JSON.stringify(other)}`);
    const otherContext = await lookup({ prompt: `${globex}\n${REVENUE}`, namespace: 'long' });
    assert.equal(otherContext.hit, false, 'the same question after another context misses');
    const changed = await lookup({ prompt: `${acme.replace('hired 31 engineers', 'hired 32 engineers')}\n${REVENUE}`, namespace: 'long' });
    assert.equal(changed.hit, false, 'one number changed deep in the context is a different context');
  });

  it('matches chat requests whose long part is the system prompt, the earlier turns or the question', async () => {
    const acme = longContext('Acme Corporation');
    const globex = longContext('Globex Industries');
    const bySystem = (context: string, question: string) => ({
      namespace: 'long-chat',
      messages: [
        { role: 'system', content: `Answer from this report only.\n${context}` },
        { role: 'user', content: question },
      ],
    });
    const byTurns = (context: string, question: string) => ({
      namespace: 'long-chat',
      messages: [
        { role: 'user', content: `Here is our report:\n${context}` },
        { role: 'assistant', content: 'Thanks, I have read the report.' },
        { role: 'user', content: question },
      ],
    });
    const inQuestion = (context: string, question: string) => ({
      namespace: 'long-chat',
      messages: [{ role: 'user', content: `${context}\n${question}` }],
    });
    for (const [name, shape] of [
      ['system prompt', bySystem],
      ['earlier turns', byTurns],
      ['current turn', inQuestion],
    ] as const) {
      await store({ ...shape(acme, REVENUE), response: `revenue via ${name}` });
      const paraphrase = await lookup(shape(acme, REVENUE_PARAPHRASE));
      assert.equal(paraphrase.hit, true, `${name}: a paraphrase after the same context hits`);
      assert.equal(paraphrase.response, `revenue via ${name}`);
      assert.equal((await lookup(shape(acme, HIRING))).hit, false, `${name}: another question misses`);
      assert.equal((await lookup(shape(globex, REVENUE))).hit, false, `${name}: the same question after another context misses`);
    }
  });

  it('never lets words the model cannot read decide a hit', async () => {
    await store({ prompt: 'Translate 😀 into words.', response: 'grinning face', namespace: 'unseen' });
    const same = await lookup({ prompt: 'Translate 😀 into words.', namespace: 'unseen' });
    assert.equal(same.hit, true);
    const other = await lookup({ prompt: 'Translate 🙃 into words.', namespace: 'unseen' });
    assert.equal(other.hit, false, `another emoji reads the same to the model, so it must match exactly: ${JSON.stringify(other)}`);
  });
}
