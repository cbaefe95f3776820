/**
 * Counting what a server really holds open, from /proc (Linux): a load generator's own connection
 * count says what it asked for, these say what the server kept.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const ESTABLISHED = '01';

/**
 * Inodes of the established TCP sockets whose local port is `port`: the server side of each client
 * connection, including those the kernel completed but the server has not accepted yet.
 */
export function establishedOnPort(port: number): Set<string> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/);
      if (fields[3] === ESTABLISHED && fields[1]?.endsWith(hex) && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** Of `inodes`, how many are open in process `pid`: connections it accepted and holds. */
export function heldBy(pid: number, inodes: Set<string>): number {
  let held = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined && inodes.has(match[1])) held += 1;
    } catch {
      // closed between the listing and the read
    }
  }
  return held;
}

/** The soft limit on open files of a process, from /proc/<pid>/limits. */
export function openFilesLimit(pid: number): number | undefined {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
}

/**
 * Samples a server process while `work` runs; resolves to the most connections on its port the
 * kernel had established at once, and the most of them the process itself held open, beyond those
 * open before.
 */
export async function peakConnections<T>(
  pid: number,
  port: number,
  work: Promise<T>,
  everyMs = 250,
): Promise<{ result: T; established: number; held: number }> {
  // Connections open before the load (a client's keep-alive pool) are not the load's.
  const before = establishedOnPort(port);
  const heldBefore = heldBy(pid, before);
  let established = 0;
  let held = 0;
  const sample = (): void => {
    const inodes = establishedOnPort(port);
    established = Math.max(established, inodes.size - before.size);
    held = Math.max(held, heldBy(pid, inodes) - heldBefore);
  };
  const timer = setInterval(sample, everyMs);
  try {
    const result = await work;
    return { result, established, held };
  } finally {
    clearInterval(timer);
  }
}
