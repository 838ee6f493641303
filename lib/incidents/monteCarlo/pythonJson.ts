/**
 * JSON read the way Python's `json.loads` reads it, because Monte Carlo signs what that returns (README.md):
 * object keys keep document order (JavaScript objects move integer-like keys first), a duplicate key keeps its
 * first position and its last value, `1` stays an int while `1.0` and `1e2` become floats, integers keep every
 * digit, and NaN, Infinity and -Infinity are accepted as Python accepts them.
 */

export type PyValue = null | boolean | string | { int: string } | { float: number } | PyValue[] | Map<string, PyValue>;

export class PythonJsonError extends Error {
  constructor(message: string, position: number) {
    super(`${message} at character ${position}`);
    this.name = 'PythonJsonError';
  }
}

/** Python's own recursion limit stops near 1000 levels; stopping first keeps this parser's stack safe too. */
const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const CONSTANTS: [string, PyValue][] = [
  ['null', null],
  ['true', true],
  ['false', false],
  ['NaN', { float: NaN }],
  ['Infinity', { float: Infinity }],
  ['-Infinity', { float: -Infinity }],
];

export function parsePythonJson(text: string): PyValue {
  let at = 0;

  const skipWhitespace = () => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };

  const readString = (): string => {
    const start = at;
    at += 1; // the opening quote
    let value = '';
    for (;;) {
      const char = text[at];
      if (char === undefined) throw new PythonJsonError('unterminated string', start);
      if (char === '"') {
        at += 1;
        return value;
      }
      if (char < ' ') throw new PythonJsonError('invalid control character in a string', at);
      if (char !== '\\') {
        value += char;
        at += 1;
        continue;
      }
      const escape = text[at + 1] ?? '';
      if (escape === 'u') {
        const hex = text.slice(at + 2, at + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new PythonJsonError('invalid \\uXXXX escape', at);
        value += String.fromCharCode(parseInt(hex, 16)); // a lone surrogate stays one, as in Python
        at += 6;
        continue;
      }
      const decoded = ESCAPES[escape];
      if (decoded === undefined) throw new PythonJsonError('invalid escape', at);
      value += decoded;
      at += 2;
    }
  };

  const readValue = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) throw new PythonJsonError('nested too deeply', at);
    skipWhitespace();
    const char = text[at];
    if (char === '"') return readString();
    if (char === '{') return readObject(depth);
    if (char === '[') return readArray(depth);
    for (const [word, value] of CONSTANTS) {
      if (text.startsWith(word, at)) {
        at += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (!number) throw new PythonJsonError('expecting a value', at);
    at = NUMBER.lastIndex;
    const isFloat = number[1] !== undefined || number[2] !== undefined;
    return isFloat ? { float: Number(number[0]) } : { int: number[0] === '-0' ? '0' : number[0] };
  };

  const readObject = (depth: number): Map<string, PyValue> => {
    const object = new Map<string, PyValue>();
    at += 1;
    skipWhitespace();
    if (text[at] === '}') {
      at += 1;
      return object;
    }
    for (;;) {
      skipWhitespace();
      if (text[at] !== '"') throw new PythonJsonError('expecting a property name in double quotes', at);
      const key = readString();
      skipWhitespace();
      if (text[at] !== ':') throw new PythonJsonError("expecting ':'", at);
      at += 1;
      object.set(key, readValue(depth + 1)); // Map.set keeps a repeated key where it first was, like dict
      skipWhitespace();
      const next = text[at];
      at += 1;
      if (next === '}') return object;
      if (next !== ',') throw new PythonJsonError("expecting ',' or '}'", at - 1);
    }
  };

  const readArray = (depth: number): PyValue[] => {
    const array: PyValue[] = [];
    at += 1;
    skipWhitespace();
    if (text[at] === ']') {
      at += 1;
      return array;
    }
    for (;;) {
      array.push(readValue(depth + 1));
      skipWhitespace();
      const next = text[at];
      at += 1;
      if (next === ']') return array;
      if (next !== ',') throw new PythonJsonError("expecting ',' or ']'", at - 1);
    }
  };

  const value = readValue(0);
  skipWhitespace();
  if (at !== text.length) throw new PythonJsonError('extra data', at);
  return value;
}
