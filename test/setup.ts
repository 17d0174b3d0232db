/**
 * Runs before each test file: fast-check's seed is fixed, so every run draws the same cases and a
 * CI run cannot go red on a case no earlier run met. `MIXRL_FC_SEED` picks another seed, or
 * `random` a new one per file and run (soak runs, with `MIXRL_FC_SCALE`); a failure prints the seed
 * and path that replay it.
 */
import fc from 'fast-check';

const DEFAULT_SEED = 20241126;
const chosen = process.env.MIXRL_FC_SEED;
if (chosen !== 'random') {
  const seed = chosen === undefined || chosen === '' ? DEFAULT_SEED : Number(chosen);
  if (!Number.isInteger(seed)) throw new Error(`MIXRL_FC_SEED: '${chosen}' is neither an integer nor 'random'`);
  fc.configureGlobal({ seed });
}
