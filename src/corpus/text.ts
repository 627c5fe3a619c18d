// Text cutting for corpus examples: UTF-8 byte chunks and mail bodies.

/**
 * Cuts `text` into chunks of at most `chunkBytes` UTF-8 bytes, in order.
 *
 * Cuts fall only on character boundaries. When a multi-byte character straddles a cut, the chunk
 * ends before it (up to 3 bytes short of `chunkBytes`) and the character starts the next chunk.
 * The last chunk is kept when it has at least `minLastChunkBytes` bytes or when it is the only
 * chunk, so every non-empty text yields at least one chunk. An empty text yields none.
 *
 * Lone UTF-16 surrogates, which have no UTF-8 encoding, become U+FFFD, as `Buffer.from` does.
 *
 * @param chunkBytes chunk size in bytes, an integer of at least 4 (the longest UTF-8 character)
 * @param minLastChunkBytes shortest last chunk to keep; defaults to a quarter of `chunkBytes`
 */
export function chunkUtf8(
  text: string,
  chunkBytes: number,
  minLastChunkBytes = Math.ceil(chunkBytes / 4),
): string[] {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 4) {
    throw new RangeError(
      `chunkUtf8: chunkBytes must be an integer of at least 4, got ${chunkBytes}`,
    );
  }

  const bytes = Buffer.from(text, 'utf8');
  const chunks: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + chunkBytes, bytes.length);

    // Step back over continuation bytes (0b10xxxxxx) so the cut falls before a lead byte.
    while (end < bytes.length && isContinuationByte(bytes[end] ?? 0)) end--;

    const isShortLast = end === bytes.length && end - start < minLastChunkBytes;
    if (isShortLast && chunks.length > 0) break;

    chunks.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return chunks;
}

function isContinuationByte(byte: number): boolean {
  return (byte & 0xc0) === 0x80;
}

/**
 * Returns the body of a raw mail message: everything after the first empty line, which ends the
 * header section (RFC 5322). Returns '' when the message has no empty line.
 */
export function messageBody(raw: string): string {
  if (raw.startsWith('\n')) return raw.slice(1);
  if (raw.startsWith('\r\n')) return raw.slice(2);

  const match = /\r?\n\r?\n/.exec(raw);
  return match ? raw.slice(match.index + match[0].length) : '';
}
