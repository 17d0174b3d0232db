/**
 * JSON files the CLI reads (config files): a syntax error names its line, column and byte, a UTF-8
 * byte order mark is skipped, and a key given twice in one object is an error (`JSON.parse` would
 * keep the last silently). `JSON.parse` builds the value once a scan has found the text well formed:
 * its own messages give a character position at best.
 */
import { type Either, left, right } from 'fp-ts/lib/Either.js';
import { ConfigError } from '../experiments/config';

/** The first problem of a JSON text: where (a character index) and what. */
interface Problem {
  readonly index: number;
  readonly reason: string;
}

class Stop {
  constructor(readonly problem: Problem) {}
}

const NUMBER = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

/** Scans `text` as one JSON value; returns its first syntax error or repeated key, if any. */
function findProblem(text: string): Problem | undefined {
  let i = 0;
  const fail = (reason: string, at = i): never => {
    throw new Stop({ index: at, reason });
  };
  const found = () => (i < text.length ? `'${text[i]}'` : 'the end of the file');
  const expect = (what: string) => fail(`expected ${what}, found ${found()}`);
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const string = (): string => {
    const start = i++;
    for (;;) {
      if (i >= text.length) fail('a string is not closed', start);
      const c = text[i];
      if (c === '"') return JSON.parse(text.slice(start, ++i)) as string;
      if (c === '\\') {
        if (text[i + 1] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (text[i + 1] !== undefined && '"\\/bfnrt'.includes(text[i + 1])) i += 2;
        else fail('bad escape in a string');
      } else if (c < ' ') fail('a control character in a string (write it escaped)');
      else i++;
    }
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') return void i++;
      const keys = new Set<string>();
      for (;;) {
        space();
        if (text[i] !== '"') expect('a key in double quotes');
        const at = i;
        const key = string();
        if (keys.has(key)) fail(`key '${key}' is given twice`, at);
        keys.add(key);
        space();
        if (text[i] !== ':') expect("':'");
        i++;
        value();
        space();
        if (text[i] === '}') return void i++;
        if (text[i] !== ',') expect("',' or '}'");
        i++;
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        space();
        if (text[i] === ']') return void i++;
        if (text[i] !== ',') expect("',' or ']'");
        i++;
      }
    }
    if (c === '"') return void string();
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) return void (i = NUMBER.lastIndex);
    const literal = ['true', 'false', 'null'].find((word) => text.startsWith(word, i));
    if (literal) return void (i += literal.length);
    expect('a value');
  };
  try {
    value();
    space();
    if (i < text.length) fail('unexpected text after the JSON value');
    return undefined;
  } catch (e) {
    if (e instanceof Stop) return e.problem;
    if (e instanceof RangeError) return { index: i, reason: 'nested too deeply' }; // the call stack ran out
    throw e;
  }
}

/**
 * Parses the text of the JSON file `file`; errors name the file, and for a syntax error its line,
 * column (1-based, in characters) and byte offset (0-based).
 *
 * @example
 * parseJsonText('{"steps": 10,', 'c.json'); // Left: "c.json: malformed JSON at line 1, column 14 (byte 13): expected a key in double quotes, found the end of the file"
 * parseJsonText('\uFEFF{"steps": 10}', 'c.json'); // Right({ steps: 10 })
 */
export function parseJsonText(text: string, file: string): Either<ConfigError, unknown> {
  const bom = text.startsWith('\uFEFF');
  const body = bom ? text.slice(1) : text;
  const problem = findProblem(body);
  if (!problem) return right(JSON.parse(body));
  const before = body.slice(0, problem.index);
  const line = before.split('\n').length;
  const column = problem.index - before.lastIndexOf('\n');
  const byte = Buffer.byteLength(before) + (bom ? 3 : 0);
  return left(new ConfigError(`${file}: malformed JSON at line ${line}, column ${column} (byte ${byte}): ${problem.reason}`));
}
