/**
 * Merged kernels (heterogeneous horizontal fusion): independent kernels of any kind run as one
 * dispatch. Each member's WGSL module keeps its code with its module-scope names prefixed (`m3_`),
 * its bindings renumbered after the members before it, its params read at its own offset of the
 * shared params window, and its entry point turned into a function; the merged entry point gives
 * each member a range of the dispatch's workgroups and calls it with the builtins it would have had
 * alone (its workgroup id within its own grid, its grid, its local ids). All members run the same
 * number of invocations per workgroup, so every workgroup runs one member whole and the barriers
 * inside a member stay in uniform control flow.
 *
 * The WGSL is mixrl's own (`shaders/*.ts`), so the rewriting here is textual on the forms those
 * generators emit; `memberShape` returns `undefined` for a module it does not understand, and such
 * a kernel then runs alone.
 */
import { PRELUDE } from './common';

/** One member of a merged kernel: its module and where its workgroups, params and bindings go. */
export interface MergeMember {
  /** The member's own WGSL module (a `@compute` entry point named `main`). */
  readonly source: string;
  /** Its workgroup grid as it would be dispatched alone. */
  readonly groups: readonly [number, number, number];
  /** Its `@workgroup_size` (`memberShape`): its local ids come from the merged kernel's flat one. */
  readonly size: readonly [number, number, number];
  /** Where its params start in the merged params (in words). */
  readonly paramsAt: number;
  /** The merged binding of its binding 1 (its binding k goes to `bindingsAt + k - 1`). */
  readonly bindingsAt: number;
}

/** What merging needs to know of a member's module. */
export interface MemberShape {
  /** `@workgroup_size`, three dimensions. */
  readonly size: readonly [number, number, number];
  /** Bytes of workgroup memory it declares. */
  readonly workgroupBytes: number;
}

/** The builtins a member's entry point may take (`builtinArgument` gives each from the merged kernel's). */
const BUILTINS = new Set(['workgroup_id', 'num_workgroups', 'local_invocation_index', 'local_invocation_id', 'global_invocation_id']);

const PARAMS_DECLARATION = /@group\(0\)\s*@binding\(0\)\s*var<storage,\s*read>\s*params\s*:\s*array<u32>\s*;/;

/** The source without comments (WGSL's `//` and `/* *\/`), so that scanning by braces and names sees only code. */
const withoutComments = (source: string) => source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');

/**
 * The workgroup size and workgroup memory of a member's module, or `undefined` where it is not a
 * form merging understands (no `main` entry point with literal sizes, a builtin it cannot give,
 * workgroup memory of a type it cannot size, a directive such as `enable`).
 *
 * @example
 * memberShape(reduceSource); // { size: [256, 1, 1], workgroupBytes: 1024 }
 */
export function memberShape(source: string): MemberShape | undefined {
  const code = withoutComments(source);
  if (/^\s*(enable|requires|diagnostic)\b/m.test(code) || !PARAMS_DECLARATION.test(code)) return undefined;
  const entry = entryPoint(code);
  if (!entry) return undefined;
  const dims = entry.size.split(',').map((d) => d.trim()).filter((d) => d);
  if (dims.length < 1 || dims.length > 3 || !dims.every((d) => /^\d+u?$/.test(d))) return undefined;
  const size = [1, 1, 1].map((one, k) => (k < dims.length ? parseInt(dims[k], 10) : one)) as [number, number, number];
  if (!entry.parameters.every((p) => BUILTINS.has(p.builtin))) return undefined;
  const aliases = new Map([...code.matchAll(/\balias\s+(\w+)\s*=\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()]));
  let workgroupBytes = 0;
  for (const [, type] of code.matchAll(/var<workgroup>\s*\w+\s*:\s*([^;]+);/g)) {
    const bytes = typeBytes(type.trim(), aliases);
    if (bytes === undefined) return undefined;
    workgroupBytes += bytes;
  }
  return { size, workgroupBytes };
}

/** Bytes of a WGSL type of workgroup memory: scalars, vectors, fixed arrays of those (aliases resolved). */
function typeBytes(type: string, aliases: ReadonlyMap<string, string>): number | undefined {
  const resolved = aliases.get(type) ?? type;
  if (/^(f32|i32|u32)$/.test(resolved)) return 4;
  const vector = /^vec([234])(?:<(\w+)>|([fiu]))$/.exec(resolved);
  if (vector) {
    const scalar = vector[2] ? typeBytes(vector[2], aliases) : 4;
    return scalar === undefined ? undefined : (vector[1] === '2' ? 2 : 4) * scalar;
  }
  const array = /^array<\s*(.+?)\s*,\s*(\d+)u?\s*>$/.exec(resolved);
  if (array) {
    const element = typeBytes(array[1], aliases);
    return element === undefined ? undefined : element * parseInt(array[2], 10);
  }
  return undefined;
}

interface EntryPoint {
  /** Where the `@compute` attribute starts and where the parameter list's `)` ends. */
  readonly start: number;
  readonly end: number;
  /** The text inside `@workgroup_size(...)`. */
  readonly size: string;
  readonly parameters: readonly { readonly builtin: string; readonly name: string; readonly type: string }[];
}

/** The `@compute @workgroup_size(...) fn main(...)` header of a module (comments removed). */
function entryPoint(code: string): EntryPoint | undefined {
  const header = /@compute\s*@workgroup_size\(([^)]*)\)\s*fn\s+main\s*\(/.exec(code);
  if (!header) return undefined;
  const open = header.index + header[0].length;
  let depth = 1;
  let close = open;
  for (; close < code.length && depth > 0; close++) {
    if (code[close] === '(') depth++;
    else if (code[close] === ')') depth--;
  }
  if (depth !== 0) return undefined;
  const list = code.slice(open, close - 1);
  const parameters = [];
  for (const part of list.split(/,(?![^(]*\))/).map((p) => p.trim()).filter((p) => p)) {
    const parameter = /^@builtin\((\w+)\)\s*(\w+)\s*:\s*(\w+)$/.exec(part);
    if (!parameter) return undefined;
    parameters.push({ builtin: parameter[1], name: parameter[2], type: parameter[3] });
  }
  return { start: header.index, end: close, size: header[1], parameters };
}

/** The names a module declares at its top level (outside every brace). */
function topLevelNames(code: string): Set<string> {
  let depth = 0;
  let top = '';
  for (const ch of code) {
    if (ch === '{') depth++;
    if (depth === 0) top += ch;
    if (ch === '}') depth--;
  }
  const names = new Set<string>();
  for (const m of top.matchAll(/\b(?:fn|const|alias|struct|override)\s+(\w+)/g)) names.add(m[1]);
  for (const m of top.matchAll(/\bvar(?:<[^>]*>)?\s+(\w+)/g)) names.add(m[1]);
  names.delete('params');
  return names;
}

/** Member j's module as functions of the merged module: names prefixed, bindings and params moved, `main` a plain function. */
function memberModule(member: MergeMember, j: number): { code: string; parameters: EntryPoint['parameters'] } {
  let code = withoutComments(member.source).replace(PARAMS_DECLARATION, '');
  const entry = entryPoint(code) as EntryPoint;
  // The entry point's attributes and builtins go; its parameters stay, as a function's.
  const parameters = entry.parameters.map((p) => `${p.name}: ${p.type}`).join(', ');
  code = `${code.slice(0, entry.start)}fn main(${parameters})${code.slice(entry.end)}`;
  const names = topLevelNames(code);
  const prefix = `m${j}_`;
  code = code.replace(/(?<![.\w])([A-Za-z_]\w*)\b/g, (name) => (names.has(name) ? prefix + name : name));
  code = code.replace(/@binding\((\d+)\)/g, (_, k: string) => `@binding(${member.bindingsAt + Number(k) - 1})`);
  code = code.replace(/\bparams\[/g, `params[${member.paramsAt}u + `);
  return { code, parameters: entry.parameters };
}

/** The argument giving builtin `builtin` to a member of workgroup size `size` and grid `groups`, whose workgroup within its grid is `q`. */
function builtinArgument(builtin: string, size: readonly number[], groups: readonly number[]): string {
  const [gx, gy] = groups;
  const [sx, sy, sz] = size;
  const workgroup = `vec3u(q % ${gx}u, (q / ${gx}u) % ${gy}u, q / ${gx * gy}u)`;
  const local = `vec3u(lidx % ${sx}u, (lidx / ${sx}u) % ${sy}u, lidx / ${sx * sy}u)`;
  switch (builtin) {
    case 'workgroup_id':
      return workgroup;
    case 'num_workgroups':
      return `vec3u(${groups.map((g) => `${g}u`).join(', ')})`;
    case 'local_invocation_index':
      return 'lidx';
    case 'local_invocation_id':
      return local;
    case 'global_invocation_id':
      return `${workgroup} * vec3u(${sx}u, ${sy}u, ${sz}u) + ${local}`;
    default:
      throw new Error(`mergedWgsl: a member takes the builtin '${builtin}', which a merged kernel cannot give`);
  }
}

/** Workgroups of a grid. */
export const groupCount = (groups: readonly number[]) => groups[0] * groups[1] * groups[2];

/**
 * The grid of a merged dispatch of `total` workgroups: x up to `maxPerDimension`, y as many rows
 * as that takes (the merged entry point skips the workgroups past `total`).
 */
export function mergedGrid(total: number, maxPerDimension: number): [number, number, number] {
  const x = Math.min(total, maxPerDimension);
  return [x, x === 0 ? 0 : Math.ceil(total / x), 1];
}

/**
 * The WGSL of one kernel running `members` (each of as many invocations per workgroup as `size`
 * holds): workgroups
 * `0 .. g0 - 1` of the dispatch run member 0 (g0: its grid's workgroups), the next g1 member 1, and
 * so on, in a grid of `mergedGrid`'s shape.
 *
 * @example
 * mergedWgsl([{ source: a, groups: [4, 1, 1], size: [256, 1, 1], paramsAt: 0, bindingsAt: 1 }, { source: b, groups: [1, 1, 1], size: [16, 16, 1], paramsAt: 5, bindingsAt: 3 }], [256, 1, 1]);
 */
export function mergedWgsl(members: readonly MergeMember[], size: readonly [number, number, number]): string {
  const modules = members.map(memberModule);
  let start = 0;
  const branches = members.map((member, j) => {
    const count = groupCount(member.groups);
    const args = modules[j].parameters.map((p) => builtinArgument(p.builtin, member.size, member.groups)).join(', ');
    const branch = `  if (r < ${start + count}u) {
    let q = r - ${start}u;
    m${j}_main(${args});
    return;
  }`;
    start += count;
    return branch;
  });
  return `${PRELUDE}
${modules.map((m) => m.code).join('\n')}
@compute @workgroup_size(${size.join(', ')})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32) {
  let r = wid.y * nwg.x + wid.x;
${branches.join('\n')}
}
`;
}
