/**
 * Python as a peer the tests run: the system's /usr/bin/python3 (NumPy, PyTorch), checking files
 * mixrl writes. Suites that need it are skipped, with one loud line, where it or a module is missing,
 * and fail instead under MIXRL_REQUIRE_PYTHON=1 (as MIXRL_REQUIRE_WEBGPU=1 does for WebGPU); the
 * fixtures (made by the scripts in the fixtures folders) cover the other direction without it.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/**
 * Whether PYTHON runs and imports every module; when not, says so loudly, or throws under
 * MIXRL_REQUIRE_PYTHON=1.
 *
 * @example
 * describe.skipIf(!pythonWith('numpy'))('NumPy reads our files', () => { ... });
 */
export function pythonWith(...modules: string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8', timeout: 60_000 });
  if (r.status === 0) return true;
  const reason = `${PYTHON} cannot import ${modules.join(', ')}: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}`;
  if (process.env.MIXRL_REQUIRE_PYTHON === '1') throw new Error(`MIXRL_REQUIRE_PYTHON=1 but ${reason}`);
  console.warn(`*** Python peer tests SKIPPED (${reason}); MIXRL_REQUIRE_PYTHON=1 makes this a failure ***`);
  return false;
}

/**
 * Runs `script` with `args` (`sys.argv[1:]`) and parses what it prints as JSON; a failure throws with
 * Python's stderr.
 *
 * @example
 * runPython('import sys, json; print(json.dumps(sys.argv[1:]))', ['a']); // ['a']
 */
export function runPython(script: string, args: readonly string[] = []): unknown {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${PYTHON} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return JSON.parse(r.stdout);
}
