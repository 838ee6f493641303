import { hasLoneSurrogate } from '../../mapping/values.js';
import type { PyValue } from './pythonJson.js';

/**
 * Python's `urllib.parse.urlencode(dict)`, which Monte Carlo's signature covers (README.md): `key=value` pairs
 * joined by `&`, each side `quote_plus(str(x))`. `str` of a nested dict or list is Python's repr, so this spells
 * out CPython's repr of str, int, float, bool, None, dict and list exactly.
 */

/** CPython's `str.isprintable`: every character but those in these general categories (space excepted). */
const UNPRINTABLE = /^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]$/u;
/** quote_plus leaves these bytes alone (Python 3.7+ counts `~` among them). */
const ALWAYS_SAFE = /^[A-Za-z0-9_.~-]$/;

const hex = (code: number, digits: number) => code.toString(16).padStart(digits, '0');

function reprStr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (char === quote || char === '\\') out += `\\${char}`;
    else if (char === '\t') out += '\\t';
    else if (char === '\n') out += '\\n';
    else if (char === '\r') out += '\\r';
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else if (code < 0x7f || !UNPRINTABLE.test(char)) out += char;
    else if (code <= 0xff) out += `\\x${hex(code, 2)}`;
    else if (code <= 0xffff) out += `\\u${hex(code, 4)}`;
    else out += `\\U${hex(code, 8)}`;
  }
  return out + quote;
}

/** repr(float): the shortest round-trip digits (JavaScript's are the same), laid out as CPython lays them out. */
export function reprFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa = '', exponent] = String(Math.abs(value)).split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  let digits = whole + fraction;
  // The decimal point sits after `point` digits: value = 0.d1d2... x 10^point.
  let point = exponent === undefined ? whole.length : Number(exponent) + 1;
  const leadingZeros = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(leadingZeros).replace(/0+$/, '');
  point -= leadingZeros;
  if (point <= -4 || point > 16) {
    const shown = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const power = point - 1;
    return `${sign}${shown}e${power < 0 ? '-' : '+'}${String(Math.abs(power)).padStart(2, '0')}`;
  }
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

export function pyRepr(value: PyValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return reprStr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (value instanceof Map) {
    return `{${[...value].map(([key, item]) => `${reprStr(key)}: ${pyRepr(item)}`).join(', ')}}`;
  }
  return 'int' in value ? value.int : reprFloat(value.float);
}

/** str(x): a str is itself, everything else its repr. */
export const pyStr = (value: PyValue): string => (typeof value === 'string' ? value : pyRepr(value));

/** quote_plus(text, safe=''): UTF-8 bytes, space as `+`, everything but A-Z a-z 0-9 _ . - ~ as uppercase %XX. */
export function quotePlus(text: string): string {
  // Python's strict UTF-8 encoder raises here, so Monte Carlo could never have signed such a value.
  if (hasLoneSurrogate(text)) throw new Error('a lone surrogate has no UTF-8 encoding');
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    if (byte === 0x20) out += '+';
    else if (ALWAYS_SAFE.test(char)) out += char;
    else out += `%${hex(byte, 2).toUpperCase()}`;
  }
  return out;
}

/** urllib.parse.urlencode(body): only a dict (a JSON object) is a webhook body Monte Carlo signs. */
export function pyUrlencode(body: PyValue): string {
  if (!(body instanceof Map)) throw new Error('the body is not a JSON object');
  return [...body].map(([key, value]) => `${quotePlus(key)}=${quotePlus(pyStr(value))}`).join('&');
}
