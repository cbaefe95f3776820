/**
 * Readings from /proc (Linux): the connections a server really holds open (a load generator's own
 * count says what it asked for, these say what the server kept), and the CPU time a process used.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const ESTABLISHED = '01';
const LISTEN = '0A';

/** Inodes of the TCP sockets in `state` whose local port is `port`, from /proc/net/tcp and tcp6. */
function socketsOnPort(port: number, state: string): Set<string> {
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
      if (fields[3] === state && fields[1]?.endsWith(hex) && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/**
 * Inodes of the established TCP sockets whose local port is `port`: the server side of each client
 * connection, including those the kernel completed but the server has not accepted yet.
 */
export function establishedOnPort(port: number): Set<string> {
  return socketsOnPort(port, ESTABLISHED);
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
 * kernel had established at once, the most of them the process itself held open (beyond those open
 * before), and when it first held that many.
 */
export async function peakConnections<T>(
  pid: number,
  port: number,
  work: Promise<T>,
  everyMs = 250,
): Promise<{ result: T; established: number; held: number; heldAfterSeconds: number }> {
  // Connections open before the load (a client's keep-alive pool) are not the load's.
  const before = establishedOnPort(port);
  const heldBefore = heldBy(pid, before);
  const started = performance.now();
  let established = 0;
  let held = 0;
  let heldAfterSeconds = 0;
  const sample = (): void => {
    const inodes = establishedOnPort(port);
    established = Math.max(established, inodes.size - before.size);
    const now = heldBy(pid, inodes) - heldBefore;
    if (now > held) {
      held = now;
      heldAfterSeconds = (performance.now() - started) / 1000;
    }
  };
  const timer = setInterval(sample, everyMs);
  try {
    const result = await work;
    return { result, established, held, heldAfterSeconds };
  } finally {
    clearInterval(timer);
  }
}

/** Waits (at most `maxMs`) until no more than `baseline` connections to `port` remain established. */
export async function settled(port: number, baseline: number, maxMs = 15_000): Promise<number> {
  const until = performance.now() + maxMs;
  let open = establishedOnPort(port).size;
  while (open > baseline && performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    open = establishedOnPort(port).size;
  }
  return open;
}

/** USER_HZ: the unit of the CPU times in /proc/<pid>/stat, 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) process `pid` has used so far; NaN once it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces, so count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds used so far by each named process and every process below it (a launcher and the
 * server it runs), with one pass over /proc; NaN for a process that is gone.
 */
export function treeCpuSeconds(pids: ReadonlyMap<string, number>): Map<string, number> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // exited between the listing and the read
    }
  }
  const tree = (pid: number): number => {
    let total = cpuSeconds(pid);
    for (const child of children.get(pid) ?? []) {
      const used = tree(child);
      if (Number.isFinite(used)) total += used;
    }
    return total;
  };
  return new Map([...pids].map(([name, pid]) => [name, tree(pid)]));
}

/** The process listening on TCP `port` (found through its socket in /proc/net/tcp and /proc/<pid>/fd), if any. */
export function listenerPid(port: number): number | undefined {
  const inodes = socketsOnPort(port, LISTEN);
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (heldBy(Number(entry), inodes) > 0) return Number(entry);
    } catch {
      // exited, or not ours to read
    }
  }
  return undefined;
}

/**
 * CPU seconds the whole machine has spent busy (user, nice, system, irq, softirq) and in all (those,
 * idle and iowait; time stolen by the hypervisor is in neither), from /proc/stat.
 */
export function machineCpuSeconds(): { busy: number; total: number } {
  const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 8).map(Number);
  const total = fields.reduce((sum, ticks) => sum + ticks, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}
