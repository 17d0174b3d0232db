/**
 * The CPU plan of a jitted program: a list of precompiled steps over a slot table of typed arrays,
 * all views into one WebAssembly memory (the arena). Float32 matrix products, float sums over
 * contiguous axes and fused float groups whose operations have an exact SIMD form run as
 * WebAssembly kernels there (`tensor/cpu/wasm/`); other fused groups become one generated JS loop
 * each (the eager expression tables, intermediates rounded as their typed arrays would store them).
 * Either way results are bit-identical to eager mode. Steps write into buffers planned once by
 * liveness: a buffer is handed to a later step once its value's last reader has run. So do slices,
 * pads, concatenations, flips, gathers, scatter-adds, argmax/argmin, argsorts (the prepared forms
 * their eager kernels call) and the random primitives (through the same Threefry code as their eager kernels).
 * Reshapes are views (no step), and a transpose read only by matrix products is folded into them
 * (they read its input as stored transposed). Any other primitive without an `out` path runs its
 * eager CPU kernel, which allocates its output. Values returned to the caller always get fresh
 * arrays, since they escape.
 */
import { ArrayTensor, type Aval, cpu, type DType, type Params, type Primitive, type Shape, sizeOf, type TypedArray } from '../../tensor';
import { allocate, bytesOf, viewOf } from '../../tensor/dtype';
import { type CpuInput, cpuKernels } from '../../tensor/cpu';
import { broadcastIndex } from '../../tensor/cpu/elementwise';
import { matmulF64Plan } from '../../tensor/cpu/matmul';
import type { FunctionDef } from '../../tensor/cpu/wasm/emit';
import { type LaneDType, type LaneGroup, laneBytes, laneFunction } from '../../tensor/cpu/wasm/elementwise';
import { reductionLayout, sumsInLanes } from '../../tensor/cpu/wasm/reduce';
import { MatmulBlock } from '../../tensor/cpu/wasm/matmul';
import { arenaHolding, matmulBlockLayout, packedBytes, packsB, transposesA, WasmArena } from '../../tensor/cpu/wasm/runtime';
import { batchChunks, THREADED_MATMUL_MIN } from '../../tensor/cpu/wasm/threads';
import { broadcastStrides } from '../../tensor/shape';
import type { IRProgram, IRVar } from '../ir';
import { fusedLoop, type IntoKernel, intoKernel } from './cpu-js';
import { classifySteps, reducedAxes, stepLabel, WASM_REDUCTIONS } from './cpu-kinds';
import { laneGroup } from './cpu-lanes';
import { hoistEpilogues } from './cpu-order';
import { DonatedRegions, pairDonations } from './donation';
import { fuseElementwise, type PlanNode, storedBy } from './fuse';
import { asElementwise } from './elementwise-rewrites';
import { recordingFor, runTimed } from './profile-cpu';
import { foldableTransposes } from './transposes';

/** What a plan does per call. */
export interface PlanStats {
  /** Steps run per call (fused loops and single kernels). */
  readonly steps: number;
  /** Fused loops, and the equations they hold together. */
  readonly fusedGroups: number;
  readonly fusedEquations: number;
  /**
   * Steps run in WebAssembly (float32 matrix products, float reductions, fused float loops with a
   * SIMD form, slices, pads and concatenations that copy rows, threefry hashes).
   */
  readonly wasmSteps?: number;
  /**
   * CPU plans only: fused loops run within the threaded product before them, over each thread's rows
   * of its result as they are computed (the loop reads the result elementwise: bias and ReLU, a mask).
   */
  readonly productEpilogues?: number;
  /**
   * CPU plans only: outputs of fused WebAssembly loops written into the region of a leaf the loop
   * reads for the last time (element by element, so in place is exact: a bias-and-ReLU epilogue
   * writes over its product's result).
   */
  readonly overwrittenLeaves?: number;
  /**
   * CPU plans only: index arrays of the leaves fused WebAssembly loops gather (whose vectors would
   * straddle rows), one per pattern of leaf and output shapes, however many loops share it.
   */
  readonly gatherIndexArrays?: number;
  /** Reused typed arrays and their total bytes. */
  readonly pooledBuffers: number;
  readonly pooledBytes: number;
  /** Typed arrays allocated per call: the outputs, and the outputs of kernels without an `out` path. */
  readonly allocationsPerCall: number;
  /** Of those, the ones that do not escape (kernels without an `out` path), by primitive. */
  readonly internalAllocations: Readonly<Record<string, number>>;
  /** Donated inputs whose memory an output reuses (neither is copied per call). */
  readonly donatedInPlace?: number;
  /**
   * CPU plans only: whether the plan shares steps with worker threads (products of at least
   * `THREADED_MATMUL_MIN` multiply-adds, large loops and sums; its memory is then shared).
   */
  readonly threaded?: boolean;
  /** CPU plans only: the guests of this plan compiled so far, in other plans' shared memories (`compileCpuPlan`). */
  readonly guestPlans?: number;
  /** WebGPU plans only: kernel dispatches recorded by the latest call. */
  readonly dispatchesPerCall?: number;
}

/** How a CPU plan treats its inputs. */
export interface CpuPlanOptions {
  /**
   * Per input: whether the caller gives it up (`jit`'s `donateArgnums`). A donated input with an
   * output of its shape and dtype shares memory with that output (`donation.ts`).
   */
  readonly donated?: readonly boolean[];
  /** The plan's name in step profiles (`profileCpu`): the jitted function's. */
  readonly name?: string;
}

/** A compiled program: run it on concrete CPU tensors (the program's inputs, flattened). */
export interface CpuPlan {
  run(inputs: readonly ArrayTensor[]): ArrayTensor[];
  readonly stats: PlanStats;
  /** The outputs that may hand out an input's own array (an input returned as it is, or reshaped); the others are new. */
  readonly sharingOutputs: readonly number[];
}

type Step = () => void;
/** Where a step's output lives: a reused buffer, a fresh array per call, or what the kernel returns. */
type Storage = { kind: 'pool'; region: Region } | { kind: 'fresh' } | { kind: 'kernel' };


/** Results the caller gets back share one copied block from this many elements on (smaller ones are copied alone). */
const OUTPUT_BLOCK_MIN_ELEMENTS = 64;

/** A byte range of the plan's WebAssembly arena holding `size` elements of `dtype`. */
interface Region {
  readonly offset: number;
  readonly dtype: DType;
  readonly size: number;
}

/**
 * Compiles an optimized program (all constants concrete CPU tensors) into a CPU plan. Its buffers
 * live in one WebAssembly memory (the arena) so that float32 matrix products, float sums and fused
 * float loops that have a SIMD form run there without copies; values from outside the arena (the
 * inputs, kernels that allocate) are copied in where such a step reads them, and results the caller
 * gets back are copied out. Inputs already in the arena's memory (a shared one, `compilePlan`) are
 * read in place by products and reductions and copied by `memory.copy` for fused loops.
 *
 * @example
 * const plan = compileCpuPlan(optimizeProgram(makeIR(f)(x))[0]);
 * const [y] = plan.run([x]);
 */
export function compileCpuPlan(program: IRProgram, options: CpuPlanOptions = {}): CpuPlan {
  return compilePlan(asElementwise(program, cpu), options, null) as CpuPlan;
}

/**
 * Bytes of a plan's inputs from one threaded arena's memory from which the plan runs as a guest
 * there (when they are also more than its inputs from elsewhere): below it the copy costs less than
 * the guest's own set-up is worth.
 */
const GUEST_MIN_BYTES = 16384;

/** Inputs smaller than this do not count in the choice of a guest (an observation, a key). */
const GUEST_INPUT_MIN_BYTES = 1024;

/**
 * `compileCpuPlan`, or with a `host` the plan as a guest in the host's shared memory (null when it
 * does not fit there). A plan without threads of its own whose largest inputs live in a threaded
 * arena's memory (another plan's results, such as an update's parameters read by an actor) runs as
 * a guest of that arena, compiled on first such call: its products and reductions then read those
 * inputs where they lie and its fused loops copy them with `memory.copy`, instead of JS copying them
 * out of a SharedArrayBuffer.
 */
function compilePlan(program: IRProgram, options: CpuPlanOptions, host: WasmArena | null): CpuPlan | null {
  const nodes = fuseElementwise(program, { multiOutput: true });
  const folded = foldableTransposes(nodes, program.outputs);
  const slotOf = new Map<IRVar, number>();
  const env: TypedArray[] = [];
  const newSlot = (v: IRVar) => {
    slotOf.set(v, env.length);
    env.push(new Float64Array(0));
  };
  program.inputs.forEach(newSlot);
  program.constants.forEach(({ v }) => newSlot(v));
  // Slots of step outputs; a reshape shares its input's slot (a view); folded transposes have none.
  const kept = nodes.filter((node) => {
    if (node.kind === 'single' && folded.has(node.out)) return false;
    if (node.kind === 'single' && node.eq.prim === 'reshape') {
      slotOf.set(node.out, slotOf.get(node.eq.inputs[0]) as number);
      return false;
    }
    storedBy(node).forEach(newSlot);
    return true;
  });
  const slot = (v: IRVar) => slotOf.get(v) as number;
  /** What a step reads: a fused loop's leaves, a kernel's inputs (a folded transpose's input for it). */
  const readsOf = (node: PlanNode) => (node.kind === 'fused' ? node.leaves : node.eq.inputs.map((v) => folded.get(v) ?? v));
  const computed = hoistEpilogues(kept, slot, readsOf);
  const readVars = computed.map(readsOf);
  const kinds = classifySteps(computed, readVars, folded);
  const { probes, movements, transposes, alongAxis, inWasm, products, threaded, epilogueOf, rowSum, sharedLoop } = kinds;
  const escaping = new Set(program.outputs.map(slot));
  const reads = readVars.map((vars) => vars.map(slot));
  const lastRead = new Map<number, number>();
  reads.forEach((slots, s) => slots.forEach((k) => lastRead.set(k, s)));

  let arenaBytes = host ? host.guestBase() : 0;
  const reserve = (aval: Aval): Region => {
    const region = { offset: arenaBytes, dtype: aval.dtype, size: sizeOf(aval.shape) };
    arenaBytes += Math.ceil((region.size * bytesOf(aval.dtype)) / 16) * 16;
    return region;
  };
  /** Where a slot's value is in the arena, for the steps that run there. */
  const home = new Map<number, Region>();
  program.constants.forEach(({ v }) => home.set(slot(v), reserve(v.aval)));

  // Buffer plan: take a free region of the same dtype and size, give back the ones read for the last time.
  const free = new Map<string, Region[]>();
  const pooledSlots = new Map<number, { region: Region; key: string }>();
  const keyOf = (aval: Aval) => `${aval.dtype}:${sizeOf(aval.shape)}`;
  let pooledBuffers = 0;
  let pooledBytes = 0;
  let overwrittenLeaves = 0;
  const acquire = (aval: Aval): Region => {
    const region = free.get(keyOf(aval))?.pop();
    if (region) return region;
    pooledBuffers++;
    pooledBytes += sizeOf(aval.shape) * bytesOf(aval.dtype);
    return reserve(aval);
  };
  const release = (k: number) => {
    const pooled = pooledSlots.get(k);
    if (!pooled) return;
    pooledSlots.delete(k);
    free.set(pooled.key, [...(free.get(pooled.key) ?? []), pooled.region]);
  };
  const into = computed.map((node) => (node.kind === 'single' ? intoKernel(node.eq, folded) : null));
  /**
   * The leaves fused loop s may overwrite: read here for the last time, pooled, and read at the very
   * byte its output lane is written (a whole-size leaf of the output's dtype). A lane loads every
   * leaf before it stores anything, and each thread runs whole lanes (an epilogue, its own rows),
   * so its outputs can take those leaves' regions: written where they were just read, in cache,
   * instead of fresh memory. A product's operands stay (other threads may still read them).
   */
  const overwritable = (s: number): number[] => {
    const node = computed[s];
    if (!inWasm[s] || node.kind !== 'fused') return [];
    const product = epilogueOf.get(s - 1) === s ? new Set(reads[s - 1]) : new Set<number>();
    const size = sizeOf(node.out.aval.shape);
    const leafSlots = node.leaves.map(slot);
    return [...new Set(leafSlots)].filter(
      (k) =>
        lastRead.get(k) === s &&
        pooledSlots.has(k) &&
        !product.has(k) &&
        node.leaves.every((v, q) => leafSlots[q] !== k || (v.aval.dtype === node.out.aval.dtype && sizeOf(v.aval.shape) === size)),
    );
  };
  /** Per step, the storage of each value it stores (`storedBy` order). */
  const storages: Storage[][] = computed.map((node, s) => {
    // Released first, so that the loop's outputs (of the same dtype and size) take their regions.
    const overwrite = overwritable(s);
    overwrite.forEach(release);
    const regionsRead = new Set(overwrite.map((k) => (home.get(k) as Region).offset));
    const stored = storedBy(node).map((v): Storage => {
      const k = slot(v);
      if (node.kind === 'single' && !into[s]) return { kind: 'kernel' };
      if (escaping.has(k)) return { kind: 'fresh' };
      const region = acquire(v.aval);
      if (regionsRead.has(region.offset)) overwrittenLeaves++;
      pooledSlots.set(k, { region, key: keyOf(v.aval) });
      home.set(k, region);
      return { kind: 'pool', region };
    });
    // A product keeps its operands until its epilogue's outputs are placed: threads still read them
    // while others run the loop.
    if (epilogueOf.has(s)) return stored;
    for (const q of epilogueOf.get(s - 1) === s ? [s - 1, s] : [s]) {
      for (const r of new Set(reads[q])) if (lastRead.get(r) === q) release(r);
      for (const v of storedBy(computed[q])) if (!lastRead.has(slot(v))) release(slot(v));
    }
    return stored;
  });

  // Values such a step reads or writes that are not in the arena get a home there: inputs are copied
  // in per call, values from JS steps after their step, and results of arena steps copied out.
  const mirrored = new Set<number>();
  const storedInArena = new Set(computed.flatMap((node, s) => (inWasm[s] ? storedBy(node).map(slot) : [])));
  // Donated inputs and the outputs that reuse their memory: two regions per pair, swapped by parity.
  const donations = pairDonations(program, options.donated ?? [], (v) => storedInArena.has(slot(v)));
  const swapped = new Map<number, readonly [Region, Region]>();
  for (const { input, output } of donations) {
    const aval = program.inputs[input].aval;
    const regions = [reserve(aval), reserve(aval)] as const;
    swapped.set(slot(program.inputs[input]), regions);
    swapped.set(slot(program.outputs[output]), [regions[1], regions[0]]);
  }
  for (const [k, regions] of swapped) home.set(k, regions[0]);
  /** Where slot k's value is in a call of parity p. */
  const homeAt = (k: number, p: 0 | 1): Region => swapped.get(k)?.[p] ?? (home.get(k) as Region);
  const touchesDonated = computed.map((node, s) => [...reads[s], ...storedBy(node).map(slot)].some((k) => swapped.has(k)));
  // A product with an epilogue runs the loop's parity-1 variant in calls of parity 1.
  for (const [s, t] of epilogueOf) touchesDonated[s] ||= touchesDonated[t];
  computed.forEach((node, s) => {
    if (!inWasm[s]) return;
    for (const v of readVars[s]) {
      const k = slot(v);
      if (home.has(k) || storedInArena.has(k)) continue;
      home.set(k, reserve(v.aval));
      mirrored.add(k);
    }
  });
  // Inputs that only products and reductions read in the arena (they take addresses per call, where
  // fused loops have theirs compiled in): one already in this arena's memory is read where it is.
  const readByLoops = new Set(computed.flatMap((node, s) => (inWasm[s] && node.kind === 'fused' ? reads[s] : [])));
  const inPlace = new Set(program.inputs.map(slot).filter((k) => mirrored.has(k) && !readByLoops.has(k)));
  /** Per slot read in place: its address in the current call (its mirror's when it was copied there). */
  const addressOf = new Map([...inPlace].map((k) => [k, { offset: (home.get(k) as Region).offset }]));
  // Results of arena steps that the caller gets back are copied out at the end of the call: the
  // large ones (parameters, optimizer moments) sit together in one block, copied once (one
  // allocation, one memcpy) and handed out as views of that copy; small ones (metrics) get arrays of
  // their own, so keeping a metric does not keep a whole block alive.
  const escapingResults = computed.flatMap((node, s) => (inWasm[s] ? storedBy(node).filter((v) => !home.has(slot(v))) : []));
  const large = (v: IRVar) => sizeOf(v.aval.shape) >= OUTPUT_BLOCK_MIN_ELEMENTS;
  const outputBlockStart = arenaBytes;
  for (const v of escapingResults.filter(large)) home.set(slot(v), reserve(v.aval));
  const outputBlockEnd = arenaBytes;
  for (const v of escapingResults.filter((x) => !large(x))) home.set(slot(v), reserve(v.aval));
  // Float64 products (one thread, one kernel call per product of a batch; B packed where it would
  // be read past its end, `matmulF64Plan`).
  const float64Products = products.map((product) =>
    product?.dtype === 'float64' ? matmulF64Plan(product.m, product.k, product.n, product.offsets.a, product.offsets.b, { ...product, readsPastB: false }) : null,
  );
  // Scratch of single float32 products: for A stored transposed where the product transposes it
  // first (`transposesA`), and for B packed in panels (`packsB`) or stored transposed (`matmulOne`);
  // of float64 products, for A transposed and B packed. Products run one at a time, so all share
  // one region for A and one for B, each of the largest size.
  const single = products.map((product) => (product?.dtype === 'float32' && product.batch === 1 ? product : null));
  const scratchABytes = single.map(
    (product, s) => float64Products[s]?.rowsABytes ?? (product?.transposeA && product.n > 1 && transposesA(product.m, product.k) ? 4 * product.m * product.k : 0),
  );
  const scratchBBytes = single.map((product, s) => {
    const float64 = float64Products[s];
    if (float64) return float64.panelBytes;
    if (!product) return 0;
    const { m, k, n } = product;
    return packsB(m, k, n, product.transposeB) ? packedBytes(k, n) : product.transposeB ? 4 * k * n : 0;
  });
  const sharedScratch = (bytes: readonly number[]) => {
    const largest = Math.max(0, ...bytes);
    const region = largest > 0 ? reserve({ shape: [largest / 4], dtype: 'float32' }) : null;
    return bytes.map((b) => (b > 0 ? region : null));
  };
  const [transposedA, scratchB] = [sharedScratch(scratchABytes), sharedScratch(scratchBBytes)];
  // Batched products run by one kernel call (`matmulBatchF32`), their products shared across threads
  // when the plan is threaded: a parameter block each, with transpose scratch per chunk.
  const blocks = products.map((product) => {
    if (product?.dtype !== 'float32' || product.batch === 1) return null;
    const { m, k, n, offsets, batch } = product;
    const shared = threaded && !host && batch * m * k * n >= THREADED_MATMUL_MIN;
    const layout = matmulBlockLayout(m, k, n, offsets, product, shared ? batchChunks(batch) : 1);
    const at = arenaBytes;
    arenaBytes += layout.bytes;
    return { layout, at };
  });
  // Index arrays of the leaves that fused WebAssembly steps gather (filled once the arena exists),
  // one per pattern (the leaf's shape in the output's): a vmapped update gathers the same few often.
  const indexArrays = new Map<string, { region: Region; leaf: Shape; out: Shape }>();
  const indexArrayOf = (leaf: Shape, out: Shape) => {
    const pattern = `${leaf.join(',')}|${out.join(',')}`;
    let array = indexArrays.get(pattern);
    if (!array) indexArrays.set(pattern, (array = { region: reserve({ shape: out, dtype: 'int32' }), leaf, out }));
    return array.region;
  };
  const gathers = computed.map((node, s) => {
    if (!inWasm[s] || node.kind !== 'fused') return new Map<number, Region>();
    const { leaves } = probes[s] as LaneGroup;
    return new Map(leaves.flatMap((l, k) => (l.kind === 'gather' ? [[k, indexArrayOf(node.leaves[k].aval.shape, node.out.aval.shape)] as const] : [])));
  });
  const indexAt = (s: number) => (k: number) => (gathers[s].get(k) as Region).offset;
  // Generated loops of parity 1 that differ from parity 0 (they touch donated regions) are s<n + s>.
  const loopIndex = (s: number, p: 0 | 1) => (p === 1 && touchesDonated[s] ? computed.length + s : s);
  const functions = computed.flatMap((node, s) =>
    inWasm[s] && node.kind === 'fused'
      ? ([0, 1] as const)
          .filter((p) => p === 0 || touchesDonated[s])
          .map((p) => laneFunction(`s${loopIndex(s, p)}`, laneGroup(node, (v) => homeAt(slot(v), p).offset, indexAt(s)) as LaneGroup) as FunctionDef)
      : [],
  );
  if (host && !host.canHost(arenaBytes)) return null;
  const arena = new WasmArena(arenaBytes, functions, { threaded, host: host ?? undefined });
  const view = (region: Region) => viewOf(region.dtype, arena.buffer, region.offset, region.size);
  program.constants.forEach(({ v, value }) => {
    const k = slot(v);
    const data = view(home.get(k) as Region);
    data.set((value as ArrayTensor).handle as TypedArray);
    env[k] = data;
  });
  const mirrorViews = new Map([...mirrored].map((k) => [k, view(home.get(k) as Region)]));
  for (const { region, leaf, out } of indexArrays.values()) view(region).set(broadcastIndex(out, broadcastStrides(leaf, out)));

  const internalAllocations: Record<string, number> = {};
  let allocationsPerCall = 0;
  const steps: Step[] = computed.map((node, s) => {
    const stored = storedBy(node);
    storages[s].forEach((storage, q) => {
      if (storage.kind !== 'pool') allocationsPerCall++;
      if (node.kind === 'single' && storage.kind === 'kernel' && !escaping.has(slot(stored[q]))) {
        internalAllocations[node.eq.prim] = (internalAllocations[node.eq.prim] ?? 0) + 1;
      }
    });
    const from = reads[s];
    if (inWasm[s]) return wasmStep(node, s, from, 0);
    const step = jsStep(node, s, from, storages[s]);
    const mirrors = stored.flatMap((v) => {
      const mirror = mirrorViews.get(slot(v));
      return mirror ? [{ k: slot(v), mirror }] : [];
    });
    return mirrors.length === 0 ? step : () => {
      step();
      for (const { k, mirror } of mirrors) mirror.set(env[k]);
    };
  });

  // Calls of parity 1 run the parity-0 steps except those that touch donated regions; epilogues run
  // within their products' steps.
  const runByProducts = new Set(epilogueOf.values());
  const runnable = <T>(list: readonly T[]) => list.filter((_, s) => !runByProducts.has(s));
  const stepLabels = runnable(computed.map((_, s) => stepLabel(computed, readVars, kinds, s, into[s] !== null)));
  const stepsOf = [
    runnable(steps),
    runnable(steps.map((step, s) => (inWasm[s] && touchesDonated[s] ? wasmStep(computed[s], s, reads[s], 1) : step))),
  ] as const;

  /**
   * A step run in the arena for calls of parity p (results the caller gets back are copied out at
   * the end of the call, or handed out in place when they reuse a donated input's memory).
   */
  function wasmStep(node: PlanNode, s: number, from: readonly number[], p: 0 | 1): Step {
    for (const v of storedBy(node)) if (!swapped.has(slot(v))) env[slot(v)] = view(home.get(slot(v)) as Region);
    if (node.kind === 'fused') {
      const bytes = laneBytes({ dtype: node.out.aval.dtype as LaneDType, size: sizeOf(node.out.aval.shape) });
      const index = loopIndex(s, p);
      return arena.loop(index, bytes, sharedLoop(s));
    }
    const [px, py] = from.map((r) => homeAt(r, p).offset);
    const [ax, ay] = [addressOf.get(from[0]), addressOf.get(from[1])];
    const out = homeAt(slot(node.out), p).offset;
    if (node.eq.prim === 'threefry') {
      // One key per row of counters (`threefryHashInto`).
      const rows = sizeOf(node.eq.inputs[0].aval.shape) / 2;
      const n = rows === 0 ? 0 : sizeOf(node.eq.inputs[1].aval.shape) / rows;
      const hash = arena.kernels.threefry;
      return () => {
        const [key, counts] = [ax?.offset ?? px, ay?.offset ?? py];
        for (let r = 0; r < rows; r++) hash(key + 8 * r, counts + 4 * n * r, out + 4 * n * r, n);
      };
    }
    if (node.eq.prim === 'uniformFromBits') {
      const n = sizeOf(node.out.aval.shape);
      const { unitFloat32 } = arena.kernels;
      return () => unitFloat32(ax?.offset ?? px, out, n);
    }
    const gather = alongAxis[s];
    if (gather) {
      const { outer, n, count, inner, indexPerRow } = gather;
      const idxStep = indexPerRow ? 0 : 4;
      const { gather32 } = arena.kernels;
      // On an index out of range, the JS kernel over the same values throws its error (op, index, shape).
      const explain = intoKernel(node.eq, folded) as IntoKernel;
      const scratch = allocate(node.out.aval.dtype, sizeOf(node.out.aval.shape));
      return () => {
        if (gather32(ax?.offset ?? px, ay?.offset ?? py, out, outer, n, count, inner, idxStep)) explain([env[from[0]], env[from[1]]], scratch);
      };
    }
    const matrices = transposes[s];
    if (matrices) {
      const { batch, rows, cols } = matrices;
      const element = bytesOf(node.out.aval.dtype);
      const bytes = element * rows * cols;
      const transpose = element === 8 ? arena.kernels.transposeF64 : arena.transpose;
      const { copyBytes } = arena.kernels;
      return () => {
        const x = ax?.offset ?? px;
        if (rows === 1 || cols === 1) copyBytes(out, x, batch * bytes);
        else for (let b = 0; b < batch; b++) transpose(x + b * bytes, rows, cols, out + b * bytes);
      };
    }
    const moves = movements[s];
    if (moves) {
      const outBytes = sizeOf(node.out.aval.shape) * bytesOf(node.out.aval.dtype);
      const sources = from.map((r) => ({ at: homeAt(r, p).offset, inPlace: addressOf.get(r) }));
      const { copyRows, zeroBytes } = arena.kernels;
      return () => {
        if (moves.zero) zeroBytes(out, outBytes);
        for (const c of moves.copies) {
          const source = sources[c.input];
          copyRows(out + c.dst, c.dstStride, (source.inPlace?.offset ?? source.at) + c.src, c.srcStride, c.rowBytes, c.rows);
        }
      };
    }
    if (WASM_REDUCTIONS.has(node.eq.prim)) {
      const x = node.eq.inputs[0];
      const { outer, reduced, inner } = reductionLayout(x.aval.shape, reducedAxes(node.eq)) as NonNullable<ReturnType<typeof reductionLayout>>;
      const kind = WASM_REDUCTIONS.get(node.eq.prim) as NonNullable<ReturnType<typeof WASM_REDUCTIONS.get>>;
      const float64 = x.aval.dtype === 'float64';
      if (kind === 'sum' && sumsInLanes({ reduced, inner })) {
        const sumLanes = arena.kernels[float64 ? 'sumLanesF64' : 'sumLanesF32'];
        return () => sumLanes(ax?.offset ?? px, outer, reduced, out);
      }
      if (rowSum(s)) {
        // Over rows (a bias's gradient): shared out by columns when large.
        const { sumColumns } = arena;
        return () => sumColumns(float64, ax?.offset ?? px, reduced, inner, out);
      }
      const reduce = arena.kernels[`${kind}${float64 ? 'F64' : 'F32'}` as const];
      return () => reduce(ax?.offset ?? px, outer, reduced, inner, out, inner);
    }
    const float64 = float64Products[s];
    if (float64) {
      const at = { a: px, b: py, c: out, panels: scratchB[s]?.offset ?? 0, rowsA: transposedA[s]?.offset ?? 0 };
      const { kernels } = arena;
      return () => {
        if (ax) at.a = ax.offset;
        if (ay) at.b = ay.offset;
        float64.run(kernels, at);
      };
    }
    const sizes = products[s] as NonNullable<(typeof products)[number]>;
    const block = blocks[s];
    if (block) {
      // One block for both parities: each call sets its operands and result.
      const words = block.layout.write(arena.buffer, block.at, { a: px, b: py, c: out });
      const { batch, work } = block.layout;
      return () => {
        words[MatmulBlock.a] = ax ? ax.offset : px;
        words[MatmulBlock.b] = ay ? ay.offset : py;
        words[MatmulBlock.c] = out;
        arena.matmulBlock(block.at, batch, work);
      };
    }
    const at = { a: px, b: py, c: out, transposedA: transposedA[s]?.offset ?? null, scratchB: scratchB[s]?.offset ?? null };
    const t = epilogueOf.get(s);
    const loopBytes = t === undefined ? 0 : laneBytes({ dtype: 'float32', size: sizeOf(computed[t].out.aval.shape) });
    const product = t === undefined ? arena.matmulF32 : arena.matmulThenLoop(loopIndex(t, p), loopBytes);
    if (!ax && !ay) return () => arena.matmulOne(at, sizes, product);
    return () => {
      if (ax) at.a = ax.offset;
      if (ay) at.b = ay.offset;
      arena.matmulOne(at, sizes, product);
    };
  }

  /** A step run in JS, into its planned buffers (arena views) or fresh arrays. */
  function jsStep(node: PlanNode, s: number, from: readonly number[], stored: readonly Storage[]): Step {
    const targets = storedBy(node).map((v, q) => {
      const k = slot(v);
      const storage = stored[q];
      const buffer = storage.kind === 'pool' ? view(storage.region) : null;
      return (): TypedArray => {
        const data = buffer ?? allocate(v.aval.dtype, sizeOf(v.aval.shape));
        env[k] = data;
        return data;
      };
    });
    const target = targets[targets.length - 1];
    const out = node.out.aval;
    if (node.kind === 'fused') {
      const loop = fusedLoop(node);
      const extra = targets.slice(0, -1);
      // The leaves' arrays, then the extra outputs'.
      const inputs: TypedArray[] = new Array(from.length + extra.length);
      return () => {
        for (let i = 0; i < from.length; i++) inputs[i] = env[from[i]];
        for (let q = 0; q < extra.length; q++) inputs[from.length + q] = extra[q]();
        loop(target(), inputs);
      };
    }
    const k = slot(node.out);
    const { eq } = node;
    const run = into[s];
    if (run) {
      const inputs: TypedArray[] = from.map((r) => env[r]);
      return () => {
        for (let i = 0; i < from.length; i++) inputs[i] = env[from[i]];
        run(inputs, target());
      };
    }
    const kernel = cpuKernels[eq.prim] as (inputs: readonly CpuInput[], params: Params<Primitive>, out: Aval) => TypedArray;
    const inputs = eq.inputs.map((v) => ({ values: env[slot(v)], aval: v.aval, shape: v.aval.shape }));
    return () => {
      for (let i = 0; i < from.length; i++) inputs[i].values = env[from[i]];
      env[k] = kernel(inputs, eq.params, out);
    };
  }

  // Escaping values computed by arena steps: those in the output block, and those copied one by one.
  const blockOutputs: { k: number; region: Region }[] = [];
  const ownOutputs: { k: number; region: Region }[] = [];
  for (const v of escapingResults) {
    const k = slot(v);
    const region = home.get(k) as Region;
    (region.offset < outputBlockEnd ? blockOutputs : ownOutputs).push({ k, region });
  }
  // Those results are handed out as copies, so at the start of a call the JS steps that read them are
  // pointed back at the arena, where this call writes them.
  const arenaResults = [...blockOutputs, ...ownOutputs].map(({ k, region }) => ({ k, data: view(region) }));
  // The small results' views, made once (a plan's memory grows only when shared, which keeps views valid).
  const ownResults = arenaResults.slice(blockOutputs.length);
  const inputSlots = program.inputs.map(slot);
  const inputMirrors = inputSlots.map((k) => mirrorViews.get(k) ?? null);
  // Their offsets, read once (a typed array's `byteOffset` is a call each time).
  const mirrorOffsets = inputMirrors.map((mirror) => mirror?.byteOffset ?? 0);
  const outputs = program.outputs.map((v) => ({ k: slot(v), shape: v.aval.shape, dtype: v.aval.dtype as DType }));
  const constantSlots = new Set(program.constants.map(({ v }) => slot(v)));
  /** Per output: whether the call copies it out of the arena (a fresh array every call). */
  const copiedSlots = new Set(arenaResults.map(({ k }) => k));
  const copiedOut = outputs.map(({ k }) => copiedSlots.has(k));
  const donated = new DonatedRegions(
    donations,
    donations.map(({ input }) => {
      const [r0, r1] = swapped.get(slot(program.inputs[input])) as readonly [Region, Region];
      return [view(r0), view(r1)] as const;
    }),
  );
  const pairOfInput = new Int32Array(inputSlots.length).fill(-1);
  const pairOfOutput = new Int32Array(outputs.length).fill(-1);
  donations.forEach(({ input, output }, j) => {
    pairOfInput[input] = j;
    pairOfOutput[output] = j;
  });
  const donatedOutputSlots = donations.map(({ output }) => outputs[output].k);
  const arenaBuffer = arena.buffer;
  // Inputs from a shared memory are copied in by `memory.copy` when it is this arena's memory.
  const { owner } = arena;
  const copyBytes = arena.kernels.copyBytes;
  const mirroredInputs = inputMirrors.flatMap((mirror, i) => (mirror ? [i] : []));
  const inputAddresses = inputSlots.map((k) => addressOf.get(k) ?? null);
  const guests = new WeakMap<WasmArena, CpuPlan | null>();
  let guestPlans = 0;
  // Mirrored inputs large enough to count in the choice of a guest (their sizes are the program's).
  const guestCandidates = mirroredInputs.filter((i) => sizeOf(program.inputs[i].aval.shape) * bytesOf(program.inputs[i].aval.dtype) >= GUEST_INPUT_MIN_BYTES);
  /** The guest to run in when the bulk of `arrays` (the candidates' storage) is in another threaded arena's memory. */
  const chooseGuest = (arrays: readonly TypedArray[]): CpuPlan | null => {
    let guestHost: WasmArena | undefined;
    let hosted = 0;
    let elsewhere = 0;
    for (const data of arrays) {
      const holder = arenaHolding(data.buffer);
      if (holder && (guestHost ?? holder) === holder) {
        guestHost = holder;
        hosted += data.byteLength;
      } else elsewhere += data.byteLength;
    }
    if (!guestHost || hosted < GUEST_MIN_BYTES || hosted <= elsewhere) return null;
    let guest = guests.get(guestHost);
    if (guest === undefined) {
      guest = compilePlan(program, { ...options, name: `${options.name ?? 'plan'} (guest)` }, guestHost);
      guests.set(guestHost, guest);
      if (guest) guestPlans++;
    }
    return guest;
  };
  // The choice depends only on which arrays the candidates are (an array's buffer and length never
  // change), so a guest is kept for the next call with the same ones: an actor's parameters between
  // updates (looking up each array's arena every call cost an action 0.4-1.2 us, paired). Arrays
  // that chose no guest are not kept (nor kept alive).
  let guestArrays: TypedArray[] = [];
  let lastGuest: CpuPlan | null = null;
  /** The guest to run this call in, when its largest inputs are in another threaded arena's memory. */
  const guestFor = (inputs: readonly ArrayTensor[]): CpuPlan | null => {
    let same = guestArrays.length === guestCandidates.length;
    for (let q = 0; same && q < guestCandidates.length; q++) same = inputs[guestCandidates[q]].handle === guestArrays[q];
    if (same) return lastGuest;
    const arrays = guestCandidates.map((i) => inputs[i].handle as TypedArray);
    lastGuest = chooseGuest(arrays);
    guestArrays = lastGuest ? arrays : [];
    return lastGuest;
  };
  const mayGuest = !host && !threaded && guestCandidates.length > 0;
  // Per input, the array the last call read in place (its address is still set): the same array
  // again needs no look at its buffer and offset (an actor's parameters between updates; each look
  // costs tens of nanoseconds, a typed array's accessors not being inlined).
  const readInPlace: (TypedArray | null)[] = inputSlots.map(() => null);
  const stats: PlanStats = {
    steps: stepsOf[0].length,
    productEpilogues: epilogueOf.size,
    threaded,
    fusedGroups: computed.filter((node) => node.kind === 'fused').length,
    fusedEquations: computed.reduce((n, node) => n + (node.kind === 'fused' ? node.members.length : 0), 0),
    wasmSteps: inWasm.filter((w, s) => w && !runByProducts.has(s)).length,
    pooledBuffers,
    pooledBytes,
    gatherIndexArrays: indexArrays.size,
    overwrittenLeaves,
    allocationsPerCall: allocationsPerCall - donations.length,
    internalAllocations,
    donatedInPlace: donations.length,
    get guestPlans() {
      return guestPlans;
    },
  };
  const inputSlotSet = new Set(inputSlots);
  const plan: CpuPlan = {
    stats,
    sharingOutputs: outputs.flatMap(({ k }, o) => (inputSlotSet.has(k) ? [o] : [])),
    run(inputs) {
      const guest = mayGuest ? guestFor(inputs) : null;
      if (guest) return guest.run(inputs);
      const timed = recordingFor(plan, options.name ?? 'plan', stepLabels);
      const start = timed ? performance.now() : 0;
      const p = donations.length > 0 ? donated.begin(inputs) : 0;
      for (const { k, data } of arenaResults) env[k] = data;
      for (let i = 0; i < inputSlots.length; i++) {
        const j = pairOfInput[i];
        if (j >= 0) {
          env[inputSlots[i]] = donated.input(p, j);
          continue;
        }
        let data = inputs[i].handle as TypedArray;
        if (data === readInPlace[i]) {
          env[inputSlots[i]] = data;
          continue;
        }
        readInPlace[i] = null;
        // A tensor this plan handed out views its memory, which this call may overwrite.
        if (!inputMirrors[i] && data.buffer === arenaBuffer) data = data.slice();
        env[inputSlots[i]] = data;
        const mirror = inputMirrors[i];
        if (!mirror) continue;
        const address = inputAddresses[i];
        if (owner && arenaHolding(data.buffer) === owner) {
          // Read in place: no step of this call writes where it is (a donated output this plan
          // handed out over a region the call writes has been moved to a copy by `donated.begin`).
          if (address) {
            address.offset = data.byteOffset;
            readInPlace[i] = data;
            continue;
          }
          copyBytes(mirrorOffsets[i], data.byteOffset, data.byteLength);
        } else mirror.set(data);
        if (address) address.offset = mirrorOffsets[i];
      }
      for (let j = 0; j < donatedOutputSlots.length; j++) env[donatedOutputSlots[j]] = donated.output(p, j);
      const run = stepsOf[p];
      if (timed) runTimed(run, timed);
      else for (let s = 0; s < run.length; s++) run[s]();
      if (blockOutputs.length > 0) {
        // A plain ArrayBuffer even when the arena is shared (threads); `slice` copies into memory it
        // need not zero first (twice as fast as a new ArrayBuffer and a `set` at 3 MB).
        const block = new Uint8Array(arena.buffer, outputBlockStart, outputBlockEnd - outputBlockStart).slice().buffer;
        for (const { k, region } of blockOutputs) env[k] = viewOf(region.dtype, block, region.offset - outputBlockStart, region.size);
      }
      for (const { k, data } of ownResults) env[k] = data.slice();
      const results = outputs.map(({ k, shape, dtype }, o) => {
        const j = pairOfOutput[o];
        if (j >= 0) return donated.handOut(p, j, shape, dtype);
        // An input passed through whose memory is the arena's gets a copy (constants are never
        // overwritten). Results copied out above are fresh: their buffers are not read (a small
        // array's first `buffer` read moves it off V8's heap, ~0.3 us).
        const data = !copiedOut[o] && env[k].buffer === arenaBuffer && !constantSlots.has(k) ? env[k].slice() : env[k];
        return new ArrayTensor(cpu, data, shape, dtype);
      });
      if (timed) {
        timed.calls++;
        timed.callMs += performance.now() - start;
      }
      return results;
    },
  };
  return plan;
}
