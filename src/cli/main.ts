/** The `mixrl` command. User errors print one line and exit with code 2; no stack traces. */
import { availableParallelism } from 'node:os';
import { isLeft } from 'fp-ts/lib/Either.js';
import { MixrlError } from '../tensor';
import { threadsFromEnv } from '../tensor/cpu/wasm/threads';
import { runDemo } from './demo';
import { envsCommand } from './envs';
import { exportCommand } from './export';
import { plotCommand } from './plot';
import { reproduceCommand } from './reproduce';
import { sweepCommand } from './sweep';
import { agentsCommand, evalCommand, trainCommand } from './train';

const USAGE = `usage: mixrl <command> [flags]

commands:
  train     train an agent: --env ID --agent NAME --seed N --steps N [--alpha --actor-lr --critic-lr
            --hidden 64,64 --batch N --components K --auto-alpha --backend cpu --config FILE ...]
            --out DIR: a new run folder (one holding a run is refused: continue that with --resume)
            or continue one: --resume DIR [--steps N]
            --threads N: CPU threads per run (default: the cores, up to 4; 1 for runs side by side)
            --eval-every N [--eval-episodes K]: evaluate every N steps into evaluations.jsonl
            --tensorboard: a TensorBoard event file in the run folder (tensorboard --logdir runs)
            --env-module FILE: environments of your own from an ES module (docs/envs.md; also eval, export, sweep)
            --estimator-module FILE [--estimator NAME]: an actor-gradient estimator of your own in place of the
            agent's, which still picks the policy (docs/estimators.md; also sweep)
  reproduce run a paper experiment into a folder (results.json, CSV tables, SVG figures, findings.md):
            <experiment> [--scale quick|paper] [--seeds N] [--jobs N] [--out DIR] [--backend cpu|webgpu]
            --list: the experiments; an interrupted --out continues, a finished one is refused
            --sweep (fig6-classic, fig8-estimators): the paper's hyperparameter sweep first
  sweep     the paper's hyperparameter selection for one env and agent: --env ID --agent NAME
            --grid KEY=V1,V2,... [--grid ...] [--seeds N] [--steps N] [--jobs N] [--rerun-seeds M] [--out DIR]
            (e.g. --grid alpha=0.001,0.01 --grid critic-lr=1e-3,1e-4 --grid actor-lr-ratio=0.1,1)
  eval      evaluate a checkpoint: --checkpoint DIR [--episodes N] [--seed N] [--threads N]
  plot      learning curves of runs, mean and 95% interval over seeds: RUN... [--out DIR] [--metric return|eval]
            [--group-by KEY,...] (a RUN may be a folder of runs, e.g. a sweep's; one SVG per env, summary.csv)
  export    a run's weights for NumPy, PyTorch or JAX: <checkpoint file or run folder> --format npz|safetensors
            [--out FILE] [--what actor|critics|all] (mixrl export --help: what the arrays are)
  envs      list the environments [--env-module FILE: with those FILE defines]
  agents    list the agents
  demo      show the autodiff engine: a gradient, its IR, gradient descent
  help      this text; mixrl <command> --help lists every flag of train, eval, export, plot, reproduce and sweep`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  const noArgs = (run: () => number | Promise<number>) =>
    rest.length > 0 ? usageError(`mixrl ${command}: unexpected argument '${rest[0]}'`) : run();
  switch (command) {
    case 'train':
    case 'eval': {
      // Checked now: the CPU backend reads it at the first product big enough to share, which a small run never runs.
      threadsFromEnv(process.env.MIXRL_THREADS, availableParallelism());
      const outcome = command === 'train' ? await trainCommand(rest) : await evalCommand(rest);
      if (isLeft(outcome)) {
        console.error(`mixrl ${command}: ${outcome.left.message}`);
        return 2;
      }
      return outcome.right;
    }
    case 'export':
    case 'plot':
    case 'reproduce':
    case 'sweep': {
      const outcome = await { export: exportCommand, plot: plotCommand, reproduce: reproduceCommand, sweep: sweepCommand }[command](rest);
      if (isLeft(outcome)) {
        console.error(`mixrl ${command}: ${outcome.left.message}`);
        return 2;
      }
      return outcome.right;
    }
    case 'agents':
      return noArgs(() => {
        agentsCommand();
        return 0;
      });
    case 'demo':
      return noArgs(async () => {
        await runDemo();
        return 0;
      });
    case 'envs': {
      const outcome = await envsCommand(rest);
      if (isLeft(outcome)) {
        console.error(`mixrl envs: ${outcome.left.message}`);
        return 2;
      }
      return outcome.right;
    }
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      return usageError(`mixrl: unknown command '${command}'`);
  }
}

function usageError(message: string): number {
  console.error(`${message}\n\n${USAGE}`);
  return 2;
}

// A reader that stops early (`mixrl train ... | head`) ends the command as SIGPIPE ends other Unix
// tools, with status 141 (Node ignores that signal and throws EPIPE at the next write instead). A
// command that stops gracefully on SIGTERM (train, reproduce, sweep: they save a checkpoint, stop
// their children and release their locks) is sent one; any other ends at once. Every file is written
// atomically, so nothing is left half written either way.
let pipeClosed = false;
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    if (pipeClosed) return;
    pipeClosed = true;
    if (process.listenerCount('SIGTERM') === 0) process.exit(128 + 13);
    process.emit('SIGTERM', 'SIGTERM');
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = pipeClosed ? 128 + 13 : code;
  },
  (error: unknown) => {
    if (error instanceof MixrlError) {
      console.error(`mixrl: ${error.message}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  },
);
