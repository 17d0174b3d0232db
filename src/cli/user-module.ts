/**
 * What `--env-module FILE` and `--estimator-module FILE` share: a researcher's ES module read and
 * hashed (a run records its absolute path and SHA-256), read again for a run that recorded it (and
 * refused when gone or changed), imported, and its export taken: the named one, or else the default,
 * called with the API the command passes when it is a function. Errors are one line, starting with
 * the flag and file (or the run and its recorded module) and saying what to do.
 */
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { ConfigError, type ModuleRef } from '../experiments/config';
import { fileSha256, moduleDrift } from '../experiments/files';
import type { MixrlError } from '../tensor';

/** A kind of module as its errors name it. */
export interface ModuleKind {
  readonly flag: '--env-module' | '--estimator-module';
  /** e.g. 'env module'. */
  readonly noun: string;
  /** What the flag loads from another file, e.g. 'the env'. */
  readonly loads: string;
  /** The export taken before the default one, e.g. 'environments'. */
  readonly exportName: string;
  /** The shape expected, for the errors of a module exporting nothing usable. */
  readonly expected: string;
}

/**
 * A user error: a ConfigError with `message`, for the command to print as one line.
 *
 * @example
 * userError('--env-module x.mjs: no such file'); // Left(ConfigError)
 */
export const userError = (message: string) => left(new ConfigError(message));

/** An error of a module's own code in one line: its kind (TypeError, SyntaxError, ...) and its message's first line, no stack. */
const oneLine = (e: unknown) => (e instanceof Error ? (e.name === 'Error' ? e.message : `${e.name}: ${e.message}`) : String(e)).split('\n')[0];

/**
 * What a value is, for an error message.
 *
 * @example
 * valueKind([]); // 'a list'
 * valueKind(5); // 'a number'
 */
export function valueKind(x: unknown): string {
  if (x === null || x === undefined) return String(x);
  if (Array.isArray(x)) return 'a list';
  if (typeof x === 'object') return Object.keys(x).length === 0 ? 'an empty object' : 'an object';
  return `a ${typeof x}`;
}

/** Why a file could not be read, in words. */
const readProblem = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : `cannot read it (${code ?? oneLine(e)})`;
};

/**
 * The module file a flag names, read and hashed: what a run records of it.
 *
 * @example
 * await readModule('point-mass.mjs', ENV_MODULE); // Right({ path: '/abs/point-mass.mjs', sha256: '2f0d...' }), or Left: "--env-module point-mass.mjs: no such file"
 */
export async function readModule(file: string, kind: ModuleKind): Promise<Either<MixrlError, ModuleRef>> {
  const abs = path.resolve(file);
  try {
    return right({ path: abs, sha256: await fileSha256(abs) });
  } catch (e) {
    return userError(`${kind.flag} ${file}: ${readProblem(e)}`);
  }
}

/**
 * The module a run (or its config file) recorded, if the file is still there with the same
 * SHA-256; otherwise an error, `where` first, saying how to go on.
 *
 * @example
 * await rereadModule(config.envModule, '--resume runs/p', ENV_MODULE); // Left when the file changed: "... restore it, or give --env-module ..."
 */
export async function rereadModule(ref: ModuleRef, where: string, kind: ModuleKind): Promise<Either<MixrlError, ModuleRef>> {
  const drift = await moduleDrift(ref);
  if (drift === undefined) return right(ref);
  if ('unreadable' in drift) {
    return userError(`${where}: its ${kind.noun} ${ref.path}: ${readProblem(drift.unreadable)}; put it back, or give ${kind.flag} FILE to load ${kind.loads} from another file`);
  }
  return userError(
    `${where}: its ${kind.noun} ${ref.path} changed since it was recorded (sha256 ${ref.sha256.slice(0, 12)}... then, ${drift.sha256.slice(0, 12)}... now); restore it, or give ${kind.flag} ${ref.path} to go on with it as it is now`,
  );
}

/**
 * The module at `abs`, imported: its export `kind.exportName`, or else its default export; `named`
 * starts every error.
 *
 * @example
 * await moduleExport('/abs/point-mass.mjs', '--env-module point-mass.mjs', ENV_MODULE); // Right(the exported function)
 */
export async function moduleExport(abs: string, named: string, kind: ModuleKind): Promise<Either<MixrlError, unknown>> {
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(pathToFileURL(abs).href);
  } catch (e) {
    return userError(`${named}: importing it threw: ${oneLine(e)}`);
  }
  const exported = namespace[kind.exportName] ?? namespace.default;
  if (exported === undefined) return userError(`${named}: exports no ${kind.exportName} (no default export, no '${kind.exportName}'); ${kind.expected}`);
  return right(exported);
}

/**
 * What a module's exported function returns (or resolves to) given `api`; an error starting with
 * `named` when it throws.
 *
 * @example
 * await callExport(exported, envs, '--env-module point-mass.mjs'); // Right({ PointMass: { make, keys } })
 */
export async function callExport(exported: (api: unknown) => unknown, api: unknown, named: string): Promise<Either<MixrlError, unknown>> {
  try {
    return right(await exported(api));
  } catch (e) {
    return userError(`${named}: its exported function threw: ${oneLine(e)}`);
  }
}
