// A coarse content kind for corpus chunks, used to break reports down (for example mean score per
// kind). It is a handful of regular expressions, never a training signal.

export type ChunkKind = 'base64' | 'html' | 'header' | 'quoted' | 'prose' | 'other';

export const CHUNK_KINDS: readonly ChunkKind[] = [
  'base64',
  'html',
  'header',
  'quoted',
  'prose',
  'other',
];

/** A token that looks like base64: 16 or more characters of its alphabet, with optional padding. */
const BASE64_TOKEN = /^[A-Za-z0-9+/]{16,}={0,2}$/;
/**
 * An HTML or XML tag, opening or closing, or an HTML comment or doctype. The tag name must end
 * at a space, `/` or `>`, so mail addresses and URLs in angle brackets do not match.
 */
const HTML_TAG = /<\/?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?\/?>|<!--|<!DOCTYPE/gi;
/** A header field line ("Name: value") or the mbox "From " separator line. */
const HEADER_LINE = /^(?:[A-Za-z][A-Za-z0-9-]*:[ \t]|From [^ ]+ )/;
/** A folded header continuation line. */
const CONTINUATION_LINE = /^[ \t]+\S/;
const QUOTED_LINE = /^[ \t]*>/;
const WORD = /[A-Za-z][a-z']+/g;

/**
 * Classifies a chunk of mail text by its dominant content, with the first rule that matches:
 *
 * - `base64`: base64-looking tokens make up at least 60% of the non-space characters;
 * - `html`: at least two tags that cover at least 20% of the characters;
 * - `header`: at least half of the lines are header fields (or their folded continuations);
 * - `quoted`: at least half of the non-empty lines start with `>`;
 * - `prose`: words of letters cover at least 60% of the characters;
 * - `other`: anything else (quoted-printable, tables, numbers, signatures).
 *
 * Lines cut by a chunk boundary count like whole lines.
 */
export function classifyChunk(text: string): ChunkKind {
  const nonSpace = text.replace(/\s+/g, '');
  if (nonSpace.length === 0) return 'other';

  if (base64Share(text, nonSpace.length) >= 0.6) return 'base64';
  if (isHtml(text)) return 'html';

  const lines = text.split(/\r?\n/).filter((line) => line.trim().length > 0);
  if (headerShare(lines) >= 0.5) return 'header';
  if (lines.filter((line) => QUOTED_LINE.test(line)).length >= lines.length / 2) return 'quoted';

  if (wordShare(text) >= 0.6) return 'prose';
  return 'other';
}

function base64Share(text: string, nonSpaceLength: number): number {
  let base64Chars = 0;
  for (const token of text.split(/\s+/)) {
    if (BASE64_TOKEN.test(token) && /\d|[+/]/.test(token)) base64Chars += token.length;
  }
  return base64Chars / nonSpaceLength;
}

function isHtml(text: string): boolean {
  const tags = text.match(HTML_TAG) ?? [];
  const tagChars = tags.reduce((sum, tag) => sum + tag.length, 0);
  return tags.length >= 2 && tagChars >= 0.2 * text.length;
}

/**
 * Share of lines that are header fields or their continuations. A chunk may start inside a
 * folded field, so continuation lines count from the start until the first line that is neither.
 * The first line is skipped because a chunk boundary usually cuts it. A chunk with no field line
 * has share 0, so indented prose never counts as a header.
 */
function headerShare(lines: string[]): number {
  const counted = lines.length >= 3 ? lines.slice(1) : lines;

  let fieldLines = 0;
  let continuationLines = 0;
  let inHeader = true;
  for (const line of counted) {
    if (HEADER_LINE.test(line)) {
      inHeader = true;
      fieldLines += 1;
    } else if (inHeader && CONTINUATION_LINE.test(line)) {
      continuationLines += 1;
    } else {
      inHeader = false;
    }
  }
  return fieldLines === 0 ? 0 : (fieldLines + continuationLines) / counted.length;
}

function wordShare(text: string): number {
  const words = text.match(WORD) ?? [];
  const wordChars = words.reduce((sum, word) => sum + word.length, 0);
  // Count the single spaces between words as part of prose.
  return (wordChars + Math.max(0, words.length - 1)) / text.length;
}
