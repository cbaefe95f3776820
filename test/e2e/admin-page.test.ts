/**
 * The admin page in a real browser: Debian's chromium (installed by infra/browser/chromium.sh when
 * missing), driven headless by playwright-core, against the real CLI with auth required. It saves
 * test-results/admin-page.png (and admin-page-refused.png) for a person to look at.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { postJson, REPO_ROOT, startCacheProcess, tempDir } from '../helpers/cache-process.ts';

const RESULTS_DIR = join(REPO_ROOT, 'test-results');

/** The chromium binary, installed through the project's script when it is missing. */
function chromiumPath(): string {
  const installed = spawnSync('bash', [join(REPO_ROOT, 'infra', 'browser', 'chromium.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  const path = installed.stdout?.trim().split('\n').pop();
  if (installed.status !== 0 || !path)
    throw new Error(
      `Chromium is not available: \`bash infra/browser/chromium.sh\` failed (${installed.error?.message ?? `exit code ${installed.status}`}); its messages are above`,
    );
  return path;
}

test('the admin page shows the figures, changes the threshold, lists evictions and refuses a reader token', async (t) => {
  const executablePath = chromiumPath();
  const adminToken = `admin-page-${randomBytes(16).toString('hex')}`;
  const cache = await startCacheProcess({
    LLMCACHE_DATA_DIR: tempDir(t),
    LLMCACHE_AUTH_REQUIRED: 'true',
    LLMCACHE_AUTH_ADMIN_TOKEN: adminToken,
    LLMCACHE_EVICTION_MAX_ENTRIES: '3',
    LLMCACHE_EVICTION_INTERVAL_MS: '300',
  });
  t.after(() => cache.stop());
  const admin = { authorization: `Bearer ${adminToken}` };
  const store = async (prompt: string, namespace: string): Promise<void> => {
    const stored = await postJson(`${cache.url}/v1/cache/entries?wait=true`, { prompt, response: `About: ${prompt}`, namespace }, admin);
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
  };

  // Traffic the page must reflect: three entries in two namespaces, one hit and one miss.
  await store('How do I reset my password?', 'faq');
  await store('Which payment methods do you accept?', 'faq');
  await store('Where is the API reference for webhooks?', 'docs');
  const hit = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'How do I reset my password?', namespace: 'faq' }, admin);
  assert.equal(hit.body.hit, true);
  const miss = await postJson(`${cache.url}/v1/cache/lookup`, { prompt: 'What is the boiling point of tin?', namespace: 'faq' }, admin);
  assert.equal(miss.body.hit, false);
  const reader = await postJson(`${cache.url}/v1/admin/tokens`, { name: 'page-reader', role: 'reader' }, admin);
  assert.equal(reader.status, 201);

  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Script errors and Content-Security-Policy refusals; the refused API calls the page makes on purpose
  // are logged as failed resource loads and are not errors of the page.
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });

  const response = await page.goto(`${cache.url}/admin?refresh=1`);
  assert.equal(response?.status(), 200);
  assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);

  // Without a token the data APIs answer 401: the page says so and asks for one.
  await page.locator('#token-panel').waitFor({ state: 'visible' });
  assert.match((await page.locator('#message').textContent()) ?? '', /401/);
  await page.fill('#token-input', adminToken);
  await page.click('#token-form button[type=submit]');
  await page.locator('#dashboard').waitFor({ state: 'visible' });

  assert.equal(await page.locator('#hit-rate').textContent(), '50.0%');
  assert.match((await page.locator('#lookups').textContent()) ?? '', /^2 lookups, 1 exact hit, 0 semantic hits, 1 miss$/);
  assert.equal(await page.locator('#namespaces tr[data-namespace="faq"] td.entries').textContent(), '2');
  assert.equal(await page.locator('#namespaces tr[data-namespace="docs"] td.entries').textContent(), '1');
  const configured = (await (await fetch(`${cache.url}/v1/admin/threshold`, { headers: admin })).json()) as { threshold: number };
  assert.equal(await page.locator('#threshold-current').textContent(), String(configured.threshold));
  assert.notEqual(configured.threshold, 0.73);

  // The threshold control changes the gateway's threshold.
  await page.fill('#threshold-input', '0.73');
  await page.click('#threshold-apply');
  await page.locator('#threshold-status', { hasText: 'Threshold set to 0.73' }).waitFor();
  const threshold = await fetch(`${cache.url}/v1/admin/threshold`, { headers: admin });
  assert.deepEqual(
    await threshold.json(),
    { threshold: 0.73, tenant: '*', namespace: '*', source: 'global' },
    "the bootstrap admin's is the global default",
  );
  await page.locator('#threshold-current', { hasText: '0.73' }).waitFor();

  // A fourth entry goes over eviction.maxEntries (3): the evictor removes one, and the page, refreshing
  // by itself, lists the eviction.
  await store('How long is the refund window?', 'faq');
  const evicted = page.locator('#evictions tr[data-reason="CAPACITY"]');
  await evicted.waitFor({ timeout: 20_000 });
  assert.match((await evicted.textContent()) ?? '', /CAPACITY/);

  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, 'admin-page.png'), fullPage: true });
  assert.deepEqual(pageErrors, []);

  // A token without the admin role is refused, and the page says why.
  await page.click('#forget-token');
  await page.fill('#token-input', reader.body.token as string);
  await page.click('#token-form button[type=submit]');
  await page.locator('#message', { hasText: '403' }).waitFor();
  assert.match((await page.locator('#message').textContent()) ?? '', /does not have the admin role/);
  assert.equal(await page.locator('#dashboard').isVisible(), false);
  assert.equal(await page.evaluate('sessionStorage.length'), 0, 'the refused token is not kept');
  await page.screenshot({ path: join(RESULTS_DIR, 'admin-page-refused.png'), fullPage: true });
});
