/** Each bad input throws the named error class with a message naming the op, the shapes or the value. */
import { describe, expect, it } from 'vitest';
import * as T from '../../src/tensor';
import { expectError, makeTensor } from './helpers';

const x23 = () => T.zeros([2, 3]);

describe('shape errors', () => {
  it('binary op shape mismatch names the op and both shapes', () => {
    expectError(() => T.add(x23(), T.zeros([4])), T.ShapeError, 'add: shapes [2,3] and [4] do not broadcast (axis -1 has sizes 3 and 4)');
    expectError(() => T.mul(T.zeros([5, 1, 3]), T.zeros([2, 2, 3])), T.ShapeError, 'mul: shapes [5,1,3] and [2,2,3] do not broadcast (axis -3 has sizes 5 and 2)');
    expectError(() => T.where(T.tensor([true, false]), x23(), 0), T.ShapeError, 'where: shapes [2] and [2,3] and [] do not broadcast (axis -1 has sizes 2 and 3)');
    expect((() => {
      try {
        T.add(x23(), T.zeros([4]));
      } catch (e) {
        return (e as T.MixrlError).code;
      }
    })()).toBe('shape');
  });

  it('matmul contracting mismatch and rank-0 operands', () => {
    expectError(
      () => T.matmul(x23(), T.zeros([4, 5])),
      T.ShapeError,
      'matmul: contracting sizes differ: f32[2,3] @ f32[4,5] (axis -1 of the left has 3, axis -2 of the right has 4)',
    );
    expectError(() => T.matmul(T.zeros([3]), T.zeros([4])), T.ShapeError, /^matmul: contracting sizes differ: f32\[1,3\] @ f32\[4,1\]/);
    expectError(() => T.matmul(T.zeros([2, 2, 3]), T.zeros([3, 3, 1])), T.ShapeError, /^matmul: shapes \[2\] and \[3\] do not broadcast/);
    expectError(() => T.matmul(T.tensor(1), x23()), T.ShapeError, 'matmul: operands must have rank >= 1, got [] and [2,3]');
  });

  it('reshape size mismatch', () => {
    expectError(() => T.reshape(x23(), [4]), T.ShapeError, 'reshape: cannot reshape f32[2,3] (6 elements) to [4]');
    expectError(() => T.reshape(x23(), [4, -1]), T.ShapeError, 'reshape: cannot reshape [2,3] (6 elements) to [4,-1]');
    expectError(() => T.reshape(x23(), [-1, -1]), T.ArgumentError, 'reshape: at most one size may be -1, got [-1,-1]');
  });

  it('squeeze, stack, concat, broadcastTo', () => {
    expectError(() => T.squeeze(x23(), 0), T.ShapeError, 'squeeze: axis 0 of [2,3] has size 2, not 1');
    expectError(() => T.stack([x23(), T.zeros([3, 2])]), T.ShapeError, 'stack: shapes [2,3], [3,2] differ');
    expectError(() => T.concat([x23(), T.zeros([2, 4])], 0), T.ShapeError, 'concat: shapes [2,3], [2,4] differ off the concatenation axis 0');
    expectError(() => T.broadcastTo(x23(), [3, 3]), T.ShapeError, /^broadcastTo: shapes \[2,3\] and \[3,3\] do not broadcast/);
    expectError(() => T.broadcastTo(T.zeros([3]), [1]), T.ShapeError, 'broadcastTo: cannot broadcast f32[3] to [1]');
  });
});

describe('argument errors', () => {
  it('non-integer axis', () => {
    expectError(() => T.sum(x23(), 0.5), T.ArgumentError, 'sum: axis must be an integer, got 0.5');
    expectError(() => T.softmax(x23(), 1.5), T.ArgumentError, 'softmax: axis must be an integer, got 1.5');
    expectError(() => T.argmax(x23(), NaN), T.ArgumentError, 'argmax: axis must be an integer, got NaN');
    // What a JavaScript caller passing an options object gets (TypeScript refuses it).
    const options = { axis: 0 } as unknown as number;
    expectError(() => T.sum(x23(), options), T.ArgumentError, 'sum: axes must be an integer or an array of integers, got {"axis":0}');
    expectError(() => T.argmax(x23(), options), T.ArgumentError, 'argmax: axis must be an integer, got {"axis":0}');
    expectError(() => T.max(x23(), '1' as unknown as number), T.ArgumentError, 'max: axes must be an integer or an array of integers, got "1"');
  });

  it('out-of-range axis', () => {
    expectError(() => T.sum(x23(), 2), T.ArgumentError, 'sum: axis 2 is out of range for a tensor of rank 2');
    expectError(() => T.max(x23(), [-3]), T.ArgumentError, 'max: axis -3 is out of range for a tensor of rank 2');
    expectError(() => T.concat([x23(), x23()], 2), T.ArgumentError, 'concat: axis 2 is out of range for a tensor of rank 2');
    expectError(() => T.split(x23(), 2, -3), T.ArgumentError, 'split: axis -3 is out of range for a tensor of rank 2');
    expectError(() => T.sum(x23(), [0, -2]), T.ArgumentError, 'sum: repeated axis in [0,-2]');
    expectError(() => T.transpose(x23(), [0, 0]), T.ArgumentError, 'transpose: [0,0] is not a permutation of the axes 0..1');
  });

  it('negative or NaN sizes in a shape', () => {
    expectError(() => T.zeros([2, -1]), T.ArgumentError, 'zeros: shape [2,-1] has an invalid size -1 at axis 1 (sizes must be non-negative integers)');
    expectError(() => T.ones([NaN]), T.ArgumentError, 'ones: shape [NaN] has an invalid size NaN at axis 0 (sizes must be non-negative integers)');
    expectError(() => T.full([1.5], 0), T.ArgumentError, 'full: shape [1.5] has an invalid size 1.5 at axis 0 (sizes must be non-negative integers)');
    expectError(() => T.reshape(x23(), [NaN, 2]), T.ArgumentError, 'reshape: invalid size NaN in [NaN,2]');
    expectError(() => T.random.uniform(T.random.key(0), [-2]), T.ArgumentError, /^uniform: shape \[-2\] has an invalid size -2/);
  });

  it('ragged nested arrays name the path', () => {
    expectError(() => T.tensor([[1, 2], [3, 4, 5]]), T.ArgumentError, 'tensor: ragged nested array at [1]: expected 2 entries, got 3');
    expectError(() => T.tensor([[1, 2], 3] as T.NestedArray), T.ArgumentError, 'tensor: ragged nested array at [1]: expected 2 entries, got a number');
    expectError(() => T.tensor([1, [2, 3]] as T.NestedArray), T.ArgumentError, 'tensor: ragged nested array at [1]: expected a number');
    expectError(() => T.tensor(new Float32Array(5), { shape: [2, 2] }), T.ArgumentError, 'tensor: 5 values do not fill shape [2,2]');
  });

  it('gather indices out of range name the op, the index and the axis', () => {
    const x = makeTensor([1, 2, 3], [3]);
    expectError(() => T.take(x, [3]), T.ArgumentError, 'take: index 3 is out of range [-3, 3) for axis 0 of shape [3]');
    expectError(() => T.take(x, [-4]), T.ArgumentError, 'take: index -4 is out of range [-3, 3) for axis 0 of shape [3]');
    expectError(
      () => T.takeAlongAxis(T.zeros([2, 3]), makeTensor([0, 5], [2, 1], 'int32'), 1),
      T.ArgumentError,
      'takeAlongAxis: index 5 is out of range [-3, 3) for axis 1 of shape [2,3]',
    );
    expectError(() => T.take(x, makeTensor([0.5], [1], 'float32')), T.DTypeError, 'take: indices must be integers, got float32');
    expectError(() => T.take(x, [1.5]), T.DTypeError, 'take: indices must be integers, got 1.5');
    expectError(() => T.takeAlongAxis(T.zeros([2, 2]), [[0, NaN]], 1), T.DTypeError, 'takeAlongAxis: indices must be integers, got NaN');
    expectError(() => T.take(x, 2.5), T.DTypeError, 'take: indices must be integers, got 2.5');
  });

  it('split into unequal sections and bad split points', () => {
    expectError(() => T.split(T.zeros([5]), 2), T.ArgumentError, 'split: axis 0 of size 5 cannot be split into 2 equal parts');
    expectError(() => T.split(T.zeros([5]), [3, 1]), T.ArgumentError, 'split: indices [3,1] must be increasing within axis 0 of size 5');
  });

  it('slice specs', () => {
    expectError(() => T.slice(T.zeros([3]), 3), T.ArgumentError, 'slice: index 3 is out of range for axis 0 of size 3');
    expectError(() => T.slice(T.zeros([3]), [0, 3, 0]), T.ArgumentError, 'slice: step must be a nonzero integer, got 0 at axis 0');
    expectError(() => T.slice(T.zeros([3]), null, null), T.ArgumentError, 'slice: 2 specs for a tensor of rank 1 ([3])');
  });
});

describe('dtype errors', () => {
  it('mismatched or unsupported dtypes throw DTypeError', () => {
    expectError(() => T.add(makeTensor([1], [1], 'int32'), makeTensor([1], [1], 'uint32')), T.DTypeError, 'add: cannot mix int32 and uint32 operands; cast one explicitly');
    // concat promotes as the binary ops do, so only int32 with uint32 is refused.
    expectError(() => T.concat([makeTensor([1], [1], 'uint32'), makeTensor([1], [1], 'int32')]), T.DTypeError, 'concat: cannot mix int32 and uint32 operands; cast one explicitly');
    expectError(() => T.neg(T.tensor([true])), T.DTypeError, 'neg: input must be a numeric (non-bool) tensor, got bool[1]');
    // The primitive table itself never promotes: operands of one primitive must share a dtype.
    expectError(() => T.bind('add', [T.zeros([1]), T.zeros([1], { dtype: 'float64' })], {}), T.DTypeError, 'add: operands must have one dtype, got f32[1] and f64[1]');
    expectError(() => T.bind('matmul', [T.zeros([1, 1]), T.zeros([1, 1], { dtype: 'float64' })], {}), T.DTypeError, 'matmul: operands must have one dtype, got f32[1,1] and f64[1,1]');
    expectError(() => T.where(T.tensor([true]), makeTensor([1], [1], 'int32'), makeTensor([1], [1], 'uint32')), T.DTypeError, 'where: cannot mix int32 and uint32 operands; cast one explicitly');
  });

  it('random functions check their key', () => {
    expectError(() => T.random.split(T.zeros([2])), T.DTypeError, 'split: expected a PRNG key u32[2] (from key(seed)), got float32[2]');
    expectError(() => T.random.uniform(makeTensor([0, 0, 0], [3], 'uint32'), [2]), T.DTypeError, 'uniform: expected a PRNG key u32[2] (from key(seed)), got uint32[3]');
  });
});

describe('creation and padding arguments', () => {
  it('names the op and the bad value', () => {
    expectError(() => T.pad(T.zeros([2]), [[-1, 0]]), T.ArgumentError, 'pad: axis 0 has invalid padding lo -1, hi 0, interior 0');
    expectError(() => T.pad(T.zeros([2]), []), T.ArgumentError, 'pad: 0 [before, after] pairs for a tensor of rank 1');
    expectError(() => T.full([2], NaN, { dtype: 'int32' }), T.DTypeError, "full: element 0 is NaN, outside int32's range [-2147483648, 2147483647]");
    expectError(() => T.fullLike(T.zeros([1], { dtype: 'uint32' }), -1), T.DTypeError, "full: element 0 is -1, outside uint32's range [0, 4294967295]");
    expectError(() => T.eye(-1), T.ArgumentError, 'eye: shape [-1,-1] has an invalid size -1 at axis 0 (sizes must be non-negative integers)');
    expectError(() => T.linspace(0, 1, -2), T.ArgumentError, 'linspace: num must be a non-negative integer, got -2');
    expectError(() => T.arange(0, 1, 0), T.ArgumentError, 'arange: need finite start, stop and a nonzero step, got 0, 1, 0');
    // Integers out of the dtype's range are refused as by tensor and full, not wrapped.
    expectError(() => T.arange(2147483647, 2147483650), T.DTypeError, "arange: element 1 is 2147483648, outside int32's range [-2147483648, 2147483647]");
    expectError(() => T.arange(-1, 1, 1, { dtype: 'uint32' }), T.DTypeError, "arange: element 0 is -1, outside uint32's range [0, 4294967295]");
    expectError(() => T.linspace(0, 3e9, 2, { dtype: 'int32' }), T.DTypeError, "linspace: element 1 is 3000000000, outside int32's range [-2147483648, 2147483647]");
    // Sizes no typed array holds name the op instead of a bare RangeError.
    expectError(() => T.arange(0, 1e12), T.ArgumentError, 'arange: 1000000000000 int32 elements do not fit in one typed array');
    expectError(() => T.full([1e6, 1e6], 0), T.ArgumentError, 'full: 1000000000000 float32 elements do not fit in one typed array');
    // Holes in nested arrays are missing elements, not skipped ones.
    expectError(() => T.tensor([1, , 3] as never), T.ArgumentError, 'tensor: element 1 is undefined, not a number or boolean');
    expectError(() => T.tensor(new Array(3)), T.ArgumentError, 'tensor: element 0 is undefined, not a number or boolean');
    expectError(() => T.oneHot([1.9, 0], 3), T.DTypeError, 'oneHot: indices must be integers, got 1.9');
    expectError(() => T.dot(T.tensor([true]), T.tensor([false])), T.DTypeError, 'dot: operands must be numeric, got bool[1] and bool[1] (cast bools first)');
    expectError(() => T.random.key(1.5), T.ArgumentError, 'key: seed must be a safe integer, got 1.5');
    expectError(() => T.random.key(2 ** 60), T.ArgumentError, 'key: seed must be a safe integer, got 1152921504606847000');
    expectError(() => T.random.foldIn(T.random.key(0), 0.5), T.ArgumentError, 'foldIn: data must be an integer, got 0.5');
    expectError(() => T.random.split(T.random.key(0), 0), T.ArgumentError, 'split: n must be a positive integer, got 0');
    expectError(() => T.random.truncatedNormal(T.random.key(0), 1, 1, [2]), T.ArgumentError, 'truncatedNormal: need lower < upper, got 1 and 1');
  });
});

describe('backend errors', () => {
  // A second backend: the CPU's kernels under another name, without float64 and synchronous reads.
  const other: T.Backend = {
    name: 'other',
    supports: (dtype) => dtype !== 'float64',
    upload: (values, aval) => T.cpu.upload(values, aval),
    execute: (prim, inputs, params, out) => T.cpu.execute(prim, inputs, params, out),
    read: (handle, aval) => T.cpu.read(handle, aval),
    release: () => {},
  };

  it('mixing backends in one op names both', () => {
    const a = T.zeros([2]);
    const b = T.zeros([2], { backend: other });
    expectError(() => T.add(a, b), T.BackendError, 'add: input 0 is on cpu but input 1 is on other; move one with toBackend()');
  });

  it('unsupported dtypes, synchronous reads and unknown backends', async () => {
    expectError(() => T.zeros([2], { dtype: 'float64', backend: other }), T.ArgumentError, 'tensor: the other backend has no float64 tensors');
    const b = T.ones([2], { backend: other });
    expectError(() => b.dataSync(), T.BackendError, 'dataSync: the other backend reads asynchronously; use await t.data()');
    expect(await b.toArray()).toEqual([1, 1]);
    expect(String(b)).toBe('Tensor f32[2] (other) <await t.data() to read>');
    expectError(() => T.cast(b, 'float64'), T.BackendError, 'cast: the other backend has no float64 tensors');
    expectError(() => T.getBackend('nope'), T.BackendError, "unknown or uninitialized backend 'nope'; known: cpu");
  });
});

describe('arguments of the wrong kind', () => {
  it('shapes, dtypes, backends and keys name the op', () => {
    expectError(() => T.zeros(3 as never), T.ArgumentError, 'zeros: shape must be an array of sizes such as [3], got 3');
    expectError(() => T.full(undefined as never, 1), T.ArgumentError, 'full: shape must be an array of sizes such as [2, 3], got undefined');
    expectError(() => T.reshape(x23(), undefined as never), T.ArgumentError, 'reshape: shape must be an array of sizes such as [2, 3], got undefined');
    expectError(() => T.broadcastTo(x23(), '2,3' as never), T.ArgumentError, 'broadcastTo: shape must be an array of sizes such as [2, 3], got 2,3');
    const known = '(known: float32, float64, int32, uint32, bool)';
    expectError(() => T.tensor([1], { dtype: 'float16' as never }), T.DTypeError, `tensor: unknown dtype 'float16' ${known}`);
    expectError(() => T.zeros([2], { dtype: 'f32' as never }), T.DTypeError, `zeros: unknown dtype 'f32' ${known}`);
    expectError(() => T.cast(x23(), 'half' as never), T.DTypeError, `cast: unknown dtype 'half' ${known}`);
    expectError(() => T.arange(3, undefined, 1, { dtype: 'int' as never }), T.DTypeError, `arange: unknown dtype 'int' ${known}`);
    expectError(() => T.random.normal(T.random.key(0), [2], 'int32' as never), T.DTypeError, "normal: dtype must be float32 or float64, got 'int32'");
    expectError(() => T.random.uniform(T.random.key(0), [2], { dtype: 'bool' as never }), T.DTypeError, "uniform: dtype must be float32 or float64, got 'bool'");
    expectError(() => T.random.normal(undefined as never, [2]), T.DTypeError, 'normal: expected a PRNG key u32[2] (from key(seed)), got undefined');
    expectError(() => T.random.normal(T.random.key(0), 3 as never), T.ArgumentError, 'normal: shape must be an array of sizes such as [3], got 3');
    expectError(() => T.tensor([1], { backend: 'cpu' as never }), T.ArgumentError, "tensor: backend must be a Backend object such as cpu or getBackend('cpu'), got the string 'cpu'");
    expectError(() => T.setDefaultBackend({} as never), T.ArgumentError, "setDefaultBackend: backend must be a Backend object such as cpu or getBackend('cpu'), got an object that is not one");
    expect(T.defaultBackend()).toBe(T.cpu);
  });

  it('dot, vecdot, outer and oneHot name themselves, not the ops they are built from', () => {
    expectError(() => T.vecdot(T.zeros([2]), T.zeros([3])), T.ShapeError, 'vecdot: shapes [2] and [3] do not broadcast (axis -1 has sizes 2 and 3)');
    expectError(() => T.vecdot(T.zeros([4, 3]), T.zeros([2, 3])), T.ShapeError, 'vecdot: shapes [4,3] and [2,3] do not broadcast (axis -2 has sizes 4 and 2)');
    expectError(() => T.vecdot(T.zeros([4, 3]), T.zeros([3]), 2), T.ShapeError, 'vecdot: axis 2 is out of range for the broadcast shape [4,3]');
    expectError(() => T.dot(T.zeros([2]), T.zeros([3])), T.ShapeError, "dot: shapes [2] and [3] do not align: a's last axis has 2 entries and b's only axis 3");
    expectError(() => T.dot(T.zeros([4, 3]), T.zeros([2, 3])), T.ShapeError, "dot: shapes [4,3] and [2,3] do not align: a's last axis has 3 entries and b's second-to-last axis 2");
    expectError(() => T.outer(x23(), T.zeros([3])), T.ShapeError, 'outer: needs two vectors, got [2,3] and [3]');
    expectError(() => T.slice(x23(), 1.5), T.ArgumentError, 'slice: index 1.5 on axis 0 is not an integer');
    const idx = T.tensor([0, 2], { dtype: 'int32' });
    expectError(() => T.oneHot(idx, -1), T.ArgumentError, 'oneHot: depth must be a positive integer, got -1');
    expectError(() => T.oneHot(idx, 2.5), T.ArgumentError, 'oneHot: depth must be a positive integer, got 2.5');
    expectError(() => T.oneHot(T.tensor([0.5]), 3), T.DTypeError, 'oneHot: indices must be integers, got float32');
    expect(T.oneHot(idx, 3).toArraySync()).toEqual([[1, 0, 0], [0, 0, 1]]);
  });

  it('integer tensors refuse values their dtype cannot hold (a typed array would wrap them)', () => {
    expect(T.tensor([1.7, -2.5, 2147483647], { dtype: 'int32' }).toArraySync()).toEqual([1, -2, 2147483647]); // fractions dropped
    expectError(() => T.tensor([1, 3e9], { dtype: 'int32' }), T.DTypeError, "tensor: element 1 is 3000000000, outside int32's range [-2147483648, 2147483647]");
    expectError(() => T.tensor([-1], { dtype: 'uint32' }), T.DTypeError, "tensor: element 0 is -1, outside uint32's range [0, 4294967295]");
    expectError(() => T.tensor(Float64Array.of(0, NaN), { dtype: 'int32' }), T.DTypeError, "tensor: element 1 is NaN, outside int32's range [-2147483648, 2147483647]");
    // float32 rounds 2^32 - 1 up to 2^32, which a Uint32Array would store as 0.
    expectError(() => T.tensor(Float32Array.of(4294967295), { dtype: 'uint32' }), T.DTypeError, "tensor: element 0 is 4294967296, outside uint32's range [0, 4294967295]");
  });
});

describe('disposed tensors', () => {
  it('cannot be used by ops or read', () => {
    const x = T.ones([2]);
    {
      using y = T.ones([3]);
      expect(y.toArraySync()).toEqual([1, 1, 1]);
    }
    x.dispose();
    x.dispose(); // idempotent
    expectError(() => T.add(x, 1), T.BackendError, 'tensor f32[2] was used after dispose()');
    expectError(() => x.toArraySync(), T.BackendError, 'tensor f32[2] was used after dispose()');
  });
});
