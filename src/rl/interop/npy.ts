/**
 * NumPy's `.npy` format (numpy.lib.format): the magic `\x93NUMPY`, a major and a minor version byte,
 * the header's length (u16 little-endian in version 1.0, u32 in 2.0 and 3.0), the header, then the
 * array's raw elements. The header is a Python dict literal, padded with spaces and a final newline
 * so that the data starts at a multiple of 64 bytes (numpy pads 1 to 64 bytes: a header that would
 * end on the boundary gets 64 more):
 *
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *
 * Written as version 1.0 (2.0 when a header outgrows a u16), as `np.save` writes it; versions 1.0 to
 * 3.0 are read (3.0's header is UTF-8, the others' Latin-1). Only C-order, little-endian arrays of the
 * five tensor dtypes are read (a descr's byte order `<`, `=` (native), `|` or none, as numpy takes
 * them; any for the one-byte bool); anything else is refused naming the array and its descr.
 */
import type { Either } from 'fp-ts/Either';
import type { DType } from '../../tensor';
import { bytesOf as elementBytes } from '../../tensor/dtype';
import type { CheckpointError } from '../errors';
import { bytesOf, catching, checkHostArray, elementsOf, fail, type HostArray } from './format';

const MAGIC = [0x93, ...new TextEncoder().encode('NUMPY')];
const ALIGN = 64;
/** Spaces numpy leaves after a header for the first axis to grow into in place (numpy.lib.format.GROWTH_AXIS_MAX_DIGITS). */
const GROWTH_DIGITS = 21;

const DESCRS: Record<DType, string> = { float32: '<f4', float64: '<f8', int32: '<i4', uint32: '<u4', bool: '|b1' };
/** Each dtype by its descr's kind and size, the byte-order mark left off (`f4`). */
const FROM_CODE = new Map(Object.entries(DESCRS).map(([dtype, descr]) => [descr.slice(1), dtype as DType]));

/**
 * The dtype of a descr, read as numpy reads it: `<`, `=` (the host's order, which mixrl requires to
 * be little-endian), `|` (no order) or no mark before the kind and size; `>` only for the one-byte
 * `b1`. Undefined for any other descr.
 */
function dtypeOfDescr(descr: string): DType | undefined {
  const [, order, code] = /^([<>=|]?)(\w+)$/.exec(descr) ?? [];
  const dtype = code === undefined ? undefined : FROM_CODE.get(code);
  return order === '>' && dtype !== 'bool' ? undefined : dtype;
}

/** A Python tuple's repr: `()`, `(5,)`, `(2, 3)`. */
const tupleRepr = (xs: readonly number[]) => (xs.length === 1 ? `(${xs[0]},)` : `(${xs.join(', ')})`);

/**
 * The bytes of a `.npy` file holding `array`, the same bytes `np.save` (numpy 1.24 and later) writes
 * for it. `Left('unserializable')` when the data do not fit the dtype and shape; `file` is for the
 * message.
 *
 * @example
 * encodeNpy('x.npy', { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) }); // Right(Uint8Array(136))
 */
export function encodeNpy(file: string, array: HostArray): Either<CheckpointError, Uint8Array> {
  return catching(() => {
    checkHostArray(file, 'the array', array);
    return npyBytes(array);
  });
}

/**
 * The bytes of a `.npy` file holding `array`, which fits its dtype and shape.
 *
 * @example
 * npyBytes({ dtype: 'bool', shape: [], data: Uint8Array.of(1) }); // Uint8Array(129)
 */
export function npyBytes(array: HostArray): Uint8Array {
  const { dtype, shape, data } = array;
  const growth = shape.length > 0 ? ' '.repeat(GROWTH_DIGITS - String(shape[0]).length) : '';
  const dict = `{'descr': '${DESCRS[dtype]}', 'fortran_order': False, 'shape': ${tupleRepr(shape)}, }${growth}`;
  const text = new TextEncoder().encode(dict);
  // The header, its padding (1 to 64 spaces, as numpy pads) and newline end at a multiple of 64 bytes; prefix: magic, version, length.
  const padded = (prefix: number) => text.length + 1 + ALIGN - ((prefix + text.length + 1) % ALIGN);
  const major = padded(10) < 2 ** 16 ? 1 : 2;
  const prefix = major === 1 ? 10 : 12;
  const headerLength = padded(prefix);
  const out = new Uint8Array(prefix + headerLength + data.byteLength);
  out.set(MAGIC);
  out[6] = major;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, headerLength, true);
  else view.setUint32(8, headerLength, true);
  out.set(text, prefix);
  out.fill(0x20, prefix + text.length, prefix + headerLength - 1);
  out[prefix + headerLength - 1] = 0x0a;
  out.set(bytesOf(data), prefix + headerLength);
  return out;
}

/**
 * The array in a `.npy` file's bytes; `Left` naming `file` and the byte for anything it cannot read:
 * a bad magic or version, a malformed header, Fortran order, an unsupported descr (big-endian,
 * int64, float16, structured, ...), too few or too many data bytes.
 *
 * @example
 * const a = decodeNpy('w.npy', await readFile('w.npy')); // Right({ dtype: 'float32', shape: [2], data })
 */
export function decodeNpy(file: string, bytes: Uint8Array): Either<CheckpointError, HostArray> {
  return catching(() => readNpy(file, 'the array', bytes, 0));
}

/**
 * The array in `bytes`, which are the file's from byte `base` on (an `.npz` member stored
 * uncompressed; undefined for an inflated one, whose bytes are not the file's); `what` names it.
 * Throws a CheckpointError.
 *
 * @example
 * readNpy('w.npz', "array 'w'", member.data, member.at); // { dtype, shape, data }
 */
export function readNpy(file: string, what: string, bytes: Uint8Array, base: number | undefined): HostArray {
  const at = (i: number) => (base === undefined ? undefined : base + i);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('bad-magic', file, at(0), `${what}: not .npy data (no \\x93NUMPY magic at its start)`);
  const [major, minor] = [bytes[6], bytes[7]];
  if (![1, 2, 3].includes(major) || minor !== 0) {
    fail('unsupported-version', file, at(6), `${what}: .npy format ${major}.${minor}; mixrl reads 1.0, 2.0 and 3.0`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = major === 1 ? 10 : 12;
  if (bytes.length < prefix) fail('truncated', file, at(0), `${what}: ${bytes.length} bytes, shorter than the ${prefix}-byte .npy prefix`);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = prefix + headerLength;
  if (dataStart > bytes.length) fail('truncated', file, at(8), `${what}: a ${headerLength}-byte header after ${prefix} bytes, in ${bytes.length} bytes`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(prefix, dataStart));
  const { dtype, shape } = headerFields(header, (offset, problem) => fail('bad-manifest', file, at(prefix + offset), `${what}: header ${problem}`));
  const needed = shape.reduce((n, d) => n * d, 1) * elementBytes(dtype);
  const got = bytes.length - dataStart;
  if (got < needed) fail('truncated', file, at(dataStart), `${what}: ${dtype} (${shape.join(', ')}) needs ${needed} data bytes, found ${got}`);
  if (got > needed) fail('bad-layout', file, at(dataStart + needed), `${what}: ${got - needed} unexpected bytes after the data`);
  return { dtype, shape, data: elementsOf(dtype, bytes.subarray(dataStart)) };
}

/** Reports a problem at a character offset of the header. */
type Report = (offset: number, problem: string) => never;

/** The dtype and shape a header dict says, checked as numpy checks them (exactly the three keys). */
function headerFields(header: string, report: Report): { dtype: DType; shape: number[] } {
  const dict = parseLiteral(header, report);
  if (!(dict instanceof Map)) return report(0, 'is not a Python dict');
  const keys = [...dict.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') return report(0, `has keys ${JSON.stringify(keys)}; expected descr, fortran_order and shape`);
  const descr = dict.get('descr');
  const shape = dict.get('shape');
  if (dict.get('fortran_order') !== false) {
    return report(0, `says fortran_order ${String(dict.get('fortran_order'))}: only C-order arrays are read (save np.ascontiguousarray(x))`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d))) return report(0, `has a shape that is not a tuple of integers`);
  if (typeof descr !== 'string') return report(0, `has a descr that is not a string (structured dtypes are not read)`);
  if (/^[|=<>]?O$/.test(descr)) {
    return report(0, `has descr '${descr}': an array of Python objects, which only pickle can read (np.save's allow_pickle); mixrl reads numeric arrays (save x.astype('<f4'))`);
  }
  const dtype = dtypeOfDescr(descr);
  if (dtype === undefined) {
    const why = descr.startsWith('>') ? 'big-endian' : 'an unsupported dtype';
    return report(0, `has descr '${descr}', ${why}; mixrl reads ${Object.values(DESCRS).join(', ')} (convert first, e.g. x.astype('<f4'))`);
  }
  return { dtype, shape: shape as number[] };
}

/** A parsed Python literal: str, int, bool, None, a tuple (array) or a dict (Map). */
type Literal = string | number | boolean | null | Literal[] | Map<Literal, Literal>;

/**
 * The Python literal `text` holds (the subset `repr` writes for a .npy header: dicts, tuples, strings
 * without escapes, non-negative integers, True, False, None), then nothing but whitespace.
 */
function parseLiteral(text: string, report: Report): Literal {
  let i = 0;
  const skip = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const expect = (c: string) => {
    skip();
    if (text[i] !== c) report(i, `expected '${c}' at character ${i}, found ${text[i] === undefined ? 'the end' : `'${text[i]}'`}`);
    i++;
  };
  /** Items up to `close`, separated by commas, a trailing comma allowed; returns them and whether a comma came. */
  const sequence = <T>(close: string, item: () => T): [T[], boolean] => {
    const items: T[] = [];
    let comma = false;
    for (skip(); text[i] !== close; skip()) {
      items.push(item());
      skip();
      if (text[i] !== ',') break;
      comma = true;
      i++;
    }
    expect(close);
    return [items, comma];
  };
  const value = (): Literal => {
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      const [entries] = sequence('}', (): [Literal, Literal] => {
        const key = value();
        expect(':');
        return [key, value()];
      });
      return new Map(entries);
    }
    if (c === '(') {
      i++;
      const [items, comma] = sequence(')', value);
      return items.length === 1 && !comma ? items[0] : items; // (3) is 3 in Python, (3,) a tuple
    }
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) report(i, `has a string at character ${i} that does not end`);
      if (text.slice(i + 1, end).includes('\\')) report(i, `has a string with escapes at character ${i}`);
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const word = /^(\d+|True|False|None)/.exec(text.slice(i))?.[0];
    if (word === undefined) return report(i, `has ${c === undefined ? 'nothing' : `'${c}'`} at character ${i} where a value should be${c === '[' ? ' (structured dtypes are not read)' : ''}`);
    i += word.length;
    return word === 'True' ? true : word === 'False' ? false : word === 'None' ? null : Number(word);
  };
  const result = value();
  skip();
  if (i < text.length) report(i, `has '${text[i]}' at character ${i} after the dict`);
  return result;
}
