/**
 * A small WebAssembly binary emitter: enough of the format (types, an imported memory, functions,
 * exports, SIMD) for the CPU backend's generated kernels, so no compiler is needed at install time.
 * Functions are written as calls on a `Code` builder, which reads like the WebAssembly text format.
 */

/** The parts of the WebAssembly JS API the CPU backend uses (the project's TypeScript libs do not declare it). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Instance: new (module: object, imports: object) => { exports: object };
  validate(bytes: Uint8Array): boolean;
}
/** The engine's WebAssembly API. */
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Value types. */
export const i32 = 0x7f;
export const f32 = 0x7d;
export const f64 = 0x7c;
export const v128 = 0x7b;
export type ValType = typeof i32 | typeof f32 | typeof f64 | typeof v128;

function uleb(n: number, out: number[]): void {
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];

/** Appends `items` to `out` (a loop: spreading a function's body into `push` overflows the stack past ~100k bytes). */
function append(out: number[], items: readonly number[]): void {
  for (let i = 0; i < items.length; i++) out.push(items[i]);
}

function vec(items: number[][], out: number[]): void {
  uleb(items.length, out);
  for (const item of items) append(out, item);
}

/** SIMD instructions by name (each is `0xfd` followed by its LEB128 opcode). */
const SIMD = {
  'v128.load': 0x00,
  'v128.load32_splat': 0x09,
  'v128.load64_splat': 0x0a,
  'v128.store': 0x0b,
  'i8x16.swizzle': 0x0e,
  'v128.load64_zero': 0x5d,
  'v128.store64_lane': 0x5b,
  'f32x4.demote_f64x2_zero': 0x5e,
  'f64x2.promote_low_f32x4': 0x5f,
  'i32x4.splat': 0x11,
  'f32x4.splat': 0x13,
  'f64x2.splat': 0x14,
  'i32x4.eq': 0x37,
  'i32x4.ne': 0x38,
  'i32x4.lt_s': 0x39,
  'i32x4.gt_s': 0x3b,
  'i32x4.le_s': 0x3d,
  'i32x4.ge_s': 0x3f,
  'f32x4.eq': 0x41,
  'f32x4.ne': 0x42,
  'f32x4.lt': 0x43,
  'f32x4.gt': 0x44,
  'f32x4.le': 0x45,
  'f32x4.ge': 0x46,
  'f64x2.eq': 0x47,
  'f64x2.ne': 0x48,
  'f64x2.lt': 0x49,
  'f64x2.gt': 0x4a,
  'f64x2.le': 0x4b,
  'f64x2.ge': 0x4c,
  'v128.not': 0x4d,
  'v128.and': 0x4e,
  'v128.andnot': 0x4f,
  'v128.or': 0x50,
  'v128.xor': 0x51,
  'v128.bitselect': 0x52,
  'v128.any_true': 0x53,
  'f32x4.ceil': 0x67,
  'f32x4.floor': 0x68,
  'f32x4.trunc': 0x69,
  'f64x2.ceil': 0x74,
  'f64x2.floor': 0x75,
  'f64x2.trunc': 0x7a,
  'f32x4.abs': 0xe0,
  'f32x4.neg': 0xe1,
  'f32x4.sqrt': 0xe3,
  'f32x4.add': 0xe4,
  'f32x4.sub': 0xe5,
  'f32x4.mul': 0xe6,
  'f32x4.relaxed_madd': 0x105,
  'f32x4.convert_i32x4_s': 0xfa,
  'f32x4.div': 0xe7,
  'f32x4.min': 0xe8,
  'f32x4.max': 0xe9,
  'i32x4.abs': 0xa0,
  'i32x4.neg': 0xa1,
  'i32x4.shl': 0xab,
  'i32x4.shr_u': 0xad,
  'i32x4.add': 0xae,
  'i32x4.sub': 0xb1,
  'i32x4.mul': 0xb5,
  'i32x4.min_s': 0xb6,
  'i32x4.max_s': 0xb8,
  'i64x2.shl': 0xcb,
  'i64x2.shr_u': 0xcd,
  'i64x2.add': 0xce,
  'f64x2.abs': 0xec,
  'f64x2.neg': 0xed,
  'f64x2.sqrt': 0xef,
  'f64x2.add': 0xf0,
  'f64x2.sub': 0xf1,
  'f64x2.mul': 0xf2,
  'f64x2.div': 0xf3,
  'f64x2.min': 0xf4,
  'f64x2.max': 0xf5,
  'f64x2.pmin': 0xf6,
  'f64x2.pmax': 0xf7,
} as const;
export type SimdOp = keyof typeof SIMD;
const MEMORY_SIMD = new Set<SimdOp>(['v128.load', 'v128.load32_splat', 'v128.load64_splat', 'v128.store', 'v128.load64_zero', 'v128.store64_lane']);

/** Plain (non-SIMD) instructions without immediates, by name. */
const PLAIN = {
  'i32.eqz': 0x45,
  'i32.eq': 0x46,
  'i32.ne': 0x47,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a,
  'i32.le_s': 0x4c,
  'i32.ge_s': 0x4e,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.div_u': 0x6e,
  'i32.rem_u': 0x70,
  'i32.and': 0x71,
  'i32.shl': 0x74,
  'i32.shr_u': 0x76,
  'f32.abs': 0x8b,
  'f32.neg': 0x8c,
  'f32.sqrt': 0x91,
  'f32.add': 0x92,
  'f32.sub': 0x93,
  'f32.mul': 0x94,
  'f32.div': 0x95,
  'f32.min': 0x96,
  'f32.max': 0x97,
  'f64.eq': 0x61,
  'f64.ne': 0x62,
  'f64.lt': 0x63,
  'f64.gt': 0x64,
  'i32.or': 0x72,
  'i32.xor': 0x73,
  'i32.rotl': 0x77,
  'f64.abs': 0x99,
  'f64.neg': 0x9a,
  'f64.sqrt': 0x9f,
  'f64.add': 0xa0,
  'f64.sub': 0xa1,
  'f64.mul': 0xa2,
  'f64.div': 0xa3,
  'f64.min': 0xa4,
  'f64.max': 0xa5,
  'f32.demote_f64': 0xb6,
  'f64.promote_f32': 0xbb,
  select: 0x1b,
  drop: 0x1a,
  return: 0x0f,
} as const;
export type PlainOp = keyof typeof PLAIN;

const MEMORY_OPS = { 'i32.load': 0x28, 'f32.load': 0x2a, 'f64.load': 0x2b, 'i32.store': 0x36, 'f32.store': 0x38, 'f64.store': 0x39 } as const;
export type MemoryOp = keyof typeof MEMORY_OPS;

/** Natural alignment (log2 bytes) of each memory access. */
const ALIGN: Record<MemoryOp | 'v128.load' | 'v128.load32_splat' | 'v128.load64_splat' | 'v128.store' | 'v128.load64_zero' | 'v128.store64_lane', number> = {
  'i32.load': 2,
  'f32.load': 2,
  'f64.load': 3,
  'i32.store': 2,
  'f32.store': 2,
  'f64.store': 3,
  'v128.load': 4,
  'v128.load32_splat': 2,
  'v128.load64_splat': 3,
  'v128.store': 4,
  'v128.load64_zero': 3,
  'v128.store64_lane': 3,
};

/** The body of one function: locals and instructions, emitted in order. */
export class Code {
  readonly bytes: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(private readonly paramCount: number) {}

  /** Declares a local and returns its index. */
  local(type: ValType): number {
    this.locals.push(type);
    return this.paramCount + this.locals.length - 1;
  }

  op(name: PlainOp): this {
    this.bytes.push(PLAIN[name]);
    return this;
  }

  /** A memory access at the address on the stack plus a constant byte offset. */
  mem(name: MemoryOp, offset = 0): this {
    this.bytes.push(MEMORY_OPS[name], ALIGN[name]);
    uleb(offset, this.bytes);
    return this;
  }

  simd(name: SimdOp, offset = 0): this {
    this.bytes.push(0xfd);
    uleb(SIMD[name], this.bytes);
    if (MEMORY_SIMD.has(name)) {
      // v128 accesses are declared 4-byte aligned: typed-array views only promise element alignment.
      this.bytes.push(Math.min(ALIGN[name as keyof typeof ALIGN], 2));
      uleb(offset, this.bytes);
      if (name === 'v128.store64_lane') this.bytes.push(0); // lane 0
    }
    return this;
  }

  get(index: number): this {
    this.bytes.push(0x20);
    uleb(index, this.bytes);
    return this;
  }

  set(index: number): this {
    this.bytes.push(0x21);
    uleb(index, this.bytes);
    return this;
  }

  tee(index: number): this {
    this.bytes.push(0x22);
    uleb(index, this.bytes);
    return this;
  }

  i32(value: number): this {
    this.bytes.push(0x41);
    sleb(value | 0, this.bytes);
    return this;
  }

  f32(value: number): this {
    this.bytes.push(0x43, ...new Uint8Array(new Float32Array([value]).buffer));
    return this;
  }

  f64(value: number): this {
    this.bytes.push(0x44, ...new Uint8Array(new Float64Array([value]).buffer));
    return this;
  }

  /** `f32x4.extract_lane`: lane `lane` of the vector on the stack. */
  extractF32Lane(lane: 0 | 1 | 2 | 3): this {
    this.bytes.push(0xfd);
    uleb(0x1f, this.bytes);
    this.bytes.push(lane);
    return this;
  }

  /** `f64x2.extract_lane`: lane `lane` of the vector on the stack. */
  extractF64Lane(lane: 0 | 1): this {
    this.bytes.push(0xfd);
    uleb(0x21, this.bytes);
    this.bytes.push(lane);
    return this;
  }

  /** `i8x16.shuffle` of the two vectors on the stack, picking 32-bit lanes (0-3: first, 4-7: second). */
  shuffle32(lanes: readonly [number, number, number, number]): this {
    this.bytes.push(0xfd);
    uleb(0x0d, this.bytes);
    for (const lane of lanes) this.bytes.push(4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3);
    return this;
  }

  /** `v128.const` of four 32-bit lanes given as raw bits. */
  v128Bits32(lanes: readonly [number, number, number, number]): this {
    this.bytes.push(0xfd);
    uleb(0x0c, this.bytes);
    this.bytes.push(...new Uint8Array(new Uint32Array(lanes).buffer));
    return this;
  }

  /** `call`: the function at `index` in the module (arguments on the stack). */
  call(index: number): this {
    this.bytes.push(0x10);
    uleb(index, this.bytes);
    return this;
  }

  /** `memory.copy`: copies the byte count on the stack from the source address to the destination address under it. */
  memoryCopy(): this {
    this.bytes.push(0xfc);
    uleb(10, this.bytes);
    this.bytes.push(0, 0); // memory 0 to memory 0
    return this;
  }

  /** `memory.fill`: sets the byte count on the stack to the value under it from the address under that. */
  memoryFill(): this {
    this.bytes.push(0xfc);
    uleb(11, this.bytes);
    this.bytes.push(0); // memory 0
    return this;
  }

  /** `local += step` for an i32 local. */
  addTo(index: number, step: number | { local: number }): this {
    this.get(index);
    if (typeof step === 'number') this.i32(step);
    else this.get(step.local);
    return this.op('i32.add').set(index);
  }

  /**
   * `while (cond) body`: `cond` pushes an i32, checked before every iteration, as a block around a
   * loop (the shape every loop here takes).
   */
  while(cond: (c: this) => void, body: (c: this) => void): this {
    this.bytes.push(0x02, 0x40, 0x03, 0x40);
    cond(this);
    this.op('i32.eqz');
    this.bytes.push(0x0d, 0x01); // br_if 1: leave the block
    body(this);
    this.bytes.push(0x0c, 0x00, 0x0b, 0x0b); // br 0 (continue), end loop, end block
    return this;
  }

  /** `if (cond) body`: `cond` pushes an i32. */
  when(cond: (c: this) => void, body: (c: this) => void): this {
    cond(this);
    this.bytes.push(0x04, 0x40);
    body(this);
    this.bytes.push(0x0b);
    return this;
  }

  /** The function's encoded body: local declarations, instructions and `end`. */
  encode(): number[] {
    const out: number[] = [];
    const groups: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(groups.length, out);
    for (const [count, type] of groups) {
      uleb(count, out);
      out.push(type);
    }
    append(out, this.bytes);
    out.push(0x0b);
    const sized: number[] = [];
    uleb(out.length, sized);
    append(sized, out);
    return sized;
  }
}

/** One exported function of a module. */
export interface FunctionDef {
  readonly name: string;
  readonly params: readonly ValType[];
  readonly results?: readonly ValType[];
  readonly code: Code;
}

/**
 * A module importing its memory as `env.memory` (a shared one with `sharedMemory`, so that worker
 * threads can run its kernels on the same memory) and exporting `functions`.
 *
 * @example
 * const code = new Code(2);
 * code.get(0).get(1).op('i32.add');
 * const bytes = wasmModule([{ name: 'add', params: [i32, i32], results: [i32], code }]);
 */
export function wasmModule(functions: readonly FunctionDef[], options: { sharedMemory?: boolean } = {}): Uint8Array {
  const section = (id: number, body: number[], out: number[]) => {
    out.push(id);
    uleb(body.length, out);
    append(out, body);
  };
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  const types: number[] = [];
  vec(
    functions.map((f) => {
      const results = f.results ?? [];
      return [0x60, ...leb(f.params.length), ...f.params, ...leb(results.length), ...results];
    }),
    types,
  );
  section(1, types, out);
  const imports: number[] = [];
  // Limits: at least one page; a shared memory must declare a maximum (here the 4 GiB of wasm32).
  const limits = options.sharedMemory ? [0x03, 0x01, ...leb(65536)] : [0x00, 0x01];
  vec([[...utf8Vec('env'), ...utf8Vec('memory'), 0x02, ...limits]], imports);
  section(2, imports, out);
  const funcs: number[] = [];
  vec(functions.map((_, i) => leb(i)), funcs);
  section(3, funcs, out);
  const exports: number[] = [];
  vec(functions.map((f, i) => [...utf8Vec(f.name), 0x00, ...leb(i)]), exports);
  section(7, exports, out);
  const code: number[] = [];
  vec(functions.map((f) => f.code.encode()), code);
  section(10, code, out);
  return new Uint8Array(out);
}

function leb(n: number): number[] {
  const out: number[] = [];
  uleb(n, out);
  return out;
}

function utf8Vec(s: string): number[] {
  const bytes = utf8(s);
  return [...leb(bytes.length), ...bytes];
}
