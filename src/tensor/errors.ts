/**
 * The error classes of mixrl. Every error a user can cause names what was wrong and where: the op
 * and the shapes inside the numeric core, the config key or file at the boundaries.
 */

/** Base class of every error mixrl throws on purpose; `code` is stable for programs to match on. */
export class MixrlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit an op: names the op, the shapes and, where relevant, the axis. */
export class ShapeError extends MixrlError {
  constructor(message: string) {
    super('shape', message);
  }
}

/** Dtypes that do not fit an op. */
export class DTypeError extends MixrlError {
  constructor(message: string) {
    super('dtype', message);
  }
}

/** A bad argument: an axis out of range, a negative size, a non-integer where an integer is needed. */
export class ArgumentError extends MixrlError {
  constructor(message: string) {
    super('argument', message);
  }
}

/** Tensors from two backends met in one op, or a backend was asked for something it cannot do. */
export class BackendError extends MixrlError {
  constructor(message: string) {
    super('backend', message);
  }
}
