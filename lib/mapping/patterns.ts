/**
 * Rule patterns are applied by JavaScript (here) and by Python (spark/metasync_rules.py). They are kept to a
 * subset both engines read the same way: printable ASCII; escapes \d \D \w \W \b \B, control escapes and
 * escaped punctuation only (no \s: whitespace in the text is collapsed to single spaces first); groups
 * (?: (?= (?! only (no named groups, lookbehind or inline flags: capture by index, flags in their own field);
 * no counted repetition {m,n}; no nested [ in a class; no capturing group inside a group repeated with * or +
 * (JavaScript forgets a capture on each repetition, Python keeps the last). Python compiles them with re.ASCII so \d, \w and
 * case-insensitivity cover ASCII only, as JavaScript does without the u flag. Every pattern must match the
 * whole text (fullmatch), so ^, $ and their multiline quirks are never needed.
 */

export interface Pattern {
  pattern: string;
  flags: '' | 'i';
}

const PORTABLE_ESCAPE_LETTERS = new Set('dDwWbBnrtfv');

/** Why a pattern is outside the portable subset, or null when it is inside. */
export function portablePatternProblem(pattern: string): string | null {
  if (/[^\x20-\x7e]/.test(pattern)) return 'patterns must be printable ASCII';
  let inClass = false;
  // For each open group: whether it holds a capturing group, itself included.
  const groups: boolean[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    const next = pattern[i + 1] ?? '';
    if (char === '\\') {
      if (!next) return 'a pattern cannot end with a lone backslash';
      if (/[A-Za-z0-9]/.test(next) && !PORTABLE_ESCAPE_LETTERS.has(next)) return `\\${next} is not portable`;
      i++;
    } else if (inClass) {
      if (char === '[') return 'a [ inside a character class is not portable; escape it';
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
      if (next === '^') i++;
      if (pattern[i + 1] === ']') return 'a character class cannot start with ]; escape it';
    } else if (char === '(' && next === '?' && !/[:=!]/.test(pattern[i + 2] ?? '')) {
      return 'only (?:, (?= and (?! groups are portable: no named groups, lookbehind or inline flags';
    } else if (char === '(') {
      groups.push(next !== '?');
    } else if (char === ')') {
      const captures = groups.pop() ?? false;
      if (captures && (next === '*' || next === '+')) {
        return 'a capturing group inside a group repeated with * or + is not portable';
      }
      if (captures && groups.length) groups[groups.length - 1] = true;
    } else if (char === '{') {
      return 'counted repetition {m,n} is not portable; spell the repetition out or escape the {';
    }
  }
  try {
    new RegExp(pattern);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return null;
}

/** How many capturing groups a (valid) pattern has. */
export function groupCount(pattern: string): number {
  return (new RegExp(`(?:${pattern})|`).exec('')?.length ?? 1) - 1;
}

const compiled = new Map<string, RegExp>();

/** Matches the whole text; the result holds the groups by index. */
export function fullMatch({ pattern, flags }: Pattern, text: string): RegExpExecArray | null {
  const key = `${flags}/${pattern}`;
  let regex = compiled.get(key);
  if (!regex) {
    regex = new RegExp(`^(?:${pattern})$`, flags);
    compiled.set(key, regex);
  }
  return regex.exec(text);
}
