/** Comparison helpers for the jit tests: expected values always come from eager mode. */
import { expect } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';

/** Asserts two pytrees of tensors have one structure and close values (relative + absolute `tol`). */
export function expectTreesClose(actual: unknown, expected: unknown, tol: number, message = ''): void {
  const [a, defA] = M.treeFlatten(actual);
  const [e, defE] = M.treeFlatten(expected);
  expect(JSON.stringify(defA), message).toBe(JSON.stringify(defE));
  a.forEach((x, i) => {
    const [ta, te] = [x as Tensor, e[i] as Tensor];
    expect(ta.shape, message).toEqual(te.shape);
    expect(ta.dtype, message).toBe(te.dtype);
    const [va, ve] = [ta.dataSync(), te.dataSync()];
    for (let j = 0; j < ve.length; j++) {
      const [p, q] = [Number(va[j]), Number(ve[j])];
      if (Number.isNaN(q)) expect(p, `${message} leaf ${i} [${j}]`).toBeNaN();
      else expect(Math.abs(p - q), `${message} leaf ${i} [${j}]: ${p} vs ${q}`).toBeLessThanOrEqual(tol * (1 + Math.abs(q)));
    }
  });
}

/** Asserts two pytrees of tensors are identical bit for bit. */
export function expectTreesIdentical(actual: unknown, expected: unknown, message = ''): void {
  const [a] = M.treeFlatten(actual);
  const [e] = M.treeFlatten(expected);
  expect(a.map((x) => Array.from((x as Tensor).dataSync())), message).toEqual(e.map((x) => Array.from((x as Tensor).dataSync())));
}
