/**
 * The Python side of the GPTCache comparison: the virtualenv holding the pinned requirements
 * (test/helpers/python-venv.ts), and one run of gptcache_peer.py. Every failure says which step failed and shows the tool's own output, because a
 * comparison that silently drops its peer would read as a result.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureVenv, venvDir } from '../../helpers/python-venv.ts';

const PEER_DIR = fileURLToPath(new URL('.', import.meta.url));
export const REQUIREMENTS_FILE = join(PEER_DIR, 'requirements.txt');
export const PEER_SCRIPT = join(PEER_DIR, 'gptcache_peer.py');
export const defaultVenvDir = (): string => venvDir('gptcache');

/** The job gptcache_peer.py reads on stdin. */
export interface PeerJob {
  modelDir: string;
  dataDir: string;
  entries: Array<{ question: string; answer: string }>;
  lookups: string[];
  threshold: number;
  thresholds: number[];
  warmup: number;
}

/** What gptcache_peer.py prints. */
export interface PeerResult {
  versions: Record<string, string>;
  config: Record<string, string>;
  stored: number;
  storeSeconds: number;
  timed: {
    threshold: number;
    lookups: number;
    seconds: number;
    lookupsPerSecond: number;
    p50Ms: number;
    p99Ms: number;
    latenciesMs: number[];
    answers: Array<string | null>;
    /** GPTCache's own mean time per call of each step of get(), in ms. */
    stepsMs: Record<string, number>;
  };
  thresholds: number[];
  quality: Array<{ score: number; answer: string | null; hits: boolean[] }>;
}

interface Finished {
  code: number | null;
  error?: NodeJS.ErrnoException;
  stdout: string;
  /** The last lines the command printed on stderr. */
  tail: string[];
}

/** Runs a command with `input` on its stdin, collecting its stdout and echoing its stderr lines as they come. */
function run(command: string, args: string[], input: string): Promise<Finished> {
  return new Promise((resolveRun) => {
    const tail: string[] = [];
    let stdout = '';
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const echo = (line: string): void => {
      if (line.trim() === '') return;
      process.stderr.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 60) tail.shift();
    };
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', echo);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    let error: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (error = e));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
    child.on('close', (code) => resolveRun({ code, stdout, tail, ...(error ? { error } : {}) }));
  });
}

function failure(step: string, finished: Finished): Error {
  const why = finished.error
    ? finished.error.code === 'ENOENT'
      ? 'the command was not found'
      : finished.error.message
    : `it exited with code ${finished.code}`;
  const output = finished.tail.length > 0 ? `\nIts last output lines:\n  ${finished.tail.join('\n  ')}` : '';
  return new Error(`GPTCache peer: ${step} failed: ${why}.${output}`);
}

/** The python of the peer's virtualenv in `dir`, installed first unless it holds requirements.txt already. */
export async function ensurePeerPython(dir: string, python = 'python3'): Promise<string> {
  return join(await ensureVenv(dir, REQUIREMENTS_FILE, python), 'bin', 'python');
}

/** Runs gptcache_peer.py on `job` with the virtualenv's python and parses its result. */
export async function runPeer(venvPython: string, job: PeerJob): Promise<PeerResult> {
  const finished = await run(venvPython, [PEER_SCRIPT], JSON.stringify(job));
  if (finished.code !== 0 || finished.error) throw failure(`running ${PEER_SCRIPT}`, finished);
  try {
    return JSON.parse(finished.stdout) as PeerResult;
  } catch (error) {
    throw new Error(`GPTCache peer: ${PEER_SCRIPT} printed no JSON result (${(error as Error).message}): ${finished.stdout.slice(0, 500)}`);
  }
}
