/**
 * `mixrl plot RUN...`: learning curves of training runs (`experiments/plot.ts`). Each argument is a
 * run folder (`mixrl train --out`) or a folder holding run folders at any depth up to 4 (a sweep's or
 * reproduction's `--out`, or a folder of links to runs); a run reached twice counts once. Writes one
 * SVG per environment, `summary.csv`, `curves.csv`, `comparisons.csv` and `aggregate.csv` into `--out`
 * (atomically, every file every time, a table with no rows as its header; a plot folder is derived
 * data, so its files are replaced) and prints the summary. User errors come back as `Left` (one
 * line, exit 2).
 */
import { type Dirent, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { type Either, isLeft, left, right } from 'fp-ts/lib/Either.js';
import { ConfigError, defaultsFor } from '../experiments/config';
import { exists, makeDirs, readJsonFile, readJsonLines, writeFileAtomic } from '../experiments/files';
import { tableToCsv } from '../experiments/paper/csv';
import { show } from '../experiments/paper/curves';
import { isEpisode } from '../experiments/paper/runs';
import { renderSvg } from '../experiments/paper/svg';
import { type PlotMetric, type PlotRun, plotRuns } from '../experiments/plot';
import { DEFAULT_RESAMPLES } from '../experiments/bootstrap';
import { type Normalization, showBootstrap } from '../experiments/reliable';
import { parseArgs, parseDecimal, typedFlags } from './args';
import { ioReason, type Outcome } from './out-folder';

const userError = (message: string) => left(new ConfigError(message));

const FLAGS = { out: 'string', metric: 'string', bins: 'int', groupBy: 'string', bootstrap: 'int', seed: 'int', normalize: 'string', compare: 'string' } as const;

/** How deep below an argument run folders are looked for (a sweep's `runs/<name>` is 2). */
const MAX_DEPTH = 4;

/** `mixrl plot --help`. */
function plotUsage(): string {
  return [
    'usage: mixrl plot RUN... [--out DIR] [--metric return|eval] [--bins N] [--group-by KEY,KEY]',
    '                         [--bootstrap N] [--seed S] [--normalize ENV=MIN:MAX,...] [--compare final|auc]',
    '',
    '  RUN                  a run folder (mixrl train --out), or a folder holding run folders (a sweep\'s or reproduction\'s --out)',
    '  --out DIR            where the SVGs (one per env), summary.csv, curves.csv, comparisons.csv and aggregate.csv',
    '                       go (default plots)',
    '  --metric return|eval return: training episodes\' returns on a grid of steps (default); eval: the greedy',
    '                       evaluations of mixrl train --eval-every at the steps they ran',
    '  --bins N             points of the step grid for --metric return (default 40)',
    '  --group-by KEY,...   config keys naming a curve (e.g. agent,alpha); default: those whose values differ',
    '                       among the runs of an env (the seed and bookkeeping such as log-every aside)',
    `  --bootstrap N        resamples of the runs for the bootstrap intervals (default ${DEFAULT_RESAMPLES})`,
    '  --seed S             the bootstrap\'s seed (default 0): the same seed gives the same files',
    '  --normalize ENV=MIN:MAX,...',
    '                       score ranges mapped to 0..1 (e.g. Pendulum=-1500:0); a curve run in two or more of',
    '                       these envs is aggregated across them into aggregate.csv',
    '  --compare final|auc  the per-run score comparisons.csv compares: the final return (default) or the area',
    '                       under the curve',
    '',
    'Each curve is the mean over its runs with a 95% Student-t interval; summary.csv gives each curve\'s',
    'area under the curve (the mean of its points, the paper\'s criterion) and final return (the last 10%',
    'of steps, or the last evaluation), with 95% intervals over runs: the mean\'s t-interval, and the median,',
    'interquartile mean (IQM) and mean with percentile bootstrap intervals (rliable\'s). comparisons.csv gives',
    'the probability of improvement P(X > Y) of the final returns (or areas) of every two curves of an env, and',
    'for two curve names run in two or more envs its mean over those envs (env \'all (E envs)\').',
  ].join('\n');
}

/** What a folder entry is, a symbolic link read as what it points to (a broken one as neither). */
async function entryKind(dir: string, entry: Dirent): Promise<'file' | 'folder' | 'other'> {
  const kind = (s: { isFile(): boolean; isDirectory(): boolean }) => (s.isFile() ? 'file' : s.isDirectory() ? 'folder' : 'other');
  if (!entry.isSymbolicLink()) return kind(entry);
  return fs.stat(path.join(dir, entry.name)).then(kind, () => 'other');
}

/**
 * The run folders at or below `root` (a run folder: config.json beside episodes.jsonl), symbolic
 * links followed (a folder of links to runs is a folder of runs; MAX_DEPTH ends a loop of links).
 */
async function findRuns(root: string, depth = 0): Promise<string[]> {
  const entries = await fs.readdir(root, { withFileTypes: true });
  const kinds = await Promise.all(entries.map((e) => entryKind(root, e)));
  const names = new Set(entries.filter((_, i) => kinds[i] === 'file').map((e) => e.name));
  if (names.has('config.json') && names.has('episodes.jsonl')) return [root];
  if (depth >= MAX_DEPTH) return [];
  const below = await Promise.all(entries.filter((_, i) => kinds[i] === 'folder').map((e) => findRuns(path.join(root, e.name), depth + 1)));
  return below.flat().sort();
}

/** A run folder's config, episodes and greedy evaluation means; a config that is not JSON is an error naming the file. */
async function readRun(dir: string): Promise<Either<ConfigError, PlotRun>> {
  const file = path.join(dir, 'config.json');
  let config: unknown;
  try {
    config = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    return userError(`${file}: ${e instanceof SyntaxError ? `not JSON (${e.message})` : ioReason(e)}`);
  }
  if (config === null || typeof config !== 'object' || typeof (config as { env?: unknown }).env !== 'string') {
    return userError(`${file}: not a run's config (no "env" string)`);
  }
  const records = await readJsonLines(path.join(dir, 'episodes.jsonl'));
  const episodes = records.filter(isEpisode).map((e) => ({ step: e.step, return: e.return }));
  const unreadable = records.filter((r) => (r as { return?: unknown } | null)?.return === null).length;
  if (unreadable > 0) {
    console.log(`note: ${dir}: ${unreadable} episode${unreadable === 1 ? '' : 's'} with a NaN or infinite return (episodes.jsonl says null) left out of its curve; did the run diverge?`);
  }
  // summary.json is written when a run ends, stops or diverges; a run in progress has none yet.
  const summaryFile = path.join(dir, 'summary.json');
  const saved = await readJsonFile(summaryFile);
  if (saved === undefined && (await exists(summaryFile))) console.log(`note: ${summaryFile} is not JSON: the run is drawn as unfinished`);
  const summary = saved !== null && typeof saved === 'object' ? (saved as Record<string, unknown>) : {};
  if (typeof summary.diverged === 'string') console.log(`note: ${dir}: its policy diverged (${summary.diverged.split(':')[0]}): drawn as far as it got, left out of the final return`);
  const reached = Math.max(typeof summary.steps === 'number' ? summary.steps : 0, ...episodes.map((e) => e.step));
  // A config written before a key existed ran with its default: filled in, it does not split a curve.
  const filled = { ...defaultsFor((config as { env: string }).env), ...(config as Record<string, unknown>) };
  return right({ dir, config: filled, finished: summary.finished === true, reached, episodes, evaluations: await readEvaluations(dir) });
}

/** evaluations.jsonl's greedy means (a line cut short is skipped; no file, none). */
async function readEvaluations(dir: string): Promise<{ step: number; mean: number }[]> {
  const records = (await readJsonLines(path.join(dir, 'evaluations.jsonl'))) as ({ step?: unknown; mode?: { mean?: unknown } } | null)[];
  const out: { step: number; mean: number }[] = [];
  for (const r of records) if (typeof r?.step === 'number' && typeof r.mode?.mean === 'number') out.push({ step: r.step, mean: r.mode.mean });
  return out;
}

/**
 * `--normalize ENV=MIN:MAX,...` as a map from env to its score range; each ENV must be an env of the
 * runs, and MIN below MAX.
 *
 * @example
 * parseNormalization('Pendulum=-1500:0', new Set(['Pendulum'])); // right(Map { 'Pendulum' => [-1500, 0] })
 */
function parseNormalization(text: string, envs: ReadonlySet<string>): Either<ConfigError, Normalization> {
  const ranges = new Map<string, readonly [number, number]>();
  for (const entry of text.split(',').map((e) => e.trim())) {
    const eq = entry.lastIndexOf('=');
    const bounds = entry.slice(eq + 1).split(':').map(parseDecimal);
    const env = entry.slice(0, eq);
    if (eq <= 0 || bounds.length !== 2 || bounds.some((b) => b === undefined || !Number.isFinite(b))) return userError(`--normalize: '${entry}' is not ENV=MIN:MAX (e.g. Pendulum=-1500:0)`);
    const [min, max] = bounds as [number, number];
    if (!(min < max)) return userError(`--normalize: ${env}'s MIN must be below its MAX, got ${min}:${max}`);
    if (!envs.has(env)) return userError(`--normalize: no run is of env '${env}'; the runs' envs: ${[...envs].sort().join(', ')}`);
    if (ranges.has(env)) return userError(`--normalize: ${env} is given twice`);
    ranges.set(env, [min, max]);
  }
  return right(ranges);
}

/** An env id as a file name: characters other than letters, digits, `.`, `_` and `-` become `_`. */
const fileStem = (id: string) => id.replace(/[^A-Za-z0-9._-]/g, '_');

/**
 * `mixrl plot`: see the module comment.
 *
 * @example
 * await plotCommand(['sweeps/Pendulum-sgm-mrp', '--out', 'plots/pendulum']);
 */
export async function plotCommand(argv: readonly string[]): Promise<Outcome> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(plotUsage());
    return right(0);
  }
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const typed = typedFlags(parsed.right.flags, FLAGS);
  if (isLeft(typed)) return typed;
  const flags = typed.right as { out?: string; metric?: string; bins?: number; groupBy?: string; bootstrap?: number; seed?: number; normalize?: string; compare?: string };
  const roots = parsed.right.positionals;
  if (roots.length === 0) return userError('give one or more run folders, or folders holding them (a sweep\'s or reproduction\'s --out)');
  const metric = flags.metric ?? 'return';
  if (metric !== 'return' && metric !== 'eval') return userError(`flag --metric must be return or eval, got '${metric}'`);
  const bins = flags.bins ?? 40;
  if (!(bins >= 1)) return userError(`flag --bins must be a positive integer, got ${bins}`);
  const resamples = flags.bootstrap ?? DEFAULT_RESAMPLES;
  if (!(resamples >= 1)) return userError(`flag --bootstrap must be a positive integer (resamples of the runs), got ${resamples}`);
  const seed = flags.seed ?? 0;
  const compare = flags.compare ?? 'final';
  if (compare !== 'final' && compare !== 'auc') return userError(`flag --compare must be final or auc, got '${compare}'`);
  if (flags.out === '') return userError('flag --out needs a folder');
  const out = flags.out ?? 'plots';

  const dirs: string[] = [];
  for (const root of roots) {
    let found: string[];
    try {
      found = await findRuns(root);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return userError(`${root}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : ioReason(e)}`);
    }
    if (found.length === 0) return userError(`${root} holds no run folder (config.json beside episodes.jsonl) within ${MAX_DEPTH} levels`);
    dirs.push(...found);
  }
  // A run reached twice (two arguments, a link to it, 'runs/a' and 'runs/a/') counts once.
  const runs: PlotRun[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const real = await fs.realpath(dir);
    if (seen.has(real)) continue;
    seen.add(real);
    const run = await readRun(dir);
    if (isLeft(run)) return run;
    runs.push(run.right);
  }
  if (metric === 'eval' && runs.every((r) => r.evaluations.length === 0)) {
    return userError('--metric eval: no run holds evaluations.jsonl (train with --eval-every N)');
  }
  const groupBy = flags.groupBy?.split(',').map((k) => k.trim());
  if (groupBy !== undefined) {
    const known = new Set(runs.flatMap((r) => Object.keys(r.config)));
    const unknown = groupBy.find((k) => !known.has(k));
    if (unknown !== undefined) return userError(`--group-by: no run's config has '${unknown}'; config keys: ${[...known].sort().join(', ')}`);
  }

  let normalize: Normalization | undefined;
  if (flags.normalize !== undefined) {
    const parsedRanges = parseNormalization(flags.normalize, new Set(runs.map((r) => String(r.config.env))));
    if (isLeft(parsedRanges)) return parsedRanges;
    normalize = parsedRanges.right;
  }

  const result = plotRuns(runs, { metric: metric as PlotMetric, bins, resamples, seed, compare, ...(groupBy && { groupBy }), ...(normalize && { normalize }) });
  try {
    await makeDirs(out);
    for (const figure of result.figures) await writeFileAtomic(path.join(out, `${fileStem(figure.id)}.svg`), renderSvg(figure));
    for (const table of result.tables) await writeFileAtomic(path.join(out, `${table.id}.csv`), tableToCsv(table));
  } catch (e) {
    return userError(`--out ${out}: cannot write there: ${ioReason(e)}`);
  }
  const by = result.groupBy.length === 0 ? '' : ` by ${result.groupBy.join(', ')}`;
  const boot = `95% percentile bootstrap interval, ${resamples} resamples, seed ${seed}`;
  console.log(
    `${runs.length} run${runs.length === 1 ? '' : 's'}, ${result.groups.length} curve${result.groups.length === 1 ? '' : 's'}${by}; area under the curve and final return, ` +
      `mean with 95% t-interval over runs, and IQM (${boot}):`,
  );
  for (const g of result.groups) {
    const unfinished = g.runs.filter((r) => !r.finished).length;
    const note = unfinished === 0 ? '' : `; ${unfinished} unfinished, drawn as far as they got, not in the final return`;
    console.log(
      `  ${g.env}  ${g.name}  (${g.runs.length} run${g.runs.length === 1 ? '' : 's'}${note}): area ${show(g.area)}, final ${show(g.final)}; ` +
        `IQM area ${showBootstrap(g.robust.area.iqm)}, final ${showBootstrap(g.robust.final.iqm)}`,
    );
  }
  if (result.comparisons.length > 0) {
    const [what, runsWith] = compare === 'auc' ? ['area under the curve', 'runs'] : ['final return', 'finished runs'];
    console.log(`probability of improvement of the ${what}, P(X > Y) (${boot}; over envs: the mean of each env's):`);
    for (const c of result.comparisons) {
      const where = c.envs.length === 1 ? c.env : `${c.env.slice(0, -1)}: ${c.envs.join(', ')})`;
      console.log(`  ${where}  P(${c.x} > ${c.y}) = ${showBootstrap(c.p)}  (${c.runsX} vs ${c.runsY} ${runsWith})`);
    }
  }
  if (normalize !== undefined) {
    if (result.aggregates.length === 0) console.log('--normalize: no curve ran in two or more of the normalized envs, so nothing is aggregated');
    else console.log(`over the normalized envs, IQM of the runs of all (${boot}, runs resampled within each env):`);
    for (const a of result.aggregates) console.log(`  ${a.name}  (${a.envs.join(', ')}; ${a.runs} runs): IQM area ${showBootstrap(a.area.iqm)}, final ${showBootstrap(a.final.iqm)}`);
  }
  console.log(`wrote ${result.figures.map((f) => `${fileStem(f.id)}.svg`).join(', ')}, ${result.tables.map((t) => `${t.id}.csv`).join(', ')} to ${out}`);
  return right(0);
}
