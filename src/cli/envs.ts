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
import { type Either, isLeft, right } from 'fp-ts/lib/Either.js';
import * as envs from '../envs';
import type { ModuleRef, TrainConfig } from '../experiments/config';
import type { RunOptions } from '../experiments/train';
import { MixrlError } from '../tensor';
import { parseArgs, typedFlags } from './args';
import { callExport, type ModuleKind, moduleExport, readModule, rereadModule, userError, valueKind } from './user-module';

/** An env module loaded and registered: the reference a run records, and the ids it defines. */
export interface LoadedEnvModule {
  readonly ref: ModuleRef;
  readonly ids: readonly string[];
}

const ENV_MODULE: ModuleKind = {
  flag: '--env-module',
  noun: 'env module',
  loads: 'the env',
  exportName: 'environments',
  expected:
    'expected `export default function (envs) { return { ID: { make(options) { return anEnvModel; }, keys: [...] } }; }` ' +
    '(or that record itself, or the same as `export const environments`; docs/envs.md)',
};

/**
 * The env module `file` (a flag's value): imported, its environments registered. Errors (one
 * line): the file is missing, importing it throws (the module's message), it exports nothing
 * usable (the expected shape), an id is taken or an env fails its checks.
 *
 * @example
 * const loaded = await loadEnvModule('point-mass.mjs'); // Right({ ref: { path: '/abs/point-mass.mjs', sha256 }, ids: ['PointMass'] })
 */
export async function loadEnvModule(file: string): Promise<Either<MixrlError, LoadedEnvModule>> {
  const ref = await readModule(file, ENV_MODULE);
  return isLeft(ref) ? ref : register(ref.right, `${ENV_MODULE.flag} ${file}`);
}

/**
 * The env module a run (or its config file) recorded, loaded again as `loadEnvModule` does, if the
 * file is still there with the same SHA-256; otherwise an error, `where` first, saying how to go on.
 *
 * @example
 * await reloadEnvModule(config.envModule, '--resume runs/p'); // Left when the file changed: "... restore it, or give --env-module ..."
 */
export async function reloadEnvModule(ref: ModuleRef, where: string): Promise<Either<MixrlError, LoadedEnvModule>> {
  const same = await rereadModule(ref, where, ENV_MODULE);
  return isLeft(same) ? same : register(ref, `${where}: its env module ${ref.path}`);
}

/** Imports the module `ref` names and registers what it exports; `named` starts every error. */
async function register(ref: ModuleRef, named: string): Promise<Either<MixrlError, LoadedEnvModule>> {
  const exported = await moduleExport(ref.path, named, ENV_MODULE);
  if (isLeft(exported)) return exported;
  const specs = typeof exported.right === 'function' ? await callExport(exported.right as (api: unknown) => unknown, envs, named) : exported;
  if (isLeft(specs)) return specs;
  const record = specs.right;
  if (record === null || typeof record !== 'object' || Array.isArray(record) || Object.keys(record).length === 0) {
    return userError(`${named}: exports no environments (got ${valueKind(record)}); ${ENV_MODULE.expected}`);
  }
  const ids: string[] = [];
  for (const [id, spec] of Object.entries(record)) {
    try {
      envs.registerEnv(id, spec as envs.EnvSpec);
    } catch (e) {
      if (e instanceof MixrlError) return userError(`${named}: ${e.message}`);
      throw e;
    }
    ids.push(id);
  }
  return right({ ref, ids });
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
