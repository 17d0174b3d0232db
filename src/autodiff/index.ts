/** The autodiff layer: pytrees, reverse and forward mode, custom rules and staging to an IR. */
export * from './pytree';
export { grad, type GradOptions, valueAndGrad } from './grad';
export { hessian, jacfwd, type JacobianOptions, jacrev } from './jacobian';
export { jvp, JvpInterpreter, JvpTracer } from './jvp';
export { TransformError, vjp, VjpInterpreter, VjpTracer } from './vjp';
export { customVjp, type CustomVjpRule } from './custom-vjp';
export { ConcretizationError, type Equation, evalIR, type IRProgram, type IRVar, makeIR } from './ir';
export { vjpRules, type VjpRule } from './rules/vjp';
export { jvpRules, type JvpRule } from './rules/jvp';
export {
  type CpuProfile,
  DEFAULT_JIT_CACHE_SIZE,
  jit,
  type JitOptions,
  type JitStats,
  jitStats,
  type OptimizeStats,
  type PlanProfile,
  type PlanStats,
  profileCpu,
  type StepTime,
} from './jit';
export { type AxesPrefix, type AxisSpec, BatchInterpreter, BatchTracer, vmap, type VmapOptions } from './vmap';
export { batchRules, type BatchRule } from './rules/batch';
export { cond, foriLoop, scan, type ScanOptions, switchCase, type Traced, whileLoop } from './control';
