/** The errors of the RL layer's boundaries: checkpoint files and replay-buffer states read back from them. */
import { MixrlError } from '../tensor';

/** What was wrong with a checkpoint file (or with saving one), as a stable string. */
export type CheckpointErrorCode =
  | 'io'
  | 'bad-magic'
  | 'unsupported-version'
  | 'truncated'
  | 'bad-manifest'
  | 'checksum'
  | 'unknown-dtype'
  | 'shape-mismatch'
  | 'bad-layout'
  | 'unserializable';

/**
 * A checkpoint that could not be written or read. Messages name the file first and, when reading,
 * the byte offset of the problem: `run/ck.mixrl: byte 1032: checksum mismatch in array critic.layers[0].w`.
 *
 * @example
 * const loaded = await loadCheckpoint('run/ck.mixrl');
 * if (isLeft(loaded) && loaded.left.code === 'checksum') console.error(loaded.left.message);
 */
export class CheckpointError extends MixrlError {
  declare readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string) {
    super(code, message);
  }
}

/** What was wrong with a replay buffer's config, input or saved state. */
export type ReplayErrorCode = 'invalid-config' | 'invalid-transition' | 'empty' | 'invalid-state';

/**
 * A bad replay-buffer config, transition or state; messages start with `ReplayBuffer:`.
 *
 * @example
 * const restored = ReplayBuffer.fromState(saved); // Left(ReplayError('invalid-state', ...)) when inconsistent
 */
export class ReplayError extends MixrlError {
  declare readonly code: ReplayErrorCode;
  constructor(code: ReplayErrorCode, message: string) {
    super(code, message);
  }
}
