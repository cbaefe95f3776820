import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** What Node's own cap adds to `max`: room for connections the limiter is closing at that moment. */
const headroom = (max: number): number => Math.max(16, Math.ceil(max / 10));

/**
 * Caps the server's open connections at `max` without locking health checks and new clients out: at
 * the cap, a new connection closes the longest idle one, first among those that have not sent a whole
 * request yet (connected and silent, or sending slowly), then among those kept alive between requests.
 * A new connection is refused only when every open one is busy with a request. Node's own
 * `maxConnections`, a little above `max`, bounds bursts while the closed ones go.
 *
 * Node has no such policy (its `maxConnections` refuses new connections, health checks included, while
 * idle ones hold every place), hence this. Connections are the TCP sockets; behind TLS, a request's
 * socket is matched to its TCP socket by the peer's address and port.
 */
export function limitConnections(server: Server, max: number, tls: boolean): void {
  server.maxConnections = max + headroom(max);
  /** Connected, no request yet; oldest first. */
  const waiting = new Set<Socket>();
  /** Served, between requests; longest idle first. */
  const idle = new Set<Socket>();
  /** Requests in flight per connection. */
  const busy = new Map<Socket, number>();
  /** Behind TLS: the TCP socket of each peer (address and port) and of each TLS socket. */
  const byPeer = new Map<string, Socket>();
  const underTls = new WeakMap<TLSSocket, Socket>();
  const peer = (socket: Socket): string => `${socket.remoteAddress}|${socket.remotePort}`;

  const forget = (socket: Socket): void => {
    waiting.delete(socket);
    idle.delete(socket);
    busy.delete(socket);
  };

  server.on('connection', (socket: Socket) => {
    if (waiting.size + idle.size + busy.size >= max) {
      const victim = waiting.values().next().value ?? idle.values().next().value;
      if (!victim) {
        socket.destroy();
        return;
      }
      forget(victim);
      victim.destroy();
    }
    waiting.add(socket);
    if (tls && socket.remoteAddress !== undefined) {
      const key = peer(socket);
      byPeer.set(key, socket);
      socket.once('close', () => byPeer.delete(key));
    }
    socket.once('close', () => forget(socket));
  });

  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const tcp = byPeer.get(peer(socket));
      if (tcp) underTls.set(socket, tcp);
    });
  }

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = tls ? underTls.get(request.socket as TLSSocket) : request.socket;
    if (!socket || socket.destroyed) return;
    waiting.delete(socket);
    idle.delete(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    response.once('close', () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) busy.set(socket, left);
      else if (busy.delete(socket) && !socket.destroyed) idle.add(socket);
    });
  });
}
