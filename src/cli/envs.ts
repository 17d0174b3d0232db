/**
 * Environments in the CLI: `--env-module FILE`, a researcher's own environments from an ES module,
 * and `mixrl envs`.
 *
 * The module's contract (docs/envs.md): its export `environments`, or else its default export, is a
 * function that receives mixrl's envs API (this command's own copy: `Box`, `ModelEnv`, `checkEnv`,
 * the built-in models, ...) and returns (or resolves to) a record `{ [id]: { make(options), keys?,
 * description? } }`; the record itself is taken too. This command registers each entry with
 * `registerEnv` itself, so the envs land in the registry it trains from whatever copy of mixrl the
 * module could import (the bundled CLI and `import 'mixrl'` are two module instances). A run records
 * the file's absolute path and SHA-256 (`envModule`, in config.json and the checkpoint): `--resume`
 * and `mixrl eval` load it again, and refuse a file that is gone or changed unless `--env-module`
 * names the file to use.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import * as envs from '../envs';
import { ConfigError, type EnvModuleRef, type TrainConfig } from '../experiments/config';
import type { RunOptions } from '../experiments/train';
import { MixrlError } from '../tensor';
import { parseArgs, typedFlags } from './args';

/** An env module loaded and registered: the reference a run records, and the ids it defines. */
export interface LoadedEnvModule {
  readonly ref: EnvModuleRef;
  readonly ids: readonly string[];
}

const userError = (message: string) => left(new ConfigError(message));

/** An error of the module's own code in one line: its kind (TypeError, SyntaxError, ...) and its message's first line, no stack. */
const oneLine = (e: unknown) => (e instanceof Error ? (e.name === 'Error' ? e.message : `${e.name}: ${e.message}`) : String(e)).split('\n')[0];

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What a module must export, as the error that finds nothing usable says it. */
const EXPECTED =
  'expected `export default function (envs) { return { ID: { make(options) { return anEnvModel; }, keys: [...] } }; }` ' +
  '(or that record itself, or the same as `export const environments`; docs/envs.md)';

/** What a value is, for an error message. */
const kind = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'a list' : typeof x === 'object' && Object.keys(x).length === 0 ? 'an empty object' : typeof x);

/** Why a file could not be read, in words. */
const readProblem = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : `cannot read it (${code ?? oneLine(e)})`;
};

/**
 * The env module `file` (a flag's value, `flag` naming it in errors): imported, its environments
 * registered. Errors (one line): the file is missing, importing it throws (the module's message),
 * it exports nothing usable (the expected shape), an id is taken or an env fails its checks.
 *
 * @example
 * const loaded = await loadEnvModule('point-mass.mjs'); // Right({ ref: { path: '/abs/point-mass.mjs', sha256 }, ids: ['PointMass'] })
 */
export async function loadEnvModule(file: string, flag = '--env-module'): Promise<Either<MixrlError, LoadedEnvModule>> {
  const abs = path.resolve(file);
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(abs);
  } catch (e) {
    return userError(`${flag} ${file}: ${readProblem(e)}`);
  }
  return register(abs, sha256(bytes), `${flag} ${file}`);
}

/**
 * The env module a run (or its config file) recorded, loaded again as `loadEnvModule` does, if the
 * file is still there with the same SHA-256; otherwise an error, `where` first, saying how to go on.
 *
 * @example
 * await reloadEnvModule(config.envModule, '--resume runs/p'); // Left when the file changed: "... restore it, or give --env-module ..."
 */
export async function reloadEnvModule(ref: EnvModuleRef, where: string): Promise<Either<MixrlError, LoadedEnvModule>> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(ref.path);
  } catch (e) {
    return userError(`${where}: its env module ${ref.path}: ${readProblem(e)}; put it back, or give --env-module FILE to load the env from another file`);
  }
  const now = sha256(bytes);
  if (now !== ref.sha256) {
    return userError(
      `${where}: its env module ${ref.path} changed since it was recorded (sha256 ${ref.sha256.slice(0, 12)}... then, ${now.slice(0, 12)}... now); restore it, or give --env-module ${ref.path} to go on with it as it is now`,
    );
  }
  return register(ref.path, now, `${where}: its env module ${ref.path}`);
}

/** Imports the module at `abs` and registers what it exports; `named` starts every error. */
async function register(abs: string, hash: string, named: string): Promise<Either<MixrlError, LoadedEnvModule>> {
  let namespace: Record<string, unknown>;
  try {
    namespace = await import(pathToFileURL(abs).href);
  } catch (e) {
    return userError(`${named}: importing it threw: ${oneLine(e)}`);
  }
  let exported = namespace.environments ?? namespace.default;
  if (exported === undefined) return userError(`${named}: exports no environments (no default export, no 'environments'); ${EXPECTED}`);
  if (typeof exported === 'function') {
    try {
      exported = await exported(envs);
    } catch (e) {
      return userError(`${named}: its exported function threw: ${oneLine(e)}`);
    }
  }
  if (exported === null || typeof exported !== 'object' || Array.isArray(exported) || Object.keys(exported).length === 0) {
    return userError(`${named}: exports no environments (got ${kind(exported)}); ${EXPECTED}`);
  }
  const ids: string[] = [];
  for (const [id, spec] of Object.entries(exported)) {
    try {
      envs.registerEnv(id, spec as envs.EnvSpec);
    } catch (e) {
      if (e instanceof MixrlError) return userError(`${named}: ${e.message}`);
      throw e;
    }
    ids.push(id);
  }
  return right({ ref: { path: abs, sha256: hash }, ids });
}

/**
 * Right when the loaded module defines `env` (the env of the run it is given for), else an error
 * starting with `named` that lists what it defines.
 *
 * @example
 * definesEnv(loaded, 'Pendulum', '--env-module p.mjs'); // Left: "--env-module p.mjs defines PointMass, not the run's env 'Pendulum' (--env PointMass)"
 */
export function definesEnv(loaded: LoadedEnvModule, env: string, named: string): Either<MixrlError, void> {
  if (loaded.ids.includes(env)) return right(undefined);
  return userError(`${named} defines ${loaded.ids.join(', ')}, not the run's env '${env}' (--env ${loaded.ids[0]})`);
}

/**
 * `loadRun`'s `prepareEnv` for a command that loads a run (`where` names it in errors, e.g.
 * `--checkpoint runs/p`): the module `--env-module FILE` names (`file`, loaded now), or else the one
 * the run recorded, loaded again if it is unchanged; either must define the run's env. A built-in
 * env's run without the flag loads nothing.
 *
 * @example
 * const prepareEnv = await runEnvPreparer(undefined, 'runs/pm');
 * if (isRight(prepareEnv)) await loadRun('runs/pm/checkpoint.mixrl', cpu, { prepareEnv: prepareEnv.right });
 */
export async function runEnvPreparer(file: string | undefined, where: string): Promise<Either<MixrlError, NonNullable<RunOptions['prepareEnv']>>> {
  let module: LoadedEnvModule | undefined;
  if (file !== undefined) {
    const given = await loadEnvModule(file);
    if (isLeft(given)) return given;
    module = given.right;
  }
  return right(async (saved: Partial<TrainConfig>) => {
    if (module === undefined && saved.envModule !== undefined) {
      const recorded = await reloadEnvModule(saved.envModule, where);
      if (isLeft(recorded)) return recorded;
      module = recorded.right;
    }
    const named = file !== undefined ? `--env-module ${file}` : `${where}: its env module ${module?.ref.path}`;
    return module === undefined || saved.env === undefined ? right(undefined) : definesEnv(module, saved.env, named);
  });
}

/**
 * `mixrl envs [--env-module FILE]`: every id with its sizes and time limit (and the description of
 * one of a module's).
 *
 * @example
 * await envsCommand(['--env-module', 'point-mass.mjs']); // the built-in ids, then PointMass; Right(0)
 */
export async function envsCommand(argv: readonly string[]): Promise<Either<MixrlError, number>> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: mixrl envs [--env-module FILE]   the environments (and those FILE defines: docs/envs.md)');
    return right(0);
  }
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  if (parsed.right.positionals.length > 0) return userError(`unexpected argument '${parsed.right.positionals[0]}'`);
  const typed = typedFlags(parsed.right.flags, { envModule: 'string' });
  if (isLeft(typed)) return typed;
  const file = typed.right.envModule as string | undefined;
  if (file !== undefined) {
    const loaded = await loadEnvModule(file);
    if (isLeft(loaded)) return loaded;
  }
  for (const id of envs.envIds()) {
    const model = envs.makeModel(id);
    const about = envs.envDescription(id);
    console.log(`${id.padEnd(26)} obs ${model.observationSpace.size}, action ${model.actionSpace.size}, steps ${model.maxEpisodeSteps}${about ? `  ${about}` : ''}`);
  }
  return right(0);
}
