/** What the environment suites share. */
import { expect } from 'vitest';
import { EnvError } from '../../src/envs';

/** Runs `fn` and returns the EnvError it throws (failing the test when it does not throw one). */
export function thrown(fn: () => unknown): EnvError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EnvError);
    return e as EnvError;
  }
  throw new Error('expected an EnvError');
}
