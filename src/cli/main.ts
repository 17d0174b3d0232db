/** The `mixrl` command. */
import { envIds, makeModel } from '../envs';
import { MixrlError } from '../tensor';
import { runDemo } from './demo';

const USAGE = `usage: mixrl <command>

commands:
  demo      show the autodiff engine: a gradient, its IR, gradient descent
  envs      list the environments
  help      this text`;

async function main(argv: string[]): Promise<number> {
  const [command = 'help', ...rest] = argv;
  if (rest.length > 0) return usageError(`mixrl ${command}: unexpected argument '${rest[0]}'`);
  switch (command) {
    case 'demo':
      await runDemo();
      return 0;
    case 'envs':
      for (const id of envIds()) {
        const model = makeModel(id);
        console.log(`${id.padEnd(26)} obs ${model.observationSpace.size}, action ${model.actionSpace.size}, steps ${model.maxEpisodeSteps}`);
      }
      return 0;
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
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
