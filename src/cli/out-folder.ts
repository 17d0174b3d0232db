/**
 * The results folders of `mixrl reproduce` and `mixrl sweep`: a folder is new, an unfinished one
 * started with the same options (continued), or refused (finished results, another command's files,
 * an unfinished one started with other options, one another running command holds). While a command
 * works in a folder it holds a lock file with its process id; a lock left by a killed command is
 * taken over. User errors come back as `Left` (one line). `holdOut`, `startRuns` and
 * `untilInterrupted` are the steps both commands take around their work; `readOverride` reads the
 * runs' test override. `mixrl train` locks its run folder the same way (`lockOut`, `whenFree`), so
 * the `mixrl train` children of these commands each hold their own `runs/<name>` folder's lock
 * beside the parent's lock on the results folder.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import packageJson from '../../package.json';
import { ConfigError, type TrainConfig } from '../experiments/config';
import { exists, makeDirs, writeFileAtomic } from '../experiments/files';
import { Interrupted, trainOverride, useCliForRuns } from '../experiments/paper/runs';
import { type Backend, MixrlError } from '../tensor';
import { type BackendChoice, initBackend } from '../tensor/webgpu';

/** The lock a command holds on a folder while it works there. */
export interface FolderLock {
  /** The command, as messages name it: `mixrl reproduce`. */
  readonly command: string;
  /** Held while a command works in the folder: its process id. */
  readonly lock: string;
  /** Why a second command in the folder is refused, as the in-use message says it (default: it would train the same runs twice). */
  readonly clash?: string;
}

/** The files that say what a folder is, per command. */
export interface FolderKind extends FolderLock {
  /** Written last: its presence marks the folder finished. */
  readonly results: string;
  /** The options the folder was started with, written when it starts. */
  readonly started: string;
}

const userError = (message: string) => left(new ConfigError(message));

export const ioReason = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Whether a process with this id is running (EPERM: it is, as another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The id a lock's text holds when that process is running (this one aside), else undefined. */
function runningHolder(text: string): number | undefined {
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid) ? pid : undefined;
}

/** The id of the running process whose lock the folder holds, if any (a lock left by a killed one is not). */
export async function lockHolder(kind: FolderLock, out: string): Promise<number | undefined> {
  return runningHolder(await fs.readFile(path.join(out, kind.lock), 'utf8').catch(() => ''));
}

/** `flag` names the folder as the user gave it: `--out DIR`, `--resume DIR`. */
const inUse = (kind: FolderLock, out: string, pid: number, flag: string) =>
  userError(
    `${flag} ${out} is in use by another ${kind.command} (process ${pid}); ${kind.clash ?? 'two commands in one folder would train the same runs twice'}; wait for it or stop it (if none runs, remove ${path.join(out, kind.lock)})`,
  );

/**
 * Right when no running process holds the folder's lock (this one aside), else the error saying which does.
 *
 * @example
 * await whenFree(RUN_LOCK, 'runs/p', '--resume'); // Left: --resume runs/p is in use by another mixrl train (process 4242); ...
 */
export async function whenFree(kind: FolderLock, out: string, flag = '--out'): Promise<Either<MixrlError, void>> {
  const holder = await lockHolder(kind, out);
  return holder === undefined ? right(undefined) : inUse(kind, out, holder, flag);
}

/**
 * Makes `file` holding this process's id, or fails with EEXIST when it exists: the id is written
 * to a file of its own first and hard-linked to the name, so no other process ever reads the lock
 * empty (an empty lock would look left by a killed process and be taken over).
 */
async function linkLock(file: string): Promise<void> {
  const own = `${file}.${process.pid}.tmp`;
  await fs.writeFile(own, `${process.pid}\n`);
  try {
    await fs.link(own, file);
  } finally {
    await fs.rm(own, { force: true });
  }
}

/**
 * Removes the lock `file` left by a process that has ended, whose text is `stale`, if it is still
 * that one. Commands do so one at a time, each holding `<lock>.takeover` (made as the lock is):
 * removing it unguarded, one command could remove the lock another had just taken over, and both
 * would hold the folder. A guard left by a process that has ended is removed; one held by a running
 * process is waited for (the caller tries the lock again).
 */
async function removeStaleLock(file: string, stale: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    await linkLock(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if (runningHolder(await fs.readFile(guard, 'utf8').catch(() => '')) === undefined) await fs.rm(guard, { force: true });
    else await new Promise((r) => setTimeout(r, 5));
    return;
  }
  try {
    if ((await fs.readFile(file, 'utf8').catch(() => null)) === stale) await fs.rm(file, { force: true });
  } finally {
    await fs.rm(guard, { force: true });
  }
}

/**
 * Takes the folder's lock (made exclusively and whole, holding this process's id) and returns what
 * releases it. A lock left by a process that is no longer running (killed, or stopped by a Ctrl-C
 * that Node's default handler ended) is taken over, by one command at a time (`removeStaleLock`).
 * Errors name the folder by `flag` (`--out`, `--resume`).
 */
export async function lockOut(kind: FolderLock, out: string, flag = '--out'): Promise<Either<MixrlError, () => Promise<void>>> {
  const file = path.join(out, kind.lock);
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await linkLock(file);
      return right(() => fs.rm(file, { force: true }));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return userError(`${flag} ${out}: cannot write there: ${ioReason(e)}`);
    }
    const text = await fs.readFile(file, 'utf8').catch(() => null);
    if (text === null) continue;
    const holder = runningHolder(text);
    if (holder !== undefined) return inUse(kind, out, holder, flag);
    try {
      await removeStaleLock(file, text);
    } catch (e) {
      return userError(`${flag} ${out}: cannot write there: ${ioReason(e)}`);
    }
  }
  return userError(`${flag} ${out}: another ${kind.command} took it just now`);
}

/**
 * A word as a POSIX shell reads it back: quoted when it holds anything but safe characters.
 *
 * @example
 * shellWord('my runs'); // "'my runs'"
 */
export const shellWord = (word: string) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * What a folder's started-options file says against the options asked for: `undefined` when the
 * file is not one of this command's (a foreign file), `null` when it is the same work, else the
 * message refusing it (e.g. `holds an unfinished ...; continue it with ...`), after `--out DIR `.
 */
export type StartedCheck = (raw: unknown) => string | null | undefined;

/**
 * Checks the output folder: refuses a file, finished results, a folder another command holds, or an
 * unfinished one `check` refuses (continuing it with other options would mix runs of two protocols,
 * or leave runs behind that the results do not count).
 */
export async function prepareOut(kind: FolderKind, out: string, check: StartedCheck): Promise<Either<MixrlError, 'new' | 'resume'>> {
  try {
    if (!(await fs.stat(out)).isDirectory()) return userError(`--out ${out} is a file, not a folder`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return userError(`--out ${out}: cannot use it: ${code === 'ENOTDIR' ? 'a part of the path is a file' : ioReason(e)}`);
    return right('new');
  }
  const free = await whenFree(kind, out);
  if (isLeft(free)) return free;
  if (await exists(path.join(out, kind.results))) {
    return userError(`--out ${out} already holds finished results (${kind.results}); choose another --out, or remove the folder to run it again`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path.join(out, kind.started), 'utf8'));
  } catch {
    raw = undefined;
  }
  const verdict = check(raw);
  if (verdict === undefined) {
    const entries = (await fs.readdir(out)).filter((e) => e !== kind.lock);
    if (entries.length > 0) return userError(`--out ${out} is a folder holding other files (${entries.slice(0, 3).join(', ')}); choose a new or empty folder`);
    return right('new');
  }
  if (verdict !== null) return userError(`--out ${out} ${verdict}`);
  return right('resume');
}

/** A command's result: its exit code, or a user error. */
export type Outcome = Either<MixrlError, number>;

/**
 * Runs `work` in the folder `out` once the backend is up and the folder made and locked; the lock is
 * released however `work` ends.
 */
export async function holdOut(kind: FolderKind, out: string, backendName: BackendChoice, work: (backend: Backend) => Promise<Outcome>): Promise<Outcome> {
  let backend: Backend;
  try {
    backend = await initBackend(backendName);
  } catch (e) {
    if (e instanceof MixrlError) return userError(`backend '${backendName}': ${e.message}`);
    throw e;
  }
  try {
    await makeDirs(out);
  } catch (e) {
    return userError(`--out ${out}: cannot write there: ${ioReason(e)}`);
  }
  const locked = await lockOut(kind, out);
  if (isLeft(locked)) return locked;
  try {
    return await work(backend);
  } finally {
    await locked.right();
  }
}

/**
 * Makes the folder's `runs/` (returned) and, in a new folder, writes the started-options file; the
 * training runs are then this CLI's own `train`, as child processes.
 */
export async function startRuns(kind: FolderKind, out: string, state: 'new' | 'resume', options: object): Promise<Either<MixrlError, string>> {
  const workDir = path.join(out, 'runs');
  try {
    await makeDirs(workDir);
    if (state === 'new') await writeFileAtomic(path.join(out, kind.started), `${JSON.stringify({ ...options, mixrlVersion: packageJson.version, started: new Date().toISOString() }, null, 2)}\n`);
  } catch (e) {
    return userError(`--out ${out}: cannot write there: ${ioReason(e)}`);
  }
  useCliForRuns(process.execPath, [...process.execArgv, process.argv[1]]);
  return right(workDir);
}

/**
 * `work`'s result (right), or the outcome the command ends with instead (left): after a Ctrl-C
 * (SIGINT) or SIGTERM that stopped the runs, a line saying how many of `what` finished and
 * `continueWith`, and exit code 130 or 143; a user error as itself.
 */
export async function untilInterrupted<T>(work: () => Promise<T>, what: string, continueWith: string): Promise<Either<Outcome, T>> {
  try {
    return right(await work());
  } catch (e) {
    if (e instanceof Interrupted) {
      console.log(`stopped by ${e.signal}: ${e.finished} of ${e.total} ${what} finished; continue with the same command: ${continueWith}`);
      return left(right(e.signal === 'SIGINT' ? 130 : 143));
    }
    if (e instanceof MixrlError) return left(left(e));
    throw e;
  }
}

/** The runs' test override (`MIXRL_REPRODUCE_OVERRIDE`, `trainOverride`); a malformed one as a user error. */
export function readOverride(): Either<MixrlError, Partial<TrainConfig> | undefined> {
  try {
    return right(trainOverride());
  } catch (e) {
    if (e instanceof MixrlError) return left(e);
    throw e;
  }
}
