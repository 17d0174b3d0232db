/** Text files a run writes, replaced atomically like checkpoints, and the folders they go in. */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeAtomically } from '../rl/checkpoint';
import type { ModuleRef } from './config';

/**
 * Whether `file` (or a folder) is there.
 *
 * @example
 * await exists('runs/p/checkpoint.mixrl'); // false before the run's first checkpoint
 */
export const exists = (file: string) => fs.stat(file).then(() => true, () => false);

/**
 * Writes `text` to `file` so that readers see the old content or the new, never a mix.
 *
 * @example
 * await writeFileAtomic('runs/x/summary.json', JSON.stringify(summary));
 */
export function writeFileAtomic(file: string, text: string): Promise<void> {
  return writeAtomically(file, [new TextEncoder().encode(text)]);
}

const codeOf = (e: unknown) => (e as NodeJS.ErrnoException).code;

/**
 * Makes the folder `dir` and its missing parents, as `fs.mkdir(dir, { recursive: true })` does, but
 * fails where that one never returns: Node's recursive mkdir retries without end when a folder cannot
 * be made in a parent that exists and the system answers ENOENT (procfs: `--out /proc/x` spun at
 * 100% CPU), so each missing level is made on its own here and an error is final.
 *
 * @example
 * await makeDirs('experiments/fig6-classic-quick/runs');
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    try {
      if ((await fs.stat(at)).isDirectory()) break;
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR' });
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
    }
    missing.push(at);
    if (path.dirname(at) === at) break;
  }
  for (const folder of missing.reverse()) {
    try {
      await fs.mkdir(folder);
    } catch (e) {
      // Made meanwhile by another process: as good as made here.
      if (codeOf(e) !== 'EEXIST') throw e;
    }
  }
}

/**
 * A JSON file's value, or undefined when the file is missing or does not parse (a summary a killed
 * run never wrote, or one cut short).
 *
 * @example
 * const summary = await readJsonFile('runs/x/summary.json'); // undefined while the run trains
 */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * The values of a JSON-lines log (episodes.jsonl, evaluations.jsonl), one per line that parses: an
 * empty line or one cut short by a kill is skipped; a missing file has none.
 *
 * @example
 * const records = await readJsonLines('runs/x/episodes.jsonl');
 */
export async function readJsonLines(file: string): Promise<unknown[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const values: unknown[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      values.push(JSON.parse(line));
    } catch {
      // a line cut short by a kill
    }
  }
  return values;
}

/**
 * The SHA-256 of a file's bytes, in hex: how a run records the module files it loads. Throws what
 * reading the file throws.
 *
 * @example
 * await fileSha256('point-mass.mjs'); // '2f0d...'
 */
export async function fileSha256(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

/**
 * How the module file a run recorded (`ref`) stands now: undefined while its bytes still hash to
 * `ref.sha256`, else what reading it threw (`unreadable`) or its hash now (`sha256`).
 *
 * @example
 * await moduleDrift(config.envModule); // undefined, or { sha256: 'f76e...' } after an edit
 */
export async function moduleDrift(ref: ModuleRef): Promise<{ readonly unreadable: unknown } | { readonly sha256: string } | undefined> {
  let now: string;
  try {
    now = await fileSha256(ref.path);
  } catch (e) {
    return { unreadable: e };
  }
  return now === ref.sha256 ? undefined : { sha256: now };
}
