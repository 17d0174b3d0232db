/**
 * `WebGPUBackendOptions.validation`: an explicit option, else `MIXRL_WEBGPU_VALIDATION`, else off
 * (the test config sets the variable to `on`, so the suites' backends validate). Off, Dawn's
 * options gain the `skip_validation` toggle (merged into a given `enable-dawn-features` list), Dawn
 * then lets through a command its validation rejects (a copy of 3 bytes: harmless to the driver,
 * rejected only by WebGPU's 4-byte rule), and a jitted SAC update gives the bits it gives with
 * validation on.
 */
import { expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { ReplayBuffer } from '../../src/rl/replay';
import { initSac, makeSacUpdate } from '../../src/rl/sac/update';
import { rawFoldIn, rawKey } from '../../src/tensor/threefry';
import { createWebGPUBackend, type WebGPUBackend } from '../../src/tensor/webgpu';
import { dawnOptionsOf, validationOf } from '../../src/tensor/webgpu/device';
import { smallSac } from '../sac-fixtures';
import { describeWebGPU, webgpu } from './gpu';

it('validationOf: the option, else MIXRL_WEBGPU_VALIDATION (on or off), else off; anything else names the variable', () => {
  const env = (value: string) => ({ MIXRL_WEBGPU_VALIDATION: value });
  expect(validationOf(undefined, {})).toBe(false);
  expect(validationOf(undefined, env('on'))).toBe(true);
  expect(validationOf(undefined, env('off'))).toBe(false);
  expect(validationOf(true, env('off'))).toBe(true);
  expect(validationOf(false, env('on'))).toBe(false);
  expect(() => validationOf(undefined, env('yes'))).toThrow(/MIXRL_WEBGPU_VALIDATION is 'yes'; set it to on or off/);
  expect(validationOf(undefined)).toBe(true); // the test config's 'on'
});

it("dawnOptionsOf adds skip_validation to Dawn's features only with validation off", () => {
  expect(dawnOptionsOf({ validation: true })).toEqual([]);
  expect(dawnOptionsOf({ dawnOptions: ['adapter=x'], validation: true })).toEqual(['adapter=x']);
  expect(dawnOptionsOf({ dawnOptions: ['adapter=x'], validation: false })).toEqual(['adapter=x', 'enable-dawn-features=skip_validation']);
  expect(dawnOptionsOf({ dawnOptions: ['enable-dawn-features=disable_robustness', 'adapter=x'], validation: false })).toEqual([
    'enable-dawn-features=disable_robustness,skip_validation',
    'adapter=x',
  ]);
});

/** The message of the validation error a 3-byte buffer copy raises on `gpu`'s device, or undefined. */
async function oddCopyError(gpu: WebGPUBackend): Promise<string | undefined> {
  const device = gpu.device;
  const [source, target] = [device.createBuffer({ size: 16, usage: 0x4 }), device.createBuffer({ size: 16, usage: 0x8 })];
  device.pushErrorScope('validation');
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(source, 0, target, 0, 3);
  device.queue.submit([encoder.finish()]);
  const error = await device.popErrorScope();
  source.destroy();
  target.destroy();
  return error?.message;
}

/** Four jitted SAC updates (sgm-mrp, small) on `backend`; every leaf of the final state and metrics. */
async function sacValues(backend: WebGPUBackend): Promise<number[][]> {
  const h = smallSac({ obsDim: 3, head: { actionDim: 1, kind: 'mixture', components: 3, low: -1, high: 1 }, estimator: 'mrp', hidden: [16, 16], lr: 3e-3 });
  const key = M.tensor(rawKey(4), { backend });
  const replay = new ReplayBuffer({ capacity: 64, obsDim: 3, actionDim: 1 });
  for (let i = 0; i < 64; i++) replay.add({ obs: [Math.sin(i), Math.cos(i), i / 64], action: [Math.sin(3 * i)], reward: [Math.cos(i)], nextObs: [Math.sin(i + 1), Math.cos(i + 1), (i + 1) / 64], terminated: [0] });
  const update = makeSacUpdate(h, { donate: true });
  let state = initSac(h, key);
  let metrics: unknown;
  for (let i = 0; i < 4; i++) [state, metrics] = update(state, replay.sample(rawFoldIn(rawKey(1), i), 16, { backend }), M.random.foldIn(key, i));
  return Promise.all(M.treeLeaves([state, metrics]).map(async (x: Tensor) => Array.from(await x.data())));
}

describeWebGPU('WebGPU without validation', () => {
  it('lets through what validation rejects, and a jitted SAC update gives the same bits', async () => {
    const unchecked = await createWebGPUBackend({ validation: false });
    expect(unchecked.validation).toBe(false);
    expect(webgpu().validation).toBe(true);
    // Without the option, a backend follows the variable (the test config's 'on').
    expect((await createWebGPUBackend()).validation).toBe(true);
    expect(await oddCopyError(webgpu())).toMatch(/multiple of 4/);
    expect(await oddCopyError(unchecked)).toBeUndefined();
    expect(await sacValues(unchecked)).toEqual(await sacValues(webgpu()));
  });
});
