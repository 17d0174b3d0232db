/**
 * Estimators in the CLI: `--estimator-module FILE [--estimator NAME]`, a researcher's own
 * actor-gradient estimator from an ES module, trained in place of the agent's (the agent still picks
 * the policy).
 *
 * The module's contract (docs/estimators.md): its export `estimators`, or else its default export, is
 * a function that receives this command's mixrl namespace (what `import * as mixrl from 'mixrl'`
 * gives, of the very copy the command runs: the tensor ops, `stopGradient`, `estimators`, the
 * distributions, ...) and returns (or resolves to) a record `{ [name]: Estimator }`. Unlike an env
 * module's, a record exported as it is is refused: an estimator computes on the update's traced
 * tensors, which only this copy's ops take (the bundled CLI and `import 'mixrl'` are two module
 * instances). A run records the file's absolute path and SHA-256 (`estimatorModule`) and the
 * estimator's name (`estimator`): `--resume` and `--config` load it again, and refuse a file that is
 * gone or changed unless `--estimator-module` names the file to use. `mixrl eval` and `mixrl export`
 * load none: the policy acts without it.
 */
import { type Either, isLeft, right } from 'fp-ts/lib/Either.js';
import type { ModuleRef, TrainConfig } from '../experiments/config';
import * as mixrl from '../index';
import { type Estimator, estimators as builtIn } from '../rl/estimators';
import type { MixrlError } from '../tensor';
import { callExport, type ModuleKind, moduleExport, readModule, rereadModule, userError, valueKind } from './user-module';

/** An estimator loaded from its module: the reference a run records, its name there, and the function (named so). */
export interface LoadedEstimator {
  readonly ref: ModuleRef;
  readonly name: string;
  readonly estimator: Estimator;
}

const ESTIMATOR_MODULE: ModuleKind = {
  flag: '--estimator-module',
  noun: 'estimator module',
  loads: 'the estimator',
  exportName: 'estimators',
  expected:
    'expected `export default function (mixrl) { return { NAME: ({ policy, critic, alpha, key }) => aScalarSurrogate }; }` ' +
    '(or the same as `export function estimators`; docs/estimators.md)',
};

/**
 * The estimator `name` of the module `file` (a flag's value), or its only one when `name` is
 * undefined. Errors (one line, naming the file): the file is missing, importing it or its function
 * throws (the module's message), it exports no function, the function returns no record of functions,
 * a name is a built-in estimator's, `name` is not there (or is needed: several are).
 *
 * @example
 * await loadEstimatorModule('my-estimators.mjs', 'scoreFunction'); // Right({ ref: { path: '/abs/my-estimators.mjs', sha256 }, name: 'scoreFunction', estimator })
 */
export async function loadEstimatorModule(file: string, name: string | undefined): Promise<Either<MixrlError, LoadedEstimator>> {
  const ref = await readModule(file, ESTIMATOR_MODULE);
  return isLeft(ref) ? ref : estimatorOf(ref.right, name, `${ESTIMATOR_MODULE.flag} ${file}`);
}

/**
 * The estimator `name` of the module a run (or its config file) recorded, loaded again if the file
 * is still there with the same SHA-256; otherwise an error, `where` first, saying how to go on.
 *
 * @example
 * await reloadEstimatorModule(config.estimatorModule, 'scoreFunction', '--resume runs/p'); // Left when the file changed: "... restore it, or give --estimator-module ..."
 */
export async function reloadEstimatorModule(ref: ModuleRef, name: string | undefined, where: string): Promise<Either<MixrlError, LoadedEstimator>> {
  const same = await rereadModule(ref, where, ESTIMATOR_MODULE);
  return isLeft(same) ? same : estimatorOf(ref, name, `${where}: its estimator module ${ref.path}`);
}

/**
 * The custom estimator of a run being loaded (`where` names it in errors, e.g. `--resume runs/p`):
 * the run's `estimator` from the module `--estimator-module FILE` names (`file`), or else from the
 * one the run recorded, loaded again if it is unchanged; undefined for a run of its agent's own
 * estimator, which refuses a `file`.
 *
 * @example
 * await runEstimator(undefined, savedConfig, '--resume runs/p'); // Right(undefined) for a run of its agent's estimator
 */
export async function runEstimator(file: string | undefined, saved: Partial<TrainConfig>, where: string): Promise<Either<MixrlError, LoadedEstimator | undefined>> {
  if (saved.estimator === undefined) {
    return file === undefined ? right(undefined) : userError(`${where}: the run trains its agent's own estimator, not one of an estimator module; leave out --estimator-module`);
  }
  if (file !== undefined) return loadEstimatorModule(file, saved.estimator);
  return saved.estimatorModule === undefined ? right(undefined) : reloadEstimatorModule(saved.estimatorModule, saved.estimator, where);
}

/** The estimator `name` (or the only one) that the module `ref` names exports; `named` starts every error. */
async function estimatorOf(ref: ModuleRef, name: string | undefined, named: string): Promise<Either<MixrlError, LoadedEstimator>> {
  const exported = await moduleExport(ref.path, named, ESTIMATOR_MODULE);
  if (isLeft(exported)) return exported;
  if (typeof exported.right !== 'function') {
    return userError(`${named}: exports ${valueKind(exported.right)}, not a function of mixrl's namespace (its estimators must use this command's tensor ops); ${ESTIMATOR_MODULE.expected}`);
  }
  const record = await callExport(exported.right as (api: unknown) => unknown, mixrl, named);
  if (isLeft(record)) return record;
  const found = checkRecord(record.right, named);
  if (isLeft(found)) return found;
  const names = Object.keys(found.right);
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined) return userError(`${named} defines ${names.join(', ')}: choose one with --estimator NAME`);
  if (!Object.hasOwn(found.right, chosen)) return userError(`${named} defines ${names.join(', ')}, not the estimator '${chosen}'`);
  return right({ ref, name: chosen, estimator: underName(chosen, found.right[chosen]) });
}

/** The module function's result as a record of estimators: a non-empty object of functions, none named as a built-in one. */
function checkRecord(record: unknown, named: string): Either<MixrlError, Record<string, Estimator>> {
  if (record === null || typeof record !== 'object' || Array.isArray(record) || Object.keys(record).length === 0) {
    return userError(`${named}: its exported function returned ${valueKind(record)}, not a record of estimators; ${ESTIMATOR_MODULE.expected}`);
  }
  for (const [name, value] of Object.entries(record)) {
    if (typeof value !== 'function') return userError(`${named}: its estimator '${name}' is ${valueKind(value)}, not a function ({ policy, critic, alpha, key, ... }) => a scalar surrogate`);
    if (Object.hasOwn(builtIn, name)) {
      return userError(`${named}: '${name}' is the name of a built-in estimator (${Object.keys(builtIn).join(', ')}); give yours another (the agents use the built-in ones)`);
    }
  }
  return right(record as Record<string, Estimator>);
}

/**
 * `estimator` under the name the run records (a checkpoint's `customEstimator`, jit's logs): a
 * wrapper, since the module's function may be shared (a built-in estimator returned as it is).
 */
function underName(name: string, estimator: Estimator): Estimator {
  const wrapped: Estimator = (input) => estimator(input);
  return Object.defineProperty(wrapped, 'name', { value: name });
}
