// Cheap text statistics that heuristic data filters use. A rater report correlates scores with
// them, to show how much of a rater's judgement these heuristics already explain.

export type TextFeature =
  | 'LENGTH'
  | 'NON_ALPHANUMERIC_FRACTION'
  | 'UPPERCASE_FRACTION'
  | 'UNIQUE_CHARACTER_FRACTION'
  | 'NON_ASCII_BYTE_FRACTION'
  | 'LINE_COUNT';

/** The features in the order that `textFeatures` returns them. */
export const TEXT_FEATURES: readonly TextFeature[] = [
  'LENGTH',
  'NON_ALPHANUMERIC_FRACTION',
  'UPPERCASE_FRACTION',
  'UNIQUE_CHARACTER_FRACTION',
  'NON_ASCII_BYTE_FRACTION',
  'LINE_COUNT',
];

const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
const WHITESPACE = /\s/u;
const LETTER = /\p{L}/u;
const UPPERCASE = /\p{Lu}/u;

/**
 * Computes the features of one text, in TEXT_FEATURES order:
 * - LENGTH: characters (Unicode code points);
 * - NON_ALPHANUMERIC_FRACTION: share of characters that are neither letters, digits nor
 *   whitespace (punctuation, symbols, control characters);
 * - UPPERCASE_FRACTION: share of letters that are uppercase, 0 without letters;
 * - UNIQUE_CHARACTER_FRACTION: distinct characters divided by characters;
 * - NON_ASCII_BYTE_FRACTION: share of the UTF-8 bytes that are 0x80 or above;
 * - LINE_COUNT: line feeds plus one.
 * Fractions of an empty text are 0.
 */
export function textFeatures(text: string): number[] {
  let characters = 0;
  let nonAlphanumeric = 0;
  let letters = 0;
  let uppercase = 0;
  let lineFeeds = 0;
  let nonAsciiBytes = 0;
  const distinct = new Set<string>();

  for (const character of text) {
    characters++;
    distinct.add(character);
    const codePoint = character.codePointAt(0)!;
    nonAsciiBytes += utf8NonAsciiBytes(codePoint);
    if (codePoint === 0x0a) lineFeeds++;

    if (LETTER.test(character)) {
      letters++;
      if (UPPERCASE.test(character)) uppercase++;
    }
    if (!LETTER_OR_DIGIT.test(character) && !WHITESPACE.test(character)) nonAlphanumeric++;
  }

  const bytes = Buffer.byteLength(text, 'utf8');
  return [
    characters,
    ratio(nonAlphanumeric, characters),
    ratio(uppercase, letters),
    ratio(distinct.size, characters),
    ratio(nonAsciiBytes, bytes),
    lineFeeds + 1,
  ];
}

/** Bytes of 0x80 or above in the UTF-8 encoding of one code point: all of them past U+007F. */
function utf8NonAsciiBytes(codePoint: number): number {
  if (codePoint < 0x80) return 0;
  if (codePoint < 0x800) return 2;
  if (codePoint < 0x10000) return 3;
  return 4;
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}
