import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const PAGE_FILE = new URL('../../static/admin.html', import.meta.url);

const hashOf = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page and a Content-Security-Policy that allows exactly its own inline script and style (by
 * hash) and requests to this gateway only: the page handles an admin token, so nothing else may run
 * in it or receive what it reads.
 */
function loadPage(): { html: string; policy: string } {
  const html = readFileSync(PAGE_FILE, 'utf8');
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1];
  if (script === undefined || style === undefined) throw new Error(`${PAGE_FILE.pathname} lacks its inline <script> or <style>`);
  const policy = [
    "default-src 'none'",
    `script-src ${hashOf(script)}`,
    `style-src ${hashOf(style)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, policy };
}

/**
 * GET /admin: a self-contained page (static/admin.html) showing the hit rate, namespaces, threshold and
 * recent evictions. The page itself is public and holds no data; every figure comes from the admin
 * API, which needs the admin role.
 */
export function registerAdminPage(app: FastifyInstance): void {
  const { html, policy } = loadPage();
  app.get(
    '/admin',
    {
      schema: {
        summary: 'The admin page (HTML); its figures come from the admin API and need an admin token',
        tags: ['admin'],
        response: { 200: { description: 'The page', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', policy)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-store')
        .send(html),
  );
}
