/**
 * Weight files for NumPy, PyTorch and JAX: a pytree of tensors saved as named arrays in an `.npz` or
 * a `.safetensors` file (written atomically), and read back as tensors by name or into a tree.
 */
import { promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import { type Either, isLeft, left, map, right } from 'fp-ts/Either';
import { type Backend, defaultBackend, type Tensor } from '../../tensor';
import { writeAtomically } from '../checkpoint';
import { CheckpointError } from '../errors';
import type { NamedArrays } from './format';
import { arraysToTensors, arraysToTree, treeToArrays } from './named';
import { decodeNpz, encodeNpz } from './npz';
import { decodeSafetensors, encodeSafetensors, type Safetensors } from './safetensors';

/** The two interchange formats. */
export type WeightFormat = 'npz' | 'safetensors';

export interface SaveWeightsOptions {
  /** Default: from the file name's extension, `.npz` or `.safetensors`. */
  format?: WeightFormat;
  /** Strings stored under the header's `__metadata__` (`.safetensors` only; an `.npz` holds arrays alone). */
  metadata?: Readonly<Record<string, string>>;
}

export interface LoadWeightsOptions {
  /** Default: from the file name's extension, `.npz` or `.safetensors`. */
  format?: WeightFormat;
  /** Where the tensors are made (default the default backend). */
  backend?: Backend;
}

/** The format `options` or `path`'s extension says; an 'io' error otherwise. */
function formatOf(path: string, format: WeightFormat | undefined): Either<CheckpointError, WeightFormat> {
  if (format === 'npz' || format === 'safetensors') return right(format);
  if (format !== undefined) return left(new CheckpointError('io', `${path}: unknown weight format '${String(format)}' (npz or safetensors)`));
  const extension = /\.(npz|safetensors)$/i.exec(path)?.[1].toLowerCase();
  if (extension === undefined) return left(new CheckpointError('io', `${path}: cannot tell the format from the name; end it in .npz or .safetensors, or pass { format }`));
  return right(extension as WeightFormat);
}

function checkHost(path: string): Either<CheckpointError, void> {
  if (endianness() === 'LE') return right(undefined);
  return left(new CheckpointError('io', `${path}: weight files are little-endian and this host is big-endian`));
}

/**
 * Saves the tensors of `tree` to `path` as named arrays (`actor.layers.0.w`: the leaf's keys and
 * indices joined with '.'), in NumPy's `.npz` or Hugging Face's `.safetensors` format, atomically.
 * Errors name the file and the leaf.
 *
 * @example
 * await saveWeights('runs/p/actor.npz', { actor: run.sac.actor });
 * // python: w = numpy.load('runs/p/actor.npz')['actor.layers.0.w']
 * await saveWeights('runs/p/actor.safetensors', { actor: run.sac.actor }, { metadata: { env: 'Pendulum' } });
 */
export async function saveWeights(path: string, tree: unknown, options: SaveWeightsOptions = {}): Promise<Either<CheckpointError, void>> {
  const host = checkHost(path);
  if (isLeft(host)) return host;
  const format = formatOf(path, options.format);
  if (isLeft(format)) return format;
  if (format.right === 'npz' && options.metadata !== undefined && Object.keys(options.metadata).length > 0) {
    return left(new CheckpointError('unserializable', `${path}: an .npz file holds arrays only; metadata need .safetensors`));
  }
  const arrays = await treeToArrays(path, tree);
  if (isLeft(arrays)) return arrays;
  const chunks = format.right === 'npz' ? encodeNpz(path, arrays.right) : encodeSafetensors(path, arrays.right, options.metadata);
  if (isLeft(chunks)) return chunks;
  try {
    await writeAtomically(path, chunks.right);
    return right(undefined);
  } catch (e) {
    return left(new CheckpointError('io', `${path}: cannot write the weights: ${(e as Error).message}`));
  }
}

/**
 * Reads an `.npz` or `.safetensors` file: its arrays as tensors by name, or, given a `template`
 * tree (of tensors), that tree with the file's arrays as leaves; every leaf's array must be there
 * with the leaf's dtype and shape, and no other. Errors name the file, the byte or the array.
 *
 * @example
 * const all = await loadWeights('actor.npz'); // Right({ 'actor.layers.0.b': f32[64], ... })
 * const tree = await loadWeights('actor.safetensors', { template: { actor: run.sac.actor } }); // Right({ actor })
 */
export function loadWeights(path: string, options?: LoadWeightsOptions): Promise<Either<CheckpointError, Record<string, Tensor>>>;
export function loadWeights<T>(path: string, options: LoadWeightsOptions & { template: T }): Promise<Either<CheckpointError, T>>;
export async function loadWeights(path: string, options: LoadWeightsOptions & { template?: unknown } = {}): Promise<Either<CheckpointError, unknown>> {
  const host = checkHost(path);
  if (isLeft(host)) return host;
  const format = formatOf(path, options.format);
  if (isLeft(format)) return format;
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    return left(new CheckpointError('io', `${path}: cannot read the weights: ${(e as Error).message}`));
  }
  const decoded: Either<CheckpointError, NamedArrays> =
    format.right === 'npz' ? decodeNpz(path, bytes) : map((file: Safetensors) => file.arrays)(decodeSafetensors(path, bytes));
  if (isLeft(decoded)) return decoded;
  const backend = options.backend ?? defaultBackend();
  return 'template' in options ? arraysToTree(path, options.template, decoded.right, backend) : arraysToTensors(path, decoded.right, backend);
}
