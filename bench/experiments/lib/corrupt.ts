// Synthetic corruptions of clean text for the controlled-corruption experiment. Each works on the
// UTF-8 bytes of the text and returns text again, because the engine takes text: byte sequences
// that are not valid UTF-8 decode to U+FFFD (bytes EF BF BD), as in any pipeline that decodes
// broken bytes leniently.
import { Prng } from '../../../src/ml/index.js';

/** Kinds of corruption; `noise-P` replaces each byte with a random byte with probability P. */
export type CorruptionKind = 'clean' | `noise-${number}` | 'repeat-run' | 'control-run';

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Bytes 0x00–0x1F and 0x7F except tab, line feed and carriage return. */
const CONTROL_BYTES = [
  ...Array.from({ length: 32 }, (_, byte) => byte).filter((byte) => ![9, 10, 13].includes(byte)),
  0x7f,
];

/** Replaces each byte with a uniformly random byte (0–255) with probability `rate`. */
export function byteNoise(text: string, rate: number, prng: Prng): string {
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    if (prng.nextFloat() < rate) bytes[i] = prng.nextInt(256);
  }
  return decoder.decode(bytes);
}

/**
 * Overwrites a run of round(`share` × length) bytes at a random offset with one repeated byte,
 * drawn from the printable ASCII range.
 */
export function repeatedRun(text: string, share: number, prng: Prng): string {
  const bytes = Buffer.from(text, 'utf8');
  const byte = 0x20 + prng.nextInt(0x7f - 0x20);
  return decoder.decode(overwriteRun(bytes, share, prng, () => byte));
}

/**
 * Overwrites a run of round(`share` × length) bytes at a random offset with random non-printable
 * control bytes.
 */
export function controlRun(text: string, share: number, prng: Prng): string {
  const bytes = Buffer.from(text, 'utf8');
  const pick = (): number => CONTROL_BYTES[prng.nextInt(CONTROL_BYTES.length)]!;
  return decoder.decode(overwriteRun(bytes, share, prng, pick));
}

function overwriteRun(bytes: Buffer, share: number, prng: Prng, nextByte: () => number): Buffer {
  const length = Math.round(share * bytes.length);
  const start = prng.nextInt(bytes.length - length + 1);
  for (let i = start; i < start + length; i++) bytes[i] = nextByte();
  return bytes;
}

/** Applies `kind` to `text`; `runShare` sets the run length of the run kinds. */
export function corrupt(text: string, kind: CorruptionKind, runShare: number, prng: Prng): string {
  if (kind === 'clean') return text;
  if (kind === 'repeat-run') return repeatedRun(text, runShare, prng);
  if (kind === 'control-run') return controlRun(text, runShare, prng);
  return byteNoise(text, Number(kind.slice('noise-'.length)), prng);
}

/** The byte-noise rate of a kind: 0 for clean text, P for `noise-P`, null for the run kinds. */
export function noiseRate(kind: CorruptionKind): number | null {
  if (kind === 'clean') return 0;
  if (kind.startsWith('noise-')) return Number(kind.slice('noise-'.length));
  return null;
}
