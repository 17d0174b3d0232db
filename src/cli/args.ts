/**
 * Command-line flags to config layers. `--actor-lr 3e-4` sets `actorLr`; lists are comma-separated
 * (`--hidden 64,64`); booleans take `true`/`false` or no value. Unknown flags are errors naming them.
 */
import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { ConfigError, type FlagKind, kebab } from '../experiments/config';

export interface ParsedArgs {
  /** Flag values by camelCase name, as strings (or true for a bare flag). */
  readonly flags: Record<string, string | true>;
  readonly positionals: string[];
}

const camel = (kebab: string) => kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());


/** A decimal number with an optional fraction and exponent: no hex, binary, Infinity or empty strings. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * The number a flag's text writes in decimal, or undefined (`Number` would also take '0x10' or '').
 *
 * @example
 * parseDecimal('3e-4'); // 0.0003
 * parseDecimal('0x10'); // undefined
 */
export function parseDecimal(text: string): number | undefined {
  const trimmed = text.trim();
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * Splits argv into `--flag value` pairs and positionals.
 *
 * @example
 * parseArgs(['--env', 'MountainCar', '--steps=1000']); // flags { env: 'MountainCar', steps: '1000' }
 */
export function parseArgs(argv: readonly string[]): Either<ConfigError, ParsedArgs> {
  // No prototype: flags such as --constructor are names like any other.
  const flags: Record<string, string | true> = Object.create(null);
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = camel(arg.slice(2, eq < 0 ? undefined : eq));
    if (!name) return left(new ConfigError(`flag '${arg}' has no name`));
    if (Object.hasOwn(flags, name)) return left(new ConfigError(`flag --${arg.slice(2)} is given twice`));
    if (eq >= 0) flags[name] = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[name] = argv[++i];
    else flags[name] = true;
  }
  return right({ flags, positionals });
}

/**
 * Converts flag strings to typed values for the keys in `kinds`; other flags are errors listing the
 * accepted ones, those the command reads itself (`handled`, kebab-case) included.
 */
export function typedFlags(
  flags: Record<string, string | true>,
  kinds: Record<string, FlagKind>,
  aliases: Record<string, string> = {},
  handled: readonly string[] = [],
): Either<ConfigError, Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [rawName, value] of Object.entries(flags)) {
    const name = Object.hasOwn(aliases, rawName) ? aliases[rawName] : rawName;
    if (!Object.hasOwn(kinds, name)) {
      const known = [...Object.keys(kinds), ...Object.keys(aliases)].map((k) => `--${kebab(k)}`).concat(handled.map((k) => `--${k}`));
      return left(new ConfigError(`unknown flag --${kebab(rawName)}; known flags: ${known.join(' ')}`));
    }
    const kind = kinds[name];
    const bad = (what: string) => left(new ConfigError(`flag --${kebab(rawName)} must be ${what}, got '${value}'`));
    if (kind === 'boolean') {
      if (value === true || value === 'true') out[name] = true;
      else if (value === 'false') out[name] = false;
      else return bad('true or false');
      continue;
    }
    // A bare flag (`--steps` at the end, or before another flag): the user typed no value, so none is quoted back.
    if (value === true) return left(new ConfigError(`flag --${kebab(rawName)} needs a value`));
    if (kind === 'string' || (kind === 'numberOrAuto' && value === 'auto')) out[name] = value;
    else if (kind === 'intList') {
      const list = value.split(',').map(parseDecimal);
      if (list.some((v) => v === undefined || !Number.isSafeInteger(v))) return bad('a comma-separated list of integers');
      out[name] = list;
    } else {
      const n = parseDecimal(value);
      if (n === undefined || !Number.isFinite(n) || (kind === 'int' && !Number.isSafeInteger(n))) {
        return bad(kind === 'int' ? 'an integer' : kind === 'numberOrAuto' ? 'a decimal number or auto' : 'a decimal number');
      }
      out[name] = n;
    }
  }
  return right(out);
}
