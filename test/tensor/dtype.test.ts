/** dtype promotion, weak typing of JS numbers, bool handling, integer division, toArray/toString. */
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import { makeTensor, valuesOf } from './helpers';

const of = (dtype: T.DType) => makeTensor([1, 2], [2], dtype);

describe('promotion between tensors', () => {
  it('follows the bool < int < float32 < float64 lattice', () => {
    const table: [T.DType, T.DType, T.DType][] = [
      ['int32', 'float32', 'float32'],
      ['uint32', 'float32', 'float32'],
      ['int32', 'float64', 'float64'],
      ['float32', 'float64', 'float64'],
      ['bool', 'int32', 'int32'],
      ['bool', 'uint32', 'uint32'],
      ['bool', 'float32', 'float32'],
      ['int32', 'int32', 'int32'],
    ];
    for (const [a, b, out] of table) {
      expect(T.promoteTypes(a, b)).toBe(out);
      expect(T.promoteTypes(b, a)).toBe(out);
      expect(T.add(of(a), of(b)).dtype, `${a}+${b}`).toBe(out);
      expect(T.add(of(b), of(a)).dtype, `${b}+${a}`).toBe(out);
    }
    expect(valuesOf(T.add(of('int32'), makeTensor([0.5, 0.25], [2], 'float32')))).toEqual([1.5, 2.25]);
  });

  it('int32 with uint32 throws DTypeError naming the op', () => {
    expect(() => T.add(of('int32'), of('uint32'))).toThrow(T.DTypeError);
    expect(() => T.mul(of('uint32'), of('int32'))).toThrow('mul: cannot mix int32 and uint32 operands; cast one explicitly');
    expect(() => T.promoteTypes('int32', 'uint32')).toThrow(T.DTypeError);
  });
});

describe('weak typing of JS numbers', () => {
  it('a number takes the tensor dtype; a non-integer number makes an integer tensor float32', () => {
    expect(T.add(of('float64'), 0.1).dtype).toBe('float64');
    expect(T.add(of('float64'), 0.1).dataSync()[0]).toBe(1.1);
    expect(T.add(of('float32'), 0.1).dtype).toBe('float32');
    expect(T.add(of('float32'), 0.1).dataSync()[0]).toBe(Math.fround(1 + Math.fround(0.1)));
    expect(T.add(of('int32'), 2).dtype).toBe('int32');
    expect(T.add(of('uint32'), 2).dtype).toBe('uint32');
    expect(T.add(of('int32'), 2.5).dtype).toBe('float32');
    expect(valuesOf(T.add(of('int32'), 2.5))).toEqual([3.5, 4.5]);
    expect(T.add(2, of('int32')).dtype).toBe('int32');
    expect(T.sub(10, of('int32')).toArraySync()).toEqual([9, 8]);
    expect(T.add(1, 2).dtype).toBe('float32');
  });

  it('nested arrays next to a tensor keep their values (no silent truncation)', () => {
    expect(T.add(of('float64'), [0.5, 0.25]).dtype).toBe('float64');
    expect(T.add(of('int32'), [10, 20]).dtype).toBe('int32');
    // Fractional values next to an integer tensor promote to float32 rather than being truncated.
    const out = T.add(of('int32'), [0.5, 0.25]);
    expect(out.dtype).toBe('float32');
    expect(valuesOf(out)).toEqual([1.5, 2.25]);
  });

  it('an integer number outside the integer tensor dtype throws instead of wrapping (as JAX)', () => {
    // uint32 bits < -1 must not silently become bits < 4294967295.
    expect(() => T.less(of('uint32'), -1)).toThrow(T.DTypeError);
    expect(() => T.less(of('uint32'), -1)).toThrow('lt: the number -1 does not fit in uint32; make it a tensor of a wider dtype or cast');
    expect(() => T.add(of('int32'), 2 ** 31)).toThrow('add: the number 2147483648 does not fit in int32; make it a tensor of a wider dtype or cast');
    expect(() => T.add(2 ** 40, of('int32'))).toThrow(T.DTypeError);
    expect(valuesOf(T.add(of('int32'), -(2 ** 31)))).toEqual([-2147483647, -2147483646]);
    expect(valuesOf(T.sub(of('uint32'), 1))).toEqual([0, 1]);
    expect(valuesOf(T.equal(of('uint32'), 2 ** 32 - 1))).toEqual([0, 0]);
  });

  it('bool tensors meet numbers as int32 (integers) or float32 (fractions)', () => {
    const b = T.tensor([true, false]);
    expect(T.add(b, 1).dtype).toBe('int32');
    expect(valuesOf(T.add(b, 1))).toEqual([2, 1]);
    expect(T.mul(b, 2.5).dtype).toBe('float32');
    expect(valuesOf(T.mul(b, 2.5))).toEqual([2.5, 0]);
  });
});

describe('bool handling', () => {
  it('tensor() of booleans is bool; comparisons give bool; toArray gives booleans', () => {
    const b = T.tensor([[true, false]]);
    expect(b.dtype).toBe('bool');
    expect(b.toArraySync()).toEqual([[true, false]]);
    const c = T.less(makeTensor([1, 2, 3], [3]), 2);
    expect(c.dtype).toBe('bool');
    expect(c.toArraySync()).toEqual([true, false, false]);
    expect(T.equal(b, T.tensor([[true, true]])).toArraySync()).toEqual([[true, false]]);
  });

  it('booleans mixed with numbers make a float32 tensor of 1s and 0s, in any order (as NumPy)', () => {
    for (const values of [[true, 2], [2, true], [[true], [3]], [[0.5], [false]]] as const) {
      const t = T.tensor(values as unknown as T.NestedArray);
      expect(t.dtype, JSON.stringify(values)).toBe('float32');
      expect(Array.from(t.dataSync()), JSON.stringify(values)).toEqual(values.flat(2).map(Number));
    }
    expect(T.tensor([[true], [false]]).dtype).toBe('bool');
  });

  it('bool tensors made from numbers hold 0/1, however they are created', () => {
    const made = [
      T.tensor([0, 2, -1, NaN], { dtype: 'bool' }),
      T.tensor(new Float64Array([0, 2, -1, NaN]), { dtype: 'bool' }),
      T.tensor(new Uint8Array([0, 2, 255, 7])),
      T.cast(makeTensor([0, 2, -1, NaN], [4]), 'bool'),
    ];
    for (const b of made) {
      expect(b.dtype).toBe('bool');
      expect(valuesOf(b)).toEqual([0, 1, 1, 1]);
      expect(T.equal(b, T.tensor([false, true, true, true])).toArraySync()).toEqual([true, true, true, true]);
      expect(T.sum(b).itemSync()).toBe(3);
    }
    expect(valuesOf(T.full([2], 5, { dtype: 'bool' }))).toEqual([1, 1]);
    // Stored as tensor() stores them, not as a typed array's fill would (256, 0.5, NaN, Infinity -> 0).
    expect(valuesOf(T.full([4], NaN, { dtype: 'bool' }))).toEqual([1, 1, 1, 1]);
    for (const v of [256, 0.5, Infinity]) expect(valuesOf(T.fullLike(T.zeros([1], { dtype: 'bool' }), v))).toEqual([1]);
    expect(valuesOf(T.tensor([true, 2] as T.NestedArray, { dtype: 'bool' }))).toEqual([1, 1]);
  });

  it('arithmetic on two bool tensors is rejected; max/min of bools work', () => {
    const b = T.tensor([true, false]);
    expect(() => T.add(b, b)).toThrow(T.DTypeError);
    expect(() => T.add(b, b)).toThrow('add: operands must be a numeric (non-bool) tensor, got bool[2]');
    expect(T.max(b).toArraySync()).toBe(true);
    expect(T.min(b).toArraySync()).toBe(false);
    expect(T.logicalNot(makeTensor([0, 2], [2])).toArraySync()).toEqual([true, false]);
  });
});

describe('integer division', () => {
  it('truncates toward zero for int32 and uint32; floats divide exactly', () => {
    const a = makeTensor([7, -7, 7, -7, 0, 1], [6], 'int32');
    const b = makeTensor([2, 2, -2, -2, 5, 3], [6], 'int32');
    const q = T.div(a, b);
    expect(q.dtype).toBe('int32');
    expect(valuesOf(q)).toEqual([3, -3, -3, 3, 0, 0]);
    expect(valuesOf(T.div(makeTensor([4294967295, 10], [2], 'uint32'), makeTensor([2, 3], [2], 'uint32')))).toEqual([2147483647, 3]);
    expect(valuesOf(T.div(makeTensor([7, -7], [2], 'float64'), 2))).toEqual([3.5, -3.5]);
    // a fractional divisor makes it float
    expect(valuesOf(T.div(makeTensor([7], [1], 'int32'), 2.0))).toEqual([3]);
    expect(valuesOf(T.div(makeTensor([7], [1], 'int32'), 0.5))).toEqual([14]);
  });
});

describe('toArray and toString', () => {
  it('toArray nests by shape; scalars are numbers', async () => {
    const t = makeTensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expect(t.toArraySync()).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await t.toArray()).toEqual(t.toArraySync());
    expect(T.reshape(t, [3, 1, 2]).toArraySync()).toEqual([[[1, 2]], [[3, 4]], [[5, 6]]]);
    expect(T.tensor(3.5, { dtype: 'float64' }).toArraySync()).toBe(3.5);
    expect(T.zeros([2, 0]).toArraySync()).toEqual([[], []]);
    expect(await T.sum(t).item()).toBe(21);
    expect(() => t.itemSync()).toThrow('item: tensor i32[2,3] has 6 elements, not 1');
  });

  it('toString shows dtype, shape, backend and values in NumPy style', () => {
    expect(String(makeTensor([1, 2, 3, 4], [2, 2], 'float32'))).toBe('Tensor f32[2,2] (cpu)\n[[1., 2.],\n [3., 4.]]');
    expect(String(makeTensor([1, -2], [2], 'int32'))).toBe('Tensor i32[2] (cpu)\n[1, -2]');
    expect(String(T.tensor([true, false]))).toBe('Tensor bool[2] (cpu)\n[true, false]');
    expect(String(T.tensor(0.1))).toBe('Tensor f32[] (cpu)\n0.1');
    expect(String(T.tensor(0.1, { dtype: 'float64' }))).toBe('Tensor f64[] (cpu)\n0.1');
    expect(String(T.tensor(1 / 3, { dtype: 'float64' }))).toBe('Tensor f64[] (cpu)\n0.3333333333');
    expect(String(T.arange(10))).toBe('Tensor i32[10] (cpu)\n[0, 1, 2, ..., 7, 8, 9]');
    expect(String(T.reshape(T.arange(8), [2, 2, 2]))).toBe('Tensor i32[2,2,2] (cpu)\n[[[0, 1],\n  [2, 3]],\n [[4, 5],\n  [6, 7]]]');
    // NumPy keeps the sign of zero and switches to exponent notation for large magnitudes instead of
    // printing digits a float32 does not hold.
    expect(String(makeTensor([-0, 1e20, -2.5e-8, NaN, -Infinity], [5], 'float32'))).toBe('Tensor f32[5] (cpu)\n[-0., 1e+20, -2.5e-8, NaN, -Infinity]');
    expect(String(makeTensor([123456789.123, 1.5e300], [2], 'float64'))).toBe('Tensor f64[2] (cpu)\n[123456789.1, 1.5e+300]');
    const d = makeTensor([1], [1]);
    d.dispose();
    expect(String(d)).toBe('Tensor f64[1] (cpu) <disposed>');
    expect(() => d.dataSync()).toThrow(T.BackendError);
  });
});

describe('method forms and helpers', () => {
  it('methods chain like the functions', () => {
    const x = makeTensor([1, -2, 3, -4], [2, 2]);
    expect(x.add(1).mul(2).sum().itemSync()).toBe(4);
    expect(x.abs().max(1).toArraySync()).toEqual([2, 4]);
    expect(x.relu().mean(0, true).toArraySync()).toEqual([[2, 0]]);
    expect(x.transpose().reshape([4]).toArraySync()).toEqual([1, 3, -2, -4]);
    expect(x.greater(0).cast('int32').sum().itemSync()).toBe(2);
    expect(x.clip(-1, 1).toArraySync()).toEqual([[1, -1], [1, -1]]);
    expect(x.argmax(1).toArraySync()).toEqual([0, 0]);
    expect(x.expandDims(0).squeeze().shape).toEqual([2, 2]);
  });

  it('every unary primitive has a method form, and each method computes its function', () => {
    const x = makeTensor([0.5, -0.25, 0.75, 2], [2, 2]);
    const y = makeTensor([1.5, 0.5, -2, 0.25], [2, 2]);
    const methods = x as unknown as Record<string, (...args: unknown[]) => T.Tensor>;
    const ops = T as unknown as Record<string, (...args: unknown[]) => T.Tensor>;
    // The unary primitives share their op's name; the other forms are ops built from primitives.
    const unary = [...T.UNARY_OPS, 'square', 'relu', 'logSigmoid', 'stopGradient', 'silu', 'gelu', 'leakyRelu', 'elu', 'std', 'norm'];
    for (const name of unary) {
      expect(typeof methods[name], name).toBe('function');
      expect(valuesOf(methods[name].call(x)), name).toEqual(valuesOf(ops[name](x)));
    }
    const binary = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual', 'logicalAnd', 'logicalOr', 'matmul'];
    expect(binary.length).toBe(T.BINARY_OPS.length + 1);
    for (const name of [...binary, 'logaddexp']) expect(valuesOf(methods[name].call(x, y)), name).toEqual(valuesOf(ops[name](x, y)));
    // Methods with options pass them on.
    expect(valuesOf(x.gelu('tanh'))).toEqual(valuesOf(T.gelu(x, 'tanh')));
    expect(valuesOf(x.leakyRelu(0.5))).toEqual(valuesOf(T.leakyRelu(x, 0.5)));
    expect(valuesOf(x.elu(2))).toEqual(valuesOf(T.elu(x, 2)));
    expect(valuesOf(x.std(1, true, 1))).toEqual(valuesOf(T.std(x, 1, true, 1)));
    expect(valuesOf(x.norm(1, 0, true))).toEqual(valuesOf(T.norm(x, 1, 0, true)));
    // Not the same op by accident: sin and cos differ here.
    expect(valuesOf(x.sin())).not.toEqual(valuesOf(x.cos()));
  });

  it('variance with ddof against a two-pass reference', () => {
    const v = [1, 2, 3, 4, 10];
    const m = v.reduce((a, b) => a + b) / v.length;
    const ss = v.reduce((a, b) => a + (b - m) ** 2, 0);
    const t = makeTensor(v, [5]);
    expect(T.variance(t).itemSync()).toBeCloseTo(ss / 5, 12);
    expect(T.variance(t, 0, false, 1).itemSync()).toBeCloseTo(ss / 4, 12);
    expect(T.variance(makeTensor([1, 2, 3, 5], [2, 2]), 1, true).toArraySync()).toEqual([[0.25], [1]]);
  });

  it('zerosLike/onesLike/fullLike keep shape and dtype; toBackend copies', async () => {
    const x = makeTensor([1, 2], [2], 'int32');
    expect(T.zerosLike(x).dtype).toBe('int32');
    expect(T.onesLike(x).toArraySync()).toEqual([1, 1]);
    expect(T.fullLike(x, 7, { dtype: 'float64' }).dtype).toBe('float64');
    const y = await T.toBackend(x, T.cpu);
    expect(y).not.toBe(x);
    expect(y.toArraySync()).toEqual([1, 2]);
  });
});

describe('creation', () => {
  it('tensor, full, arange, linspace, eye', () => {
    expect(T.tensor([[1, 2]]).dtype).toBe('float32');
    expect(T.tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] }).shape).toEqual([2, 2]);
    expect(T.tensor([1.7, 2], { dtype: 'int32' }).toArraySync()).toEqual([1, 2]);
    expect(T.full([2], 7).toArraySync()).toEqual([7, 7]);
    expect(T.full([1], true).dtype).toBe('bool');
    expect(T.arange(4).dtype).toBe('int32');
    expect(valuesOf(T.arange(0, 1, 0.25))).toEqual([0, 0.25, 0.5, 0.75]);
    expect(valuesOf(T.arange(5, 0, -2))).toEqual([5, 3, 1]);
    expect(valuesOf(T.linspace(0, 1, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    // Integer linspace floors, as NumPy 1.24 (np.linspace(-1, 1, 5, dtype=np.int32): [-1, -1, 0, 0, 1]) and JAX.
    expect(valuesOf(T.linspace(-1, 1, 5, { dtype: 'int32' }))).toEqual([-1, -1, 0, 0, 1]);
    expect(valuesOf(T.linspace(0, 3, 4, { dtype: 'bool' }))).toEqual([0, 1, 1, 1]);
    expect(T.eye(2, 3, 1).toArraySync()).toEqual([
      [0, 1, 0],
      [0, 0, 1],
    ]);
  });
});

describe('typed arrays into tensors', () => {
  it('are copied by default, and held as they are with copy: false (CPU, same dtype)', () => {
    const values = new Float32Array([1, 2, 3, 4]);
    const copied = T.tensor(values, { shape: [2, 2] });
    const held = T.tensor(values, { shape: [2, 2], copy: false });
    values[0] = 9;
    expect(Array.from(copied.dataSync())).toEqual([1, 2, 3, 4]);
    expect(Array.from(held.dataSync())).toEqual([9, 2, 3, 4]);
    // Another dtype converts (a new array) whatever `copy` says; bytes taken as bool are normalized.
    const converted = T.tensor(values, { shape: [4], dtype: 'float64', copy: false });
    values[1] = 7;
    expect(Array.from(converted.dataSync())).toEqual([9, 2, 3, 4]);
    expect(Array.from(T.tensor(new Uint8Array([0, 2, 1]), { dtype: 'bool', copy: false }).dataSync())).toEqual([0, 1, 1]);
    expect(() => T.tensor(values, { shape: [3], copy: false })).toThrow(/4 values do not fill shape \[3\]/);
  });
});
