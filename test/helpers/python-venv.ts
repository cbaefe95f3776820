/**
 * Python tools the tests and benchmarks drive (schemathesis, the GPTCache peer) live in virtualenvs
 * under ~/.cache/llm-cache/venvs,
 * outside the repository: created once with `python3 -m venv`, filled from a pinned requirements file,
 * and refilled when that file changes. pip's own progress goes to stderr so a first, slow install is
 * visible in the test output.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Written into the virtualenv after a successful install: the SHA-256 of the requirements it holds. */
const STAMP_FILE = '.llm-cache-requirements.sha256';

export function venvDir(name: string): string {
  return join(homedir(), '.cache', 'llm-cache', 'venvs', name);
}

/** Runs a command with its output on our stderr; resolves with its exit code (or the spawn error). */
function runVisible(command: string, args: string[]): Promise<{ code: number | null; error?: Error }> {
  return new Promise((resolveRun) => {
    const child = spawn(command, args, { stdio: ['ignore', process.stderr, process.stderr] });
    let error: Error | undefined;
    child.on('error', (e) => (error = e));
    child.on('close', (code) => resolveRun({ code, ...(error ? { error } : {}) }));
  });
}

/**
 * The virtualenv in `dir` (see venvDir) holding `requirementsFile`, installed unless an earlier run
 * installed these exact requirements; returns `dir`. Fails with the step that went wrong.
 */
export async function ensureVenv(dir: string, requirementsFile: string, python = 'python3'): Promise<string> {
  const venvPython = join(dir, 'bin', 'python');
  const stampPath = join(dir, STAMP_FILE);
  const wanted = createHash('sha256').update(readFileSync(requirementsFile)).digest('hex');
  if (existsSync(venvPython) && existsSync(stampPath) && readFileSync(stampPath, 'utf8').trim() === wanted) {
    process.stderr.write(`reusing the virtualenv ${dir}\n`);
    return dir;
  }
  if (!existsSync(venvPython)) {
    process.stderr.write(`creating the virtualenv ${dir} (${python} -m venv)\n`);
    const created = await runVisible(python, ['-m', 'venv', dir]);
    if (created.code !== 0)
      throw new Error(
        `\`${python} -m venv ${dir}\` failed (${created.error?.message ?? `exit code ${created.code}`}): is python3-venv installed?`,
      );
  }
  process.stderr.write(`installing ${requirementsFile} into ${dir}\n`);
  const installed = await runVisible(venvPython, [
    '-m',
    'pip',
    'install',
    '--disable-pip-version-check',
    '--progress-bar',
    'on',
    '-r',
    requirementsFile,
  ]);
  if (installed.code !== 0)
    throw new Error(
      `\`pip install -r ${requirementsFile}\` in ${dir} failed (${installed.error?.message ?? `exit code ${installed.code}`})`,
    );
  writeFileSync(stampPath, `${wanted}\n`);
  return dir;
}
