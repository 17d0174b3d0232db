/** Misuse of the transformations gives errors that name the argument and the path. */
import { describe, expect, it } from 'vitest';
import * as M from '../../src';
import type { Tensor } from '../../src';
import { BACKENDS } from './helpers';

for (const backend of BACKENDS) {
  const v = (xs: number[]) => M.tensor(Float64Array.from(xs), { backend });
  const s = (x: number) => M.tensor(new Float64Array([x]), { shape: [], backend });

  describe(`transformation errors (${backend.name})`, () => {
    it('gradient of a non-scalar (or non-float, or non-tensor) output without a cotangent', () => {
      expect(() => M.grad((x: Tensor) => M.mul(x, 2))(v([1, 2]))).toThrow(
        'grad: the function must return a float scalar (shape []), got float64[2]; use vjp with a cotangent for non-scalar outputs',
      );
      expect(() => M.grad((x: Tensor) => M.cast(M.sum(x), 'int32'))(v([1, 2]))).toThrow('got int32[]');
      expect(() => M.grad((x: Tensor) => [M.sum(x)])(v([1, 2]))).toThrow('grad: the function must return a scalar tensor, got an array');
      expect(() => M.grad((x: Tensor) => M.sum(x), { hasAux: true })(v([1]))).toThrow('grad: with hasAux the function must return [output, aux]');
      for (const e of [() => M.grad((x: Tensor) => x)(v([1, 2]))]) expect(e).toThrow(M.TransformError);
    });

    it('gradient with respect to an integer input names the argument and the path', () => {
      expect(() => M.grad((x: Tensor) => M.sum(x))(M.tensor([1, 2], { dtype: 'int32', backend }))).toThrow(
        'grad: argument 0 at (root) has dtype int32; only float inputs can be differentiated',
      );
      const params = { layers: [{ w: v([1]), b: v([1]) }, { w: v([1]), b: M.tensor([1], { dtype: 'int32', backend }) }] };
      expect(() => M.grad((_x: Tensor, p: typeof params) => M.sum(p.layers[0].w), { argnums: 1 })(s(1), params)).toThrow(
        'grad: argument 1 at .layers[1].b has dtype int32',
      );
      expect(() => M.grad((p: { w: Tensor; n: number }) => M.sum(p.w))({ w: v([1]), n: 3 })).toThrow(
        'grad: argument 0 at .n is number, not a tensor; wrap it with tensor() or move it to a non-differentiated argument',
      );
      expect(() => M.jvp((x: Tensor) => x, [M.tensor([1], { dtype: 'int32', backend })], [M.tensor([1], { dtype: 'int32', backend })])).toThrow(
        'jvp: argument 0 at (root) has dtype int32',
      );
    });

    it('argnums out of range', () => {
      const f = (x: Tensor, y: Tensor) => M.sum(M.mul(x, y));
      expect(() => M.grad(f, { argnums: 2 })(s(1), s(2))).toThrow('grad: argnums 2 is out of range for a call with 2 argument(s)');
      expect(() => M.grad(f, { argnums: [0, 5] })(s(1), s(2))).toThrow('grad: argnums 5 is out of range');
      expect(() => M.valueAndGrad(f, { argnums: -1 })(s(1), s(2))).toThrow('grad: argnums -1 is out of range');
    });

    it('a transformation needs a function and known options; jvp needs arrays of primals and tangents', () => {
      const f = (x: Tensor) => M.sum(x);
      expect(() => M.grad(5 as never)).toThrow('grad: expected a function to transform, got number');
      expect(() => M.grad(f, { argnum: 1 } as never)).toThrow("grad: unknown option 'argnum' (known: argnums, hasAux)");
      expect(() => M.grad(f, { argnums: 0.5 })(s(1))).toThrow('grad: argnums must be integers, got 0.5');
      expect(() => M.vmap(f, { in_axes: 0 } as never)).toThrow("vmap: unknown option 'in_axes' (known: inAxes, outAxes, axisSize)");
      expect(() => M.jit(f, { static_argnums: 1 } as never)).toThrow("jit: unknown option 'static_argnums' (known: staticArgnums, donateArgnums, name, cacheSize)");
      expect(() => M.jit(null as never)).toThrow('jit: expected a function to transform, got null');
      // An output that is not a tensor is named by its path, not its flattened index.
      expect(() => M.jit((x: Tensor) => ({ loss: M.sum(x), step: 3 }), { name: 'step' })(s(1))).toThrow(/^jit\(step\): output \.step is number, not a tensor \(/);
      expect(() => M.vjp(undefined as never, s(1))).toThrow('vjp: expected a function to transform, got undefined');
      expect(() => M.jvp(f, s(1) as never, s(1) as never)).toThrow('jvp: primals and tangents must be arrays with one entry per argument, got object and object');
      expect(() => M.vmap(f, { inAxes: 0.5 })(v([1, 2]))).toThrow('vmap: inAxes 0.5 for argument 0 f64[2] is not an integer axis (or null)');
      expect(() => M.vmap(f, { inAxes: 'x' as never })(v([1, 2]))).toThrow('vmap: inAxes of argument 0 at (root) must be an axis (a number), null, or an array or object of them, got "x"');
      expect(() => M.jvp(f, [s(1)], [] as never)).toThrow('jvp: primals and tangents must be arrays with one entry per argument, got an array of 1 and an array of 0');
    });

    it('vjp cotangents whose structure or shapes differ from the output name the path', () => {
      const f = (p: { w: Tensor }) => ({ a: [p.w, M.mul(p.w, 2)], b: M.sum(p.w) });
      const [out, back] = M.vjp(f, { w: v([1, 2]) });
      expect(() => back({ a: [out.a[0]], b: out.b } as never)).toThrow('vjp: cotangent: structure differs at .a: array of 2 vs 1');
      expect(() => back({ a: out.a, c: out.b } as never)).toThrow('vjp: cotangent: structure differs at (root): keys {a, b} vs {a, c}');
      expect(() => back({ a: [out.a[0], v([1, 2, 3])], b: out.b })).toThrow(
        'vjp: cotangent at .a[1] must be a tensor float64[2], got float64[3]',
      );
      expect(() => back({ a: [out.a[0], 3 as never], b: out.b })).toThrow('vjp: cotangent at .a[1] must be a tensor float64[2], got number');
      // A cotangent of another dtype is refused, as jvp refuses such tangents (and as JAX does):
      // accepting it would hand back, e.g., a float32 gradient for a float64 input.
      expect(() => back({ a: [out.a[0], M.tensor([1, 1], { backend })], b: out.b })).toThrow(
        'vjp: cotangent at .a[1] must be a tensor float64[2], got float32[2]',
      );
      expect(() => back({ a: out.a, b: M.tensor(1, { dtype: 'int32', backend }) })).toThrow(
        'vjp: cotangent at .b must be a tensor float64[], got int32[]',
      );
      expect(() => M.jvp((p: { w: Tensor }) => p.w, [{ w: v([1, 2]) }], [{ w: v([1]) }])).toThrow(
        'jvp: tangent of argument 0 at .w must be float64[2], got float64[1]',
      );
      expect(() => M.jvp((p: { w: Tensor }) => p.w, [{ w: v([1, 2]) }], [{ v: v([1]) } as never])).toThrow(
        'jvp: tangent of argument 0: structure differs at (root): keys {w} vs {v}',
      );
    });
  });
}
