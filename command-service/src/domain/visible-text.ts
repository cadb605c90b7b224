// What text must look like on screen, beyond being well-formed (validation.ts): it shows what
// it holds. Names (one line: usernames, display names, room names) refuse every bidirectional
// control (U+202E turns the rest of a line around) and every default-ignorable code point
// (U+034F, U+200B, U+2060…, U+3164 and the other fillers render as nothing, so `vip1` and
// `vip1`+U+034F look alike), except where a sequence needs one: the zero-width joiners of
// emoji and of scripts that join letters, a variation selector after its base, the tags of a
// flag. Prose (several lines: topics, bios, message bodies) keeps what running text uses
// besides (soft hyphens, zero-width spaces and joiners, the direction marks LRM/RLM/ALM,
// joiners and variation selectors after any base) but refuses fillers and the embeddings,
// overrides and isolates that reorder a line. Neither may be blank-looking: made only of spaces, marks and invisibles.

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/u;
const BIDI_CONTROL = /\p{Bidi_Control}/u;
/** Embeddings, overrides and isolates: they reorder what follows them. */
const REORDERING = /[\u202A-\u202E\u2066-\u2069]/u;
const PRIVATE_OR_UNASSIGNED = /[\p{Co}\p{Cn}]/u;
const LINE_OR_PARAGRAPH_SEPARATOR = /[\u2028\u2029]/u;
const ZWJ = '\u200D';
const ZWNJ = '\u200C';
const VARIATION_SELECTOR = /\p{Variation_Selector}/u;
const EMOJI_VARIATION = /[\uFE0E\uFE0F]/u;
const TAG = /[\u{E0020}-\u{E007F}]/u;
const BLACK_FLAG = '\u{1F3F4}';
const EMOJI = /[\p{Emoji}\p{Emoji_Component}]/u;
const PICTOGRAPHIC = /[\p{Extended_Pictographic}\p{Emoji_Modifier}]/u;
const LETTER = /[\p{L}\p{M}]/u;
const IDEOGRAPH = /\p{Ideographic}/u;
// Scripts whose letters take a zero-width joiner or non-joiner between them (RFC 5892's
// contextual rules, simplified: Arabic-script joining, Indic conjuncts, and a few more).
const JOINING_SCRIPT =
  /[\p{scx=Arab}\p{scx=Syrc}\p{scx=Nkoo}\p{scx=Mong}\p{scx=Deva}\p{scx=Beng}\p{scx=Guru}\p{scx=Gujr}\p{scx=Orya}\p{scx=Taml}\p{scx=Telu}\p{scx=Knda}\p{scx=Mlym}\p{scx=Sinh}\p{scx=Khmr}\p{scx=Mymr}\p{scx=Tibt}]/u;
// Not default-ignorable, yet drawn as nothing or as a blank: Braille blank, musical nulls, fillers.
const BLANK_LOOKING = /[\s\u2800\u{1D159}\u{1D173}-\u{1D17A}\u3164\u115F\u1160\uFFA0]/u;
/** Invisibles that running text carries harmlessly: soft hyphen, CGJ, zero-width space, direction marks, word joiner, BOM. */
const PROSE_INVISIBLES = new Set(['\u00AD', '\u034F', '\u200B', '\u200E', '\u200F', '\u061C', '\u2060', '\uFEFF']);

export type TextKind = 'name' | 'prose';

/** Why `value` would not show what it holds (a message naming the first offending code point), or undefined. */
export function invisibleTextProblem(value: string, kind: TextKind): string | undefined {
  const chars = [...value];
  let visible = false;
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    const before = chars[i - 1];
    const after = chars[i + 1];
    if (PRIVATE_OR_UNASSIGNED.test(char)) return `contains an unassigned or private-use character (${codePoint(char)})`;
    if (kind === 'name' && LINE_OR_PARAGRAPH_SEPARATOR.test(char)) return `contains a line separator (${codePoint(char)})`;
    if (BIDI_CONTROL.test(char) && (kind === 'name' || REORDERING.test(char))) {
      return `contains a bidirectional control (${codePoint(char)})`;
    }
    if (DEFAULT_IGNORABLE.test(char)) {
      if (!allowedInvisible(char, before, after, chars, i, kind)) return `contains an invisible character (${codePoint(char)})`;
      continue;
    }
    if (!BLANK_LOOKING.test(char) && !/[\p{M}\p{C}]/u.test(char)) visible = true;
  }
  return visible ? undefined : 'must show something: it is blank or invisible';
}

/** Whether a default-ignorable code point is part of a sequence that needs it. */
function allowedInvisible(
  char: string,
  before: string | undefined,
  after: string | undefined,
  chars: string[],
  index: number,
  kind: TextKind,
): boolean {
  if (kind === 'prose' && PROSE_INVISIBLES.has(char)) return true;
  if (before === undefined) return false;
  if (char === ZWJ || char === ZWNJ) {
    if (after === undefined) return false;
    if (kind === 'prose') return !/\s/u.test(before) && !/\s/u.test(after);
    // An emoji ZWJ sequence (👩‍💻, 🏳️‍🌈): between a pictograph (or its modifier or selector) and another.
    if (char === ZWJ && (PICTOGRAPHIC.test(before) || before === '\uFE0F') && PICTOGRAPHIC.test(after)) return true;
    return JOINING_SCRIPT.test(before) && LETTER.test(before) && JOINING_SCRIPT.test(after) && LETTER.test(after);
  }
  if (VARIATION_SELECTOR.test(char)) {
    if (/[\s\p{C}]/u.test(before) || DEFAULT_IGNORABLE.test(before)) return false;
    if (kind === 'prose') return true;
    return EMOJI_VARIATION.test(char) ? EMOJI.test(before) : IDEOGRAPH.test(before);
  }
  if (TAG.test(char)) {
    // A flag's tag sequence: 🏴 then tags, the last U+E007F.
    let start = index;
    while (start > 0 && TAG.test(chars[start - 1]!)) start--;
    return start > 0 && chars[start - 1] === BLACK_FLAG;
  }
  return false;
}

function codePoint(char: string): string {
  return `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}
