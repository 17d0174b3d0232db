/**
 * The replay buffer: a ring of the last `capacity` transitions over flat typed arrays, sampled
 * uniformly with replacement by Threefry on plain numbers.
 */
import { type Either, left, right } from 'fp-ts/Either';
import { type Backend, defaultBackend, type Tensor, tensor } from '../tensor';
import { checkRawKey, type RawKey, UniformStream } from '../tensor/threefry';
import { ReplayError } from './errors';

/** The float type transitions are stored in. */
export type ReplayStorage = 'float32' | 'float64';

export interface ReplayConfig {
  capacity: number;
  obsDim: number;
  actionDim: number;
  /** Default `float32` (half the memory; env outputs are rounded once, on insertion). */
  storage?: ReplayStorage;
}

/** One transition, or (for `addBatch`) N of them as flat row-major arrays. */
export interface Transitions {
  obs: ArrayLike<number>;
  action: ArrayLike<number>;
  reward: ArrayLike<number>;
  nextObs: ArrayLike<number>;
  /** 1 (or true) where the episode reached a terminal state; a time-limit cut is not termination. */
  terminated: ArrayLike<number | boolean>;
}

/** A sampled minibatch: `obs [B, obsDim]`, `action [B, actionDim]`, `reward [B]`, `nextObs`, `terminated [B]` (0 or 1, float). */
export interface ReplayBatch {
  readonly obs: Tensor;
  readonly action: Tensor;
  readonly reward: Tensor;
  readonly nextObs: Tensor;
  readonly terminated: Tensor;
}

export interface SampleOptions {
  /** Float type of the batch tensors (default float32). */
  dtype?: 'float32' | 'float64';
  /** Where the batch tensors live (default the default backend). */
  backend?: Backend;
}

type FloatArray = Float32Array | Float64Array;

/**
 * The filled part of the storage, rows `[0, size)`: what a checkpoint stores. A type alias, not an
 * interface, so it is assignable to `saveCheckpoint`'s record of arrays.
 */
export type ReplayArrays = {
  readonly obs: FloatArray;
  readonly action: FloatArray;
  readonly reward: FloatArray;
  readonly nextObs: FloatArray;
  readonly terminated: Uint8Array;
};

/** A buffer's whole state: JSON-able counters and config, and the filled rows. */
export interface ReplayState {
  readonly meta: Required<ReplayConfig> & { readonly size: number; readonly next: number };
  readonly arrays: ReplayArrays;
}

const isCount = (n: unknown, min: number): n is number => Number.isSafeInteger(n) && (n as number) >= min;

function configProblem(c: ReplayConfig): string | undefined {
  if (!isCount(c.capacity, 1)) return `capacity must be a positive integer, got ${c.capacity}`;
  if (!isCount(c.obsDim, 1)) return `obsDim must be a positive integer, got ${c.obsDim}`;
  if (!isCount(c.actionDim, 1)) return `actionDim must be a positive integer, got ${c.actionDim}`;
  if (c.storage !== undefined && c.storage !== 'float32' && c.storage !== 'float64') {
    return `storage must be 'float32' or 'float64', got ${String(c.storage)}`;
  }
  return undefined;
}

/**
 * A ring buffer of transitions. `add` and `addBatch` are the one in-place mutation in the RL layer: the
 * buffer is owned by the training loop (outside any pure update) and everything else reads it. Once
 * full, each new transition overwrites the oldest.
 *
 * @example
 * const buffer = new ReplayBuffer({ capacity: 100_000, obsDim: 3, actionDim: 1 });
 * buffer.add({ obs, action, reward: [r], nextObs, terminated: [0] });
 * const batch = buffer.sample(rawFoldIn(runKey, step), 32); // batch.obs: f32[32,3]
 */
export class ReplayBuffer {
  readonly capacity: number;
  readonly obsDim: number;
  readonly actionDim: number;
  readonly storage: ReplayStorage;
  /**
   * Transition i in one row of `width` values from `i * width` on: obs, action, reward, nextObs,
   * terminated (0 or 1). Sampling reads a row where it is (a few neighbouring cache lines), not five
   * arrays in five places: 100 buffers' batches of 256 SAC-v2-size rows took 27.5 ms from five
   * arrays, 14.7 ms from rows (2 x 10^4 transitions each, out of cache; `bench/replay.ts`).
   */
  private readonly rows: FloatArray;
  private readonly width: number;
  private filled = 0;
  private cursor = 0;

  constructor(config: ReplayConfig) {
    const problem = configProblem(config);
    if (problem) throw new ReplayError('invalid-config', `ReplayBuffer: ${problem}`);
    this.capacity = config.capacity;
    this.obsDim = config.obsDim;
    this.actionDim = config.actionDim;
    this.storage = config.storage ?? 'float32';
    this.width = 2 * this.obsDim + this.actionDim + 2;
    const length = this.capacity * this.width;
    this.rows = this.storage === 'float32' ? new Float32Array(length) : new Float64Array(length);
  }

  /** Where each field starts in a row, and its width. */
  private get fields(): { readonly [K in keyof ReplayArrays]: readonly [start: number, width: number] } {
    const { obsDim: o, actionDim: a } = this;
    return { obs: [0, o], action: [o, a], reward: [o + a, 1], nextObs: [o + a + 1, o], terminated: [2 * o + a + 1, 1] };
  }

  /** How many transitions are stored (at most `capacity`). */
  get size(): number {
    return this.filled;
  }

  /**
   * Stores one transition (`reward` and `terminated` of length 1), overwriting the oldest when full.
   *
   * @example
   * buffer.add({ obs: [0, 1, 0], action: [0.5], reward: [-1], nextObs: [0.1, 1, 0], terminated: [false] });
   */
  add(t: Transitions): void {
    checkPresent(t);
    if (t.reward.length !== 1) {
      throw new ReplayError('invalid-transition', `ReplayBuffer: add takes one transition (reward of length 1), got ${t.reward.length}; use addBatch`);
    }
    this.addBatch(t);
  }

  /**
   * Stores N transitions given as flat rows (N = `reward.length`), e.g. one vector-env step, in row
   * order: row i lands where N single `add`s would put it.
   *
   * @example
   * const r = venv.step(actions);
   * buffer.addBatch({ obs, action: actions, reward: r.rewards, nextObs: r.finalObs, terminated: r.terminated });
   */
  addBatch(t: Transitions): void {
    checkPresent(t);
    const n = t.reward.length;
    this.checkLengths(t, n);
    for (const name of ['obs', 'action', 'reward', 'nextObs'] as const) checkFinite(name, t[name], n);
    const { obsDim: o, actionDim: a, rows } = this;
    for (let row = 0; row < n; row++) {
      const i = this.cursor;
      let at = i * this.width;
      for (let k = 0; k < o; k++) rows[at++] = t.obs[row * o + k];
      for (let k = 0; k < a; k++) rows[at++] = t.action[row * a + k];
      rows[at++] = t.reward[row];
      for (let k = 0; k < o; k++) rows[at++] = t.nextObs[row * o + k];
      rows[at] = t.terminated[row] ? 1 : 0;
      this.cursor = (i + 1) % this.capacity;
      this.filled = Math.min(this.filled + 1, this.capacity);
    }
  }

  private checkLengths(t: Transitions, n: number): void {
    const expected: [keyof Transitions, number][] = [
      ['obs', n * this.obsDim],
      ['action', n * this.actionDim],
      ['nextObs', n * this.obsDim],
      ['terminated', n],
    ];
    for (const [name, length] of expected) {
      if (t[name].length !== length) {
        throw new ReplayError(
          'invalid-transition',
          `ReplayBuffer: ${name} has ${t[name].length} values, expected ${length} for ${n} transition(s)`,
        );
      }
    }
  }

  /**
   * `batchSize` transitions drawn uniformly with replacement from the stored ones: row j is
   * transition floor(u_j · size) with u_j the j-th draw of `UniformStream(key)`. A pure function of
   * the key and the buffer's contents.
   *
   * @example
   * const { obs, action, reward, nextObs, terminated } = buffer.sample(rawKey(0), 256, { backend: gpu });
   */
  sample(key: RawKey, batchSize: number, options: SampleOptions = {}): ReplayBatch {
    return ReplayBuffer.sampleEach([this], [key], batchSize, options, 'ReplayBuffer');
  }

  /** Draws `batchSize` transitions by `key` (a checked key, a non-empty buffer) into `out` from batch row `at` on. */
  private drawInto(key: RawKey, batchSize: number, out: Record<keyof ReplayBatch, FloatArray>, at: number): void {
    const stream = new UniformStream(key);
    const { obsDim: o, actionDim: a, rows, width, filled } = this;
    const { obs, action, reward, nextObs, terminated } = out;
    // The rows first, then their values: the loads of one row do not wait on the next draw's hash.
    const drawn = new Int32Array(batchSize);
    for (let j = 0; j < batchSize; j++) drawn[j] = Math.floor(stream.next() * filled) * width;
    for (let j = at; j < at + batchSize; j++) {
      let from = drawn[j - at];
      for (let k = 0; k < o; k++) obs[j * o + k] = rows[from++];
      for (let k = 0; k < a; k++) action[j * a + k] = rows[from++];
      reward[j] = rows[from++];
      for (let k = 0; k < o; k++) nextObs[j * o + k] = rows[from++];
      terminated[j] = rows[from];
    }
  }

  /**
   * One minibatch from each buffer, stacked along a leading axis: `obs [n, B, obsDim]`, `reward
   * [n, B]`, ..., row i being `buffers[i].sample(keys[i], batchSize)`'s batch, bit for bit. The
   * batch of n agents trained together (`makeBatchedSacUpdate`), made in one pass, uploaded once.
   *
   * @example
   * const batches = ReplayBuffer.sampleStacked(buffers, buffers.map((_, i) => rawFoldIn(keys[i], step)), 256); // obs: f32[n,256,obsDim]
   */
  static sampleStacked(buffers: readonly ReplayBuffer[], keys: readonly RawKey[], batchSize: number, options: SampleOptions = {}): ReplayBatch {
    return ReplayBuffer.sampleEach(buffers, keys, batchSize, options, 'ReplayBuffer.sampleStacked', true);
  }

  /**
   * `sample` and `sampleStacked`: buffer i's batch by key i into rows `[i B, (i + 1) B)` of one array
   * per field, then one tensor per field (`[B, ...]` alone, `[n, B, ...]` stacked).
   */
  private static sampleEach(
    buffers: readonly ReplayBuffer[],
    keys: readonly RawKey[],
    batchSize: number,
    options: SampleOptions,
    where: string,
    stacked = false,
  ): ReplayBatch {
    const { dtype = 'float32', backend = defaultBackend() } = options;
    if (!isCount(batchSize, 1)) {
      throw new ReplayError('invalid-config', `${where}: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (buffers.length === 0 || keys.length !== buffers.length) {
      throw new ReplayError('invalid-config', `${where}: one key per buffer, got ${keys.length} keys for ${buffers.length} buffers`);
    }
    const [first] = buffers;
    buffers.forEach((buffer, i) => {
      const at = stacked ? ` (buffer ${i})` : '';
      try {
        checkRawKey(stacked ? `${where}${at}` : `${where}: sample`, keys[i]);
      } catch (e) {
        throw new ReplayError('invalid-config', (e as Error).message);
      }
      if (buffer.size === 0) throw new ReplayError('empty', `${where}: cannot sample from an empty buffer${at}`);
      if (buffer.obsDim !== first.obsDim || buffer.actionDim !== first.actionDim) {
        throw new ReplayError('invalid-config', `${where}: buffer ${i} holds obsDim ${buffer.obsDim}, actionDim ${buffer.actionDim}; buffer 0 ${first.obsDim}, ${first.actionDim}`);
      }
    });
    const n = buffers.length;
    const floats = (width: number) => (dtype === 'float32' ? new Float32Array(n * batchSize * width) : new Float64Array(n * batchSize * width));
    const out = { obs: floats(first.obsDim), action: floats(first.actionDim), reward: floats(1), nextObs: floats(first.obsDim), terminated: floats(1) };
    buffers.forEach((buffer, i) => buffer.drawInto(keys[i], batchSize, out, i * batchSize));
    const lead = stacked ? [n, batchSize] : [batchSize];
    const make = (values: FloatArray, width: number) => tensor(values, { shape: width === 0 ? lead : [...lead, width], backend, copy: false });
    return { obs: make(out.obs, first.obsDim), action: make(out.action, first.actionDim), reward: make(out.reward, 0), nextObs: make(out.nextObs, first.obsDim), terminated: make(out.terminated, 0) };
  }

  /** Field `name` of the first `n` transitions, one after another (in the storage's float type). */
  private column(name: keyof ReplayArrays, n: number): FloatArray {
    const [start, width] = this.fields[name];
    const out = this.storage === 'float32' ? new Float32Array(n * width) : new Float64Array(n * width);
    for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) out[i * width + k] = this.rows[i * this.width + start + k];
    return out;
  }

  /**
   * A copy of the buffer's state for a checkpoint: the counters and the filled rows.
   *
   * @example
   * const { meta, arrays } = buffer.state();
   */
  state(): ReplayState {
    const n = this.filled;
    return {
      meta: {
        capacity: this.capacity,
        obsDim: this.obsDim,
        actionDim: this.actionDim,
        storage: this.storage,
        size: n,
        next: this.cursor,
      },
      arrays: {
        obs: this.column('obs', n),
        action: this.column('action', n),
        reward: this.column('reward', n),
        nextObs: this.column('nextObs', n),
        terminated: Uint8Array.from(this.column('terminated', n)),
      },
    };
  }

  /**
   * A buffer from a saved state, checked for consistency (it usually comes from a file).
   *
   * @example
   * const restored = ReplayBuffer.fromState(buffer.state()); // Right(buffer equal to the original)
   */
  static fromState(state: ReplayState): Either<ReplayError, ReplayBuffer> {
    const problem = stateProblem(state);
    if (problem) return left(new ReplayError('invalid-state', `ReplayBuffer: ${problem}`));
    const buffer = new ReplayBuffer(state.meta);
    const { arrays } = state;
    const n = state.meta.size;
    for (const [name, [start, width]] of Object.entries(buffer.fields) as [keyof ReplayArrays, readonly [number, number]][]) {
      const values = arrays[name];
      for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) buffer.rows[i * buffer.width + start + k] = values[i * width + k];
    }
    buffer.filled = n;
    buffer.cursor = state.meta.next;
    return right(buffer);
  }
}

/** Every field of a transition is there, as an array-like of values. */
function checkPresent(t: Transitions): void {
  for (const name of ['obs', 'action', 'reward', 'nextObs', 'terminated'] as const) {
    const values = t?.[name] as ArrayLike<unknown> | undefined;
    if (typeof values?.length !== 'number') {
      throw new ReplayError('invalid-transition', `ReplayBuffer: the transition's ${name} must be an array of values, got ${values === null ? 'null' : typeof values}`);
    }
  }
}

/** Stored values must be finite numbers: a NaN (or a string) would poison every batch that draws it. */
function checkFinite(name: string, values: ArrayLike<number>, n: number): void {
  const width = values.length / n;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const where = n === 1 ? `${name}[${i}]` : `${name}[${i}] (transition ${Math.floor(i / width)})`;
      throw new ReplayError('invalid-transition', `ReplayBuffer: ${where} is ${typeof values[i] === 'number' ? values[i] : JSON.stringify(values[i])}, not a finite number`);
    }
  }
}

function stateProblem(state: ReplayState): string | undefined {
  const { meta, arrays } = state;
  if (typeof meta !== 'object' || meta === null || typeof arrays !== 'object' || arrays === null) {
    return 'a state must be { meta, arrays } objects';
  }
  const problem = configProblem(meta);
  if (problem) return problem;
  if (!isCount(meta.size, 0) || meta.size > meta.capacity) return `size must be an integer in [0, ${meta.capacity}], got ${meta.size}`;
  const expectedNext = meta.size < meta.capacity ? meta.size : undefined;
  if (!isCount(meta.next, 0) || meta.next >= meta.capacity || (expectedNext !== undefined && meta.next !== expectedNext)) {
    return `next must be ${expectedNext ?? `an integer in [0, ${meta.capacity})`} for size ${meta.size}, got ${meta.next}`;
  }
  const floatType = meta.storage === 'float64' ? Float64Array : Float32Array;
  const expected: [keyof ReplayArrays, number, Function][] = [
    ['obs', meta.size * meta.obsDim, floatType],
    ['action', meta.size * meta.actionDim, floatType],
    ['reward', meta.size, floatType],
    ['nextObs', meta.size * meta.obsDim, floatType],
    ['terminated', meta.size, Uint8Array],
  ];
  for (const [name, length, type] of expected) {
    const a = arrays[name];
    if (!(a instanceof type)) return `array ${name} must be a ${type.name}, got ${a?.constructor?.name ?? String(a)}`;
    if (a.length !== length) return `array ${name} has ${a.length} values, expected ${length} for size ${meta.size}`;
  }
  if (arrays.terminated.some((d) => d > 1)) return 'array terminated must hold only 0 and 1';
  return undefined;
}
