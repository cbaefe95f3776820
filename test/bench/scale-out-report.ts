/** The tables and plots of the scale-out benchmark (scale-out.ts). */
import { formatTable, type LoadResult } from './lib.ts';
import { writePlot } from './plot.ts';

/** CPU seconds used over a measured window, by process, and how long the window was. */
export interface Measured {
  wallSeconds: number;
  /**
   * By process: gateway-1, embedder-2..., the stack's servers (kafka, registry, milvus, mongo, s3,
   * each with the processes below it), the load generator (the benchmark itself) and the rest of the
   * machine (busy time of every other process and the kernel: other users of the machine).
   */
  cpuSeconds: Record<string, number>;
  /** The whole machine's busy CPU seconds over the window. */
  machineBusySeconds: number;
}

export interface ScaleRow {
  layout: string;
  embedders: number;
  matchers: number;
  /** The partitions each member of the embedder and matcher groups held when the run began. */
  partitionsHeld: { embedders: number[][]; matchers: number[][] };
  /** Every process with no load, after the warm-up. */
  idle: Measured;
  semantic: Measured & { result: LoadResult; hits: { semantic: number; exact: number; timedOut: number } };
  exact?: Measured & { result: LoadResult; hits: { semantic: number; exact: number } };
}

const ROLES = ['gateway', 'embedder', 'matcher', 'writer', 'evictor', 'kafka', 'registry', 'milvus', 'mongo', 's3'] as const;
const SERVICES = new Set<string>(['gateway', 'embedder', 'matcher', 'writer', 'evictor']);
const roleOf = (name: string): string => name.replace(/-\d+$/, '');
const finite = (x: number | undefined): number => (x !== undefined && Number.isFinite(x) ? x : 0);

/**
 * CPU seconds of each process over a window, less what it uses idle over as long a window when a
 * baseline is given: the part that grows with the work done.
 */
function used(m: Measured, baseline?: Measured): Record<string, number> {
  return Object.fromEntries(
    Object.entries(m.cpuSeconds).map(([name, seconds]) => [
      name,
      baseline === undefined ? seconds : seconds - (finite(baseline.cpuSeconds[name]) / baseline.wallSeconds) * m.wallSeconds,
    ]),
  );
}

/**
 * One table row of CPU per unit of work (scale 1000 and per = lookups: ms per lookup; scale 1 and
 * per = seconds: cores), by role with instances joined by "+", then sums.
 */
function cells(cpu: Record<string, number>, per: number, scale: number, digits: number, machine?: number): string[] {
  const value = (seconds: number): string => ((scale * seconds) / per).toFixed(digits);
  const names = Object.keys(cpu).sort();
  const sum = (pick: (name: string) => boolean): number => names.filter(pick).reduce((total, name) => total + finite(cpu[name]), 0);
  return [
    ...ROLES.map((role) => {
      const instances = names.filter((name) => roleOf(name) === role).map((name) => value(cpu[name] as number));
      return instances.length === 0 ? '-' : instances.join('+');
    }),
    value(sum((name) => SERVICES.has(roleOf(name)))),
    value(sum((name) => (ROLES as readonly string[]).includes(name))),
    value(finite(cpu['load generator'])),
    ...(machine === undefined ? [] : [value(finite(cpu['rest of machine'])), value(machine)]),
  ];
}
const CPU_HEADER = [...ROLES, 'LLM-Cache', 'stack', 'load gen'];
const MACHINE_HEADER = [...CPU_HEADER, 'rest', 'machine'];

export function printScaleOut(
  rows: ScaleRow[],
  settings: { seconds: number; connections: number; entries: number; partitions: number },
  stores: { perSecond: number; failed: Record<string, number> } | undefined,
): void {
  const first = rows[0]?.semantic.result.requestsPerSecond ?? NaN;
  console.log(
    `\nSemantic lookups of distinct paraphrases over HTTP, ${settings.connections} connections, ${settings.seconds}s per layout, ` +
      `${settings.entries} entries, topics of ${settings.partitions} partitions (layout: embedders+matchers; one gateway, writer, evictor)`,
  );
  console.log(
    formatTable(
      ['layout', 'lookups/s', `vs ${rows[0]?.layout}`, 'p50 ms', 'p99 ms', 'hit rate', 'exact', 'timed out', 'errors', 'busy cores'],
      rows.map(({ layout, semantic: s }) => [
        layout,
        s.result.requestsPerSecond.toFixed(1),
        `${(s.result.requestsPerSecond / first).toFixed(2)}x`,
        s.result.p50Ms.toFixed(0),
        s.result.p99Ms.toFixed(0),
        `${((100 * (s.hits.semantic + s.hits.exact)) / Math.max(1, s.result.requests)).toFixed(1)}%`,
        String(s.hits.exact),
        String(s.hits.timedOut),
        String(s.result.errors + s.result.non2xx),
        (s.machineBusySeconds / s.wallSeconds).toFixed(2),
      ]),
    ),
  );
  for (const { layout, partitionsHeld } of rows) {
    console.log(
      `${layout}: embedders hold partitions ${JSON.stringify(partitionsHeld.embedders)}, matchers ${JSON.stringify(partitionsHeld.matchers)}`,
    );
  }
  const table = (title: string, header: string[], row: (r: ScaleRow) => string[]): void => {
    console.log(`\n${title}`);
    console.log(
      formatTable(
        ['layout', ...header],
        rows.map((r) => [r.layout, ...row(r)]),
      ),
    );
  };
  table('Cores used idle, before the run (CPU seconds per second; rest: every other process on the machine)', MACHINE_HEADER, ({ idle }) =>
    cells(idle.cpuSeconds, idle.wallSeconds, 1, 2, idle.machineBusySeconds),
  );
  table('Cores used during the semantic run', MACHINE_HEADER, ({ semantic: s }) =>
    cells(s.cpuSeconds, s.wallSeconds, 1, 2, s.machineBusySeconds),
  );
  table(
    'CPU ms per semantic lookup, by process (instances joined by +; stack servers also serve anything else using them)',
    CPU_HEADER,
    ({ semantic: s }) => cells(s.cpuSeconds, s.result.requests, 1000, 2),
  );
  table('CPU ms per semantic lookup over idle (what each lookup adds)', CPU_HEADER, ({ idle, semantic: s }) =>
    cells(used(s, idle), s.result.requests, 1000, 2),
  );
  const exactRows = rows.filter((r) => r.exact !== undefined);
  if (exactRows.length > 0) {
    console.log('\nExact repeats (answered from the gateway exact tier), CPU µs per lookup over idle, by process');
    console.log(
      formatTable(
        ['layout', 'lookups/s', 'p50 ms', 'p99 ms', 'exact hits', ...CPU_HEADER],
        exactRows.map(({ layout, idle, exact }) => {
          const e = exact as NonNullable<ScaleRow['exact']>;
          const share = `${((100 * e.hits.exact) / Math.max(1, e.result.requests)).toFixed(1)}%`;
          const figures = [e.result.requestsPerSecond.toFixed(0), e.result.p50Ms.toFixed(1), e.result.p99Ms.toFixed(1), share];
          return [layout, ...figures, ...cells(used(e, idle), e.result.requests, 1e6, 0)];
        }),
      ),
    );
  }
  if (stores) {
    const failures = Object.entries(stores.failed).map(([status, n]) => `${n} answered ${status}`);
    console.log(`\nstored ${stores.perSecond.toFixed(1)} entries/s${failures.length ? `; not confirmed: ${failures.join(', ')}` : ''}`);
  }
}

export async function plotScaleOut(rows: ScaleRow[]): Promise<void> {
  await writePlot('scale-out-throughput.svg', {
    title: 'Semantic lookups/s by layout (embedders+matchers)',
    xLabel: 'layout',
    yLabel: 'lookups/s',
    kind: 'bar',
    series: [{ name: 'lookups/s', points: rows.map((r): [string, number] => [r.layout, r.semantic.result.requestsPerSecond]) }],
  });
  await writePlot('scale-out-cpu.svg', {
    title: 'CPU ms per semantic lookup over idle, by role and layout',
    xLabel: 'role',
    yLabel: 'CPU ms per lookup',
    kind: 'bar',
    series: rows.map(({ layout, idle, semantic: s }) => {
      const cpu = used(s, idle);
      return {
        name: layout,
        points: ROLES.map((role): [string, number] => [
          role,
          (1000 *
            Object.entries(cpu)
              .filter(([name]) => roleOf(name) === role)
              .reduce((sum, [, seconds]) => sum + finite(seconds), 0)) /
            Math.max(1, s.result.requests),
        ]),
      };
    }),
  });
}
