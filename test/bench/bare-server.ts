/** A bare node:http server answering every request with the bytes in BARE_BODY: the benchmarks' ceiling. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const bytes = process.env.BARE_BODY ?? '{}';
const server = createServer((request, response) => {
  request.resume();
  request.on('end', () => response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(bytes));
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
