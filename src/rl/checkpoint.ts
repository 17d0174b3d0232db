/**
 * Checkpoint files: one binary file per checkpoint (format in `serialize.ts`), written atomically and
 * validated in full when read.
 */
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/Either';
import { type Backend, defaultBackend } from '../tensor';
import { CheckpointError } from './errors';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './serialize';

function checkHost(file: string): CheckpointError | undefined {
  if (endianness() === 'LE') return undefined;
  return new CheckpointError('io', `${file}: checkpoint files are little-endian and this host is big-endian`);
}

/**
 * Writes `chunks` to `path` so that readers see the old file or the whole new one, never a part:
 * a temporary file in the same directory is written, flushed to disk (fsync), renamed over `path`,
 * and the directory is flushed so the rename survives a crash. On failure the temporary file is
 * removed and an existing `path` is left as it was.
 *
 * @example
 * await writeAtomically('runs/x/summary.json', [new TextEncoder().encode(text)]);
 */
export async function writeAtomically(path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const dir = dirname(path);
  await fsp.mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${randomUUID()}${TEMP_SUFFIX}`);
  const handle = await fsp.open(temp, 'wx');
  try {
    let position = 0;
    for (const chunk of chunks) {
      for (let done = 0; done < chunk.length; ) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    await fsp.rename(temp, path);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await fsp.rm(temp, { force: true });
    throw e;
  }
  const dirHandle = await fsp.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

const TEMP_SUFFIX = '.tmp';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Removes the temporary files `writeAtomically` left in `dir` for the files named `names` (a
 * process killed mid-write leaves `.NAME.<uuid>.tmp`, as large as the file: a checkpoint's size).
 * Only a command holding the folder, its one writer, may call it: another writer's file in progress
 * would go too. Returns how many were removed.
 *
 * @example
 * await removeLeftoverTemps('runs/p', ['checkpoint.mixrl', 'summary.json']); // 1 after a kill -9 mid-checkpoint
 */
export async function removeLeftoverTemps(dir: string, names: readonly string[]): Promise<number> {
  const wanted = new Set(names);
  let removed = 0;
  for (const entry of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!entry.startsWith('.') || !entry.endsWith(TEMP_SUFFIX)) continue;
    const stem = entry.slice(1, -TEMP_SUFFIX.length);
    const dot = stem.lastIndexOf('.');
    if (dot < 0 || !UUID.test(stem.slice(dot + 1)) || !wanted.has(stem.slice(0, dot))) continue;
    await fsp.rm(join(dir, entry), { force: true });
    removed++;
  }
  return removed;
}

/**
 * Saves a checkpoint to the file `path` (its directory is created if needed), atomically: an existing
 * checkpoint there is replaced only once the new one is completely on disk.
 *
 * @example
 * const saved = await saveCheckpoint('runs/pendulum/step-10000.mixrl', {
 *   metadata: { step: 10000, replay: buffer.state().meta },
 *   trees: { actor, critic, targetCritic, actorOpt, criticOpt },
 *   arrays: buffer.state().arrays,
 * });
 * if (isLeft(saved)) console.error(saved.left.message);
 */
export async function saveCheckpoint(path: string, checkpoint: Checkpoint): Promise<Either<CheckpointError, void>> {
  const hostProblem = checkHost(path);
  if (hostProblem) return left(hostProblem);
  const encoded = await encodeCheckpoint(path, checkpoint);
  if (isLeft(encoded)) return encoded;
  try {
    await writeAtomically(path, encoded.right);
    return right(undefined);
  } catch (e) {
    return left(new CheckpointError('io', `${path}: cannot write the checkpoint: ${(e as Error).message}`));
  }
}

export interface LoadOptions {
  /** Where the tensors are made (default the default backend). */
  backend?: Backend;
}

/**
 * Reads a checkpoint file back, validating everything; errors name the file and the byte offset of
 * the problem. Tensors and typed arrays are bit-exact copies of what was saved.
 *
 * @example
 * const loaded = await loadCheckpoint('runs/pendulum/step-10000.mixrl');
 * if (isRight(loaded)) ({ actor, critic } = loaded.right.trees as AgentTrees);
 */
export async function loadCheckpoint(path: string, options: LoadOptions = {}): Promise<Either<CheckpointError, Checkpoint>> {
  const hostProblem = checkHost(path);
  if (hostProblem) return left(hostProblem);
  let bytes: Uint8Array;
  try {
    bytes = await fsp.readFile(path);
  } catch (e) {
    return left(new CheckpointError('io', `${path}: cannot read the checkpoint: ${(e as Error).message}`));
  }
  return decodeCheckpoint(path, bytes, options.backend ?? defaultBackend());
}
