/**
 * A reader that stops early (`mixrl ... | head -1`) ends the command quietly with SIGPIPE's status
 * (141), as it ends other Unix tools, not with Node's stack trace for the EPIPE it throws instead.
 */
import { spawn } from 'node:child_process';
import { beforeAll, expect, it } from 'vitest';
import { bundleCli } from './harness';

let cli = '';
let work = '';

beforeAll(() => {
  ({ cli, work } = bundleCli('mixrl-closed-pipe-'));
});

it('ends with status 141 and nothing on stderr when stdout is closed after its first line', async () => {
  // reproduce at quick scale writes a line per run for seconds: most lines come after the close.
  const child = spawn(process.execPath, [cli, 'reproduce', 'fig2-bandits', '--out', 'closed-pipe'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(stderr).toBe('');
  expect(code).toBe(141);
}, 60_000);
