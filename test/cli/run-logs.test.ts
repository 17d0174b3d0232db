/**
 * `EvaluationLog` (evaluations.jsonl): the best evaluation is the highest greedy mean, starting from
 * -Infinity as SB3's `best_mean_reward` does, so a diverged policy's NaN mean (null in JSON) is never
 * the best; and its line survives a resume's rereading of the log.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { EvaluationLog } from '../../src/cli/run-logs';
import type { EvaluationRecord } from '../../src/experiments/evaluation';

const stats = (mean: number) => ({ mean, std: 0, min: mean, max: mean, meanLength: 200, returns: [mean], lengths: [200] });
const record = (step: number, mean: number) => ({ step, seed: 1, episodes: 1, mode: stats(mean), sample: stats(mean), wallTime: 0, seconds: 0 }) as EvaluationRecord;

it('never takes a NaN greedy mean for the best, and keeps its line on reopening', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'mixrl-evals-')), 'evaluations.jsonl');
  const log = await EvaluationLog.open(file, 0);
  expect(log.append(record(100, NaN))).toBe(false);
  expect(log.summary().best).toBeNull();
  expect(log.append(record(200, -500))).toBe(true);
  expect(log.append(record(300, -600))).toBe(false);
  expect(log.summary().best?.step).toBe(200);
  // A resume at step 300 rereads the log: every line is kept, the NaN one (null in JSON) included.
  const reopened = await EvaluationLog.open(file, 300);
  expect(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l).step)).toEqual([100, 200, 300]);
  expect(reopened.summary().best?.step).toBe(200);
  expect(reopened.summary().last?.step).toBe(300);
});
