/**
 * Evaluation of a run's policy on episodes of its own: greedy (the policy's mode) or sampled actions,
 * start states and action draws from an evaluation seed, never from the training streams, so
 * evaluating leaves the run exactly where it was.
 */
import { type Transition } from '../envs';
import { rawFoldIn, rawKey, UniformStream } from '../tensor/threefry';
import type { TrainConfig } from './config';
import { act, type Run } from './train';

/** Returns and lengths of evaluation episodes, episode by episode. */
export interface EpisodeResults {
  returns: number[];
  lengths: number[];
}

/**
 * Runs `episodes` evaluation episodes with the greedy (mode) or sampled actions; returns their
 * returns and lengths. Episode e starts from `foldIn(foldIn(key(seed), 0), e)` and draws its step-t
 * action from `foldIn(foldIn(foldIn(key(seed), 1), e), t)`: the same seed gives the same episodes.
 *
 * @example
 * const { returns, lengths } = await evaluateEpisodes(run, 10, 'mode', 12345);
 */
export async function evaluateEpisodes(run: Run, episodes: number, how: 'sample' | 'mode', seed: number): Promise<EpisodeResults> {
  const { model, h } = run;
  const state = new Float64Array(model.stateLayout.length);
  const obs = new Float64Array(model.observationSpace.size);
  const transition: Transition = { reward: 0, terminated: false };
  const evalKey = rawKey(seed);
  const actKey = rawFoldIn(evalKey, 1);
  const results: EpisodeResults = { returns: [], lengths: [] };
  for (let e = 0; e < episodes; e++) {
    model.initialState(new UniformStream(rawFoldIn(rawFoldIn(evalKey, 0), e)), state, 0);
    model.observe(state, 0, obs, 0);
    let total = 0;
    let length = 0;
    const episodeKey = rawFoldIn(actKey, e);
    while (length < model.maxEpisodeSteps) {
      const chosen = act(h, run.sac.actor, obs, rawFoldIn(episodeKey, length), how);
      const action = chosen instanceof Float64Array ? chosen : await chosen;
      model.transition(state, 0, action, 0, transition);
      total += transition.reward;
      length++;
      model.observe(state, 0, obs, 0);
      if (transition.terminated) break;
    }
    results.returns.push(total);
    results.lengths.push(length);
  }
  return results;
}

/**
 * Runs `episodes` evaluation episodes with the greedy (mode) or sampled actions; returns their returns.
 * Evaluation episodes use their own seeds (from `seed`), separate from training.
 *
 * @example
 * const returns = await evaluate(run, 10, 'mode', 12345);
 */
export async function evaluate(run: Run, episodes: number, how: 'sample' | 'mode', seed: number): Promise<number[]> {
  return (await evaluateEpisodes(run, episodes, how, seed)).returns;
}

/** Added to a run's seed for its evaluation seed: `mixrl eval`'s default seed is this for seed 0. */
const EVAL_SEED_OFFSET = 1_000_003;

/**
 * The seed of a run's periodic evaluations: the training seed plus 1,000,003 (minus, for seeds too
 * large to add it to), so each training seed is evaluated on start states of its own, the same ones
 * at every evaluation of the run; greedy and sampled actions share them. `mixrl eval --seed` with
 * this seed repeats an evaluation from the checkpoint at its step.
 *
 * @example
 * evalSeed({ seed: 0 }); // 1000003, `mixrl eval`'s default seed
 * evalSeed({ seed: 4 }); // 1000007
 */
export function evalSeed(config: Pick<TrainConfig, 'seed'>): number {
  return config.seed <= Number.MAX_SAFE_INTEGER - EVAL_SEED_OFFSET ? config.seed + EVAL_SEED_OFFSET : config.seed - EVAL_SEED_OFFSET;
}

/** Statistics of one way of acting over an evaluation's episodes. */
export interface EvaluationStats extends EpisodeResults {
  mean: number;
  /** Population standard deviation (NumPy's `np.std`, as SB3's `evaluate_policy` reports). */
  std: number;
  min: number;
  max: number;
  meanLength: number;
}

/** One line of `evaluations.jsonl`. */
export interface EvaluationRecord {
  /** Environment steps trained when the evaluation ran. */
  step: number;
  /** The evaluation seed (`evalSeed`). */
  seed: number;
  episodes: number;
  /** Greedy actions: the policy's mode. */
  mode: EvaluationStats;
  /** Actions drawn from the policy. */
  sample: EvaluationStats;
  /** When the evaluation finished, in seconds since the Unix epoch. */
  wallTime: number;
  /** How long it took, in seconds. */
  seconds: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Mean, population standard deviation, min and max of the returns, and the mean length.
 *
 * @example
 * evaluationStats({ returns: [1, 3], lengths: [200, 100] }); // mean 2, std 1, min 1, max 3, meanLength 150
 */
export function evaluationStats(results: EpisodeResults): EvaluationStats {
  const m = mean(results.returns);
  return {
    mean: m,
    std: Math.sqrt(mean(results.returns.map((r) => (r - m) ** 2))),
    min: Math.min(...results.returns),
    max: Math.max(...results.returns),
    meanLength: mean(results.lengths),
    returns: results.returns,
    lengths: results.lengths,
  };
}

/**
 * Evaluates the run's current policy with greedy and with sampled actions on `episodes` episodes
 * each (default `config.evalEpisodes`), seeded by `evalSeed(config)`. The run is not changed.
 *
 * @example
 * await train(run, { until: 20_000 }, { onEvaluate: async (r) => console.log((await evaluateRun(r)).mode.mean) });
 */
export async function evaluateRun(run: Run, episodes = run.config.evalEpisodes): Promise<EvaluationRecord> {
  const started = performance.now();
  const seed = evalSeed(run.config);
  const mode = evaluationStats(await evaluateEpisodes(run, episodes, 'mode', seed));
  const sample = evaluationStats(await evaluateEpisodes(run, episodes, 'sample', seed));
  return { step: run.step, seed, episodes, mode, sample, wallTime: Date.now() / 1000, seconds: (performance.now() - started) / 1000 };
}
