/**
 * The published declarations, as a TypeScript user's project compiles them: the bundle tsup builds
 * (its real config, into a temporary folder) installed as `mixrl`, and a user's file that calls the
 * op methods, `grad`, `jit` and names the WebGPU backend's types, checked with `strict` and
 * `nodenext`; and the README's TypeScript examples, each as a module against the same declarations
 * (an example that stopped compiling, as `x.sin()` and an unannotated `grad((p) => ...)` had, fails
 * here). (It names no WebGPU function: scripts/device/run.sh picks the suites to run on a GPU
 * by those names, and this one needs TypeScript, which the device kit leaves out.) The op
 * methods were once declared by a `declare module './tensor'` augmentation that bundling turned into
 * a module no one could find, so `x.sin()` did not type-check for users while it did here.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build, type Options } from 'tsup';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import configs from '../tsup.config';

const root = path.resolve(__dirname, '..');
let project = '';

const USER_FILE = `
import { grad, jit, sin, tensor, type Tensor, valueAndGrad, type WebGPUBackend } from 'mixrl';
const f = (x: Tensor) => x.sin().mul(x.exp()).sum();
const g: Tensor = grad(f)(tensor([0, 1]));
const h = jit((x: Tensor) => x.square().mean().add(x.log1p().sum()));
const values: number = h(tensor([1, 2])).itemSync() + sin(g).sum().itemSync();
// A gradient has its argument's type (as in JAX, its structure), not any.
const params = { w: tensor([1, 2]), b: tensor([0]) };
const gw: Tensor = grad((p: typeof params) => p.w.sum().add(p.b.sum()))(params).w;
// @ts-expect-error: a gradient of a tensor is a tensor, not a number
const notANumber: number = grad(f)(tensor([0, 1]));
const [[loss, aux], gx] = valueAndGrad((x: Tensor) => [x.sum(), 'aux'] as const, { hasAux: true })(tensor([1]));
const typed: [Tensor, 'aux', Tensor] = [loss, aux, gx];
const [ga, gb] = grad((a: Tensor, b: { v: Tensor }) => a.sum().add(b.v.sum()), { argnums: [0, 1] })(tensor([1]), { v: tensor([2]) });
const several: [Tensor, Tensor] = [ga, gb.v];
export { gw, notANumber, typed, several };
declare const gpu: WebGPUBackend;
const device: GPUDevice = gpu.device; // a type from @webgpu/types
const buffers: number = gpu.poolStats().buffers;
export { values, buffers, device };
// A replay buffer's arrays are a checkpoint's (rl.md's and saveCheckpoint's example; an interface
// with no index signature was not assignable to the record).
import type { Checkpoint, ReplayBuffer } from 'mixrl';
declare const buffer: ReplayBuffer;
const checkpoint: Checkpoint = { metadata: { replay: buffer.state().meta }, trees: {}, arrays: buffer.state().arrays };
export { checkpoint };
`;

beforeAll(async () => {
  project = mkdtempSync(path.join(tmpdir(), 'mixrl-types-'));
  const pkg = path.join(project, 'node_modules', 'mixrl');
  mkdirSync(pkg, { recursive: true });
  const library = (Array.isArray(configs) ? configs[0] : configs) as Options;
  await build({ ...library, outDir: path.join(pkg, 'dist'), dts: { ...(library.dts as object), only: true }, clean: false, silent: true, sourcemap: false });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'mixrl', type: 'module', types: './dist/index.d.ts', exports: { '.': { types: './dist/index.d.ts' } } }));
  // The packages the declarations name, as npm would install them beside mixrl.
  for (const dep of ['fp-ts', '@webgpu', '@types']) symlinkSync(path.join(root, 'node_modules', dep), path.join(project, 'node_modules', dep), 'dir');
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user', type: 'module' }));
  writeFileSync(path.join(project, 'user.ts'), USER_FILE);
}, 120_000);

/** The values the README's examples take as given (its snippets elide where they come from). */
const README_GIVENS = `import type { experiments, Tensor } from 'mixrl';
declare global {
  const w: Tensor, xs: Tensor, ys: Tensor, x: Tensor, v: Tensor, B: number, key: Tensor;
  const params: { logits: Tensor; mu: Tensor; logStd: Tensor };
  const config: experiments.TrainConfig;
}
export {};
`;

/** The errors TypeScript reports for the user's file (or `files`) under `options`. */
function diagnostics(options: ts.CompilerOptions, files = [path.join(project, 'user.ts')]): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: ['node'],
    ...options,
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('published declarations', () => {
  it('type-check a user file with skipLibCheck (the usual setting)', () => {
    expect(diagnostics({ lib: ['lib.es2022.d.ts'], skipLibCheck: true })).toEqual([]);
  });

  it('type-check it without skipLibCheck where the DOM library is on (@webgpu/types needs it)', () => {
    expect(diagnostics({ lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'] })).toEqual([]);
  });

  it("type-check the README's TypeScript examples", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    writeFileSync(path.join(project, 'givens.ts'), README_GIVENS);
    const files = blocks.map((block, i) => {
      const file = path.join(project, `readme-${i}.ts`);
      writeFileSync(file, `${block}\nexport {};\n`);
      return file;
    });
    expect(diagnostics({ lib: ['lib.es2022.d.ts'], skipLibCheck: true }, [path.join(project, 'givens.ts'), ...files])).toEqual([]);
  });
});
