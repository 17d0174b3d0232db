/**
 * `mixrl export`: a run's network weights as an `.npz` or `.safetensors` file, to load with NumPy,
 * PyTorch or JAX (`src/rl/interop`). The safetensors file also holds what the arrays mean (env,
 * agent, sizes, the layer and head conventions) under `__metadata__`; both formats print it. User
 * errors come back as `Left` (one line, exit code 2).
 */
import * as path from 'node:path';
import { isLeft, left, right } from 'fp-ts/lib/Either.js';
import packageJson from '../../package.json';
import { treeFlatten } from '../autodiff';
import { ConfigError } from '../experiments/config';
import { loadRun, type Run } from '../experiments/train';
import { leafNames, saveWeights, type WeightFormat } from '../rl/interop';
import type { SacState } from '../rl/sac/update';
import { cpu, formatShape, type Tensor } from '../tensor';
import { parseArgs, typedFlags } from './args';
import { runEnvPreparer } from './envs';
import type { Outcome } from './out-folder';

const userError = (message: string) => left(new ConfigError(message));

const CHECKPOINT = 'checkpoint.mixrl';
const FORMATS: readonly WeightFormat[] = ['npz', 'safetensors'];
const FLAGS = { format: 'string', out: 'string', what: 'string', envModule: 'string' } as const;

/** The trees each `--what` exports, and the default file name (without extension). */
const WHAT = {
  actor: { file: 'actor', trees: (sac: SacState) => ({ actor: sac.actor }) },
  critics: { file: 'critics', trees: (sac: SacState) => ({ critics: sac.critics, targets: sac.targets }) },
  all: { file: 'weights', trees: (sac: SacState) => ({ actor: sac.actor, critics: sac.critics, targets: sac.targets, logAlpha: sac.logAlpha }) },
} as const;
type What = keyof typeof WHAT;

/** Per policy head: its output's layout along the last axis (src/distributions/head.ts) and its greedy action's u. */
const HEADS = {
  single: { layout: 'mean [A] | log_std [A]', greedy: 'the mean' },
  mixture: { layout: 'logits [K] | means [K*A] | log_stds [K*A] (component-major: k*A + a)', greedy: 'the mean of the component with the largest logit' },
  uniform: { layout: 'means [K*A] | log_stds [K*A] (component-major: k*A + a), weights 1/K', greedy: "component 0's mean" },
} as const;

/** What the exported arrays mean, as strings (safetensors metadata). */
function exportMetadata(run: Run): Record<string, string> {
  const { config, h } = run;
  const { kind, family, low, high } = h.head;
  const json = (value: unknown) => JSON.stringify(value);
  return {
    mixrl_version: packageJson.version,
    env: config.env,
    agent: config.agent,
    step: String(run.step),
    dtype: config.dtype,
    obs_dim: String(h.obsDim),
    action_dim: String(h.head.actionDim),
    hidden: json(config.hidden),
    mlp: 'layers.i.w is [in, out], layers.i.b is [out]; y = x @ w + b; relu after every layer but the last',
    actor_head: json({ kind, family, components: kind === 'single' ? 1 : config.components, logStdMin: config.logStdMin, logStdMax: config.logStdMax }),
    actor_head_layout: HEADS[kind].layout,
    action: `log_std clipped to [logStdMin, logStdMax]; a = (high - low) / 2 * tanh(u) + (high + low) / 2, u drawn from the head (greedy: ${HEADS[kind].greedy})`,
    action_low: json(low),
    action_high: json(high),
    critic: 'Q(s, a) = critic(concat([obs, action], -1)), output [1]; targets are the target critics',
    config: json(config),
  };
}

/**
 * `mixrl export <checkpoint file or run folder> --format npz|safetensors [--out FILE] [--what actor|critics|all] [--env-module FILE]`.
 *
 * @example
 * await exportCommand(['runs/p', '--format', 'npz', '--what', 'actor']); // writes runs/p/actor.npz, Right(0)
 */
export async function exportCommand(argv: readonly string[]): Promise<Outcome> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(exportUsage());
    return right(0);
  }
  const parsed = parseArgs(argv);
  if (isLeft(parsed)) return parsed;
  const { flags, positionals } = parsed.right;
  const typed = typedFlags(flags, FLAGS);
  if (isLeft(typed)) return typed;
  const { format: formatFlag, out: outFlag, what = 'all', envModule } = typed.right as { format?: string; out?: string; what?: string; envModule?: string };
  if (positionals.length !== 1) {
    return userError(positionals.length === 0 ? 'give a checkpoint file or a run folder (mixrl export --help)' : `unexpected argument '${positionals[1]}'`);
  }
  if (!Object.hasOwn(WHAT, what)) return userError(`flag --what must be actor, critics or all, got '${what}'`);
  if (formatFlag !== undefined && !FORMATS.includes(formatFlag as WeightFormat)) return userError(`flag --format must be npz or safetensors, got '${formatFlag}'`);
  const fromOut = FORMATS.find((f) => outFlag?.toLowerCase().endsWith(`.${f}`));
  if (formatFlag !== undefined && fromOut !== undefined && fromOut !== formatFlag) {
    return userError(`--out ${outFlag} ends in .${fromOut} but --format is ${formatFlag}`);
  }
  const format = (formatFlag as WeightFormat | undefined) ?? fromOut;
  if (format === undefined) return userError('give --format npz|safetensors (or an --out FILE ending in .npz or .safetensors)');
  // The extension is required: an --out naming the run's checkpoint, config or logs would replace them.
  if (outFlag !== undefined && fromOut === undefined) return userError(`--out ${outFlag} must end in .${format} (the weights' format)`);

  const source = positionals[0];
  const file = source.endsWith('.mixrl') ? source : path.join(source, CHECKPOINT);
  // A run on an env of one's own: its module (--env-module FILE, or the one the run recorded) defines the env.
  const prepareEnv = await runEnvPreparer(envModule, source);
  if (isLeft(prepareEnv)) return prepareEnv;
  // Weights need no estimator: a run trained with one of the caller's own exports without it.
  const loaded = await loadRun(file, cpu, { prepareEnv: prepareEnv.right, weightsOnly: true });
  if (isLeft(loaded)) return loaded;
  const run = loaded.right;
  const { file: name, trees: treesOf } = WHAT[what as What];
  const trees = treesOf(run.sac);
  const out = outFlag ?? path.join(path.dirname(file), `${name}.${format}`);
  const metadata = exportMetadata(run);
  const saved = await saveWeights(out, trees, { format, metadata: format === 'safetensors' ? metadata : undefined });
  if (isLeft(saved)) return saved;

  console.log(`${run.config.agent} on ${run.config.env} at step ${run.step} -> ${out}`);
  console.log('arrays (name, dtype and shape):');
  const [leaves, def] = treeFlatten(trees);
  leafNames(def).forEach((arrayName, i) => {
    const t = leaves[i] as Tensor;
    console.log(`  ${arrayName.padEnd(24)} ${t.dtype}${formatShape(t.shape)}`);
  });
  console.log(format === 'safetensors' ? 'metadata (in the file, __metadata__):' : 'what they mean (an .npz holds arrays only; --format safetensors keeps this in the file):');
  for (const [key, value] of Object.entries(metadata)) {
    if (key !== 'config') console.log(`  ${key.padEnd(18)} ${value}`);
  }
  return right(0);
}

/** `mixrl export --help`. */
function exportUsage(): string {
  return [
    'usage: mixrl export <checkpoint file or run folder> --format npz|safetensors [--out FILE] [--what actor|critics|all]',
    '                    [--env-module FILE]',
    '',
    '  <checkpoint>                 a run folder (its checkpoint.mixrl) or a .mixrl checkpoint file',
    '  --format npz|safetensors     NumPy\'s .npz (numpy.load) or Hugging Face\'s .safetensors, which also keeps',
    '                               the layout below in its __metadata__ (default: from --out\'s extension)',
    '  --out FILE                   the file to write, ending in .npz or .safetensors (default <run folder>/actor|critics|weights.<format>)',
    '  --what actor|critics|all     actor: actor.*; critics: critics.0.*, critics.1.* and their targets',
    '                               targets.0.*, targets.1.*; all (default): these and logAlpha',
    '  --env-module FILE            a run on an env of your own: the module to load instead of the one the run',
    '                               recorded (docs/envs.md)',
    '',
    'Arrays are named by their path: actor.layers.0.w is [in, out], actor.layers.0.b is [out], y = x @ w + b',
    'with relu after every layer but the last. Optimizer states are not exported. docs/training.md, "Exporting',
    'weights", loads them in PyTorch.',
  ].join('\n');
}
