/**
 * The paper's experiments by name: what `mixrl reproduce <name>` runs. Adding one is its import and one
 * line in `PAPER_EXPERIMENTS` (its `name` is the key).
 */
import { classicControl } from './classic-control';
import { estimatorComparison } from './estimators';
import { computeOverhead } from './overhead';
import { stationaryPoints } from './stationary';
import { syntheticBandits } from './synthetic-bandits';
import { gradientVariance } from './variance';
import type { PaperExperiment } from './types';

export type { ExperimentContext, ExperimentResult, Figure, PaperExperiment, Scale, Series, Table } from './types';

/** Keyed by name, in the order `mixrl reproduce --list` shows them. */
export const PAPER_EXPERIMENTS: Readonly<Record<string, PaperExperiment>> = byName([
  stationaryPoints,
  syntheticBandits,
  classicControl,
  estimatorComparison,
  gradientVariance,
  computeOverhead,
]);

/** The record of experiments keyed by their names (a name given twice is a mistake in this file). */
function byName(list: readonly PaperExperiment[]): Record<string, PaperExperiment> {
  const out: Record<string, PaperExperiment> = Object.create(null);
  for (const e of list) {
    if (out[e.name]) throw new Error(`two paper experiments are named '${e.name}'`);
    out[e.name] = e;
  }
  return out;
}

export { aggregateCurves, curveArea, finalReturn, meanInterval, runCurve, stepGrid, tQuantile975, type CurveSummary, type EpisodePoint, type Interval } from './stats';
export { renderSvg, escapeXml, linearAxis, logAxis, LAYOUT } from './svg';
export { csvField, parseCsv, tableToCsv } from './csv';
export { Interrupted, OVERRIDE_VARIABLE, trainRuns, useCliForRuns, type RunSpec, type RunOutcome } from './runs';
