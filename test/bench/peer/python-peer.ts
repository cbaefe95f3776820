/**
 * The Python side of the GPTCache comparison: a virtualenv under ~/.cache/llm-cache/venvs holding the
 * pinned requirements (installed once, reinstalled when requirements.txt changes), and one run of
 * gptcache_peer.py. Every failure says which step failed and shows the tool's own output, because a
 * comparison that silently drops its peer would read as a result.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PEER_DIR = fileURLToPath(new URL('.', import.meta.url));
export const REQUIREMENTS_FILE = join(PEER_DIR, 'requirements.txt');
export const PEER_SCRIPT = join(PEER_DIR, 'gptcache_peer.py');
/** Written into the virtualenv after a successful install: the SHA-256 of the requirements it holds. */
const STAMP_FILE = '.llm-cache-requirements.sha256';

export function defaultVenvDir(): string {
  return join(homedir(), '.cache', 'llm-cache', 'venvs', 'gptcache');
}

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
  /** The last lines the command printed (stderr, and stdout unless it is collected). */
  tail: string[];
}

/** Runs a command, echoing its output lines to stderr with `prefix` as they come. */
function run(command: string, args: string[], options: { prefix: string; input?: string; collectStdout?: boolean }): Promise<Finished> {
  return new Promise((resolveRun) => {
    const tail: string[] = [];
    let stdout = '';
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const echo = (line: string): void => {
      if (line.trim() === '') return;
      process.stderr.write(`${options.prefix}${line}\n`);
      tail.push(line);
      if (tail.length > 60) tail.shift();
    };
    createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', echo);
    if (options.collectStdout) child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    else createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', echo);
    let error: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (error = e));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
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

/**
 * The virtualenv's python, after creating the virtualenv with `python -m venv` and installing
 * requirements.txt with its pip, unless a previous run already installed these exact requirements.
 */
export async function ensureVenv(dir: string, python = 'python3'): Promise<string> {
  const venvPython = join(dir, 'bin', 'python');
  const stampPath = join(dir, STAMP_FILE);
  const wanted = createHash('sha256').update(readFileSync(REQUIREMENTS_FILE)).digest('hex');
  if (existsSync(venvPython) && existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === wanted) {
    process.stderr.write(`[peer] reusing the virtualenv ${dir}\n`);
    return venvPython;
  }
  if (!existsSync(venvPython)) {
    process.stderr.write(`[peer] creating a virtualenv in ${dir} with ${python} -m venv\n`);
    const created = await run(python, ['-m', 'venv', dir], { prefix: '[venv] ' });
    if (created.code !== 0 || created.error) throw failure(`creating the virtualenv (\`${python} -m venv ${dir}\`)`, created);
  }
  process.stderr.write(`[peer] installing ${REQUIREMENTS_FILE} into ${dir}\n`);
  const installed = await run(
    venvPython,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--progress-bar', 'off', '-r', REQUIREMENTS_FILE],
    { prefix: '[pip] ' },
  );
  if (installed.code !== 0 || installed.error) throw failure(`\`pip install -r ${REQUIREMENTS_FILE}\` in ${dir}`, installed);
  writeFileSync(stampPath, `${wanted}\n`);
  return venvPython;
}

/** Runs gptcache_peer.py on `job` with the virtualenv's python and parses its result. */
export async function runPeer(venvPython: string, job: PeerJob): Promise<PeerResult> {
  const finished = await run(venvPython, [PEER_SCRIPT], { prefix: '', input: JSON.stringify(job), collectStdout: true });
  if (finished.code !== 0 || finished.error) throw failure(`running ${PEER_SCRIPT}`, finished);
  try {
    return JSON.parse(finished.stdout) as PeerResult;
  } catch (error) {
    throw new Error(`GPTCache peer: ${PEER_SCRIPT} printed no JSON result (${(error as Error).message}): ${finished.stdout.slice(0, 500)}`);
  }
}
