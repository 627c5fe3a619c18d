// Framing of an upload stream into records (one NDJSON line, or one CSV record that may span
// lines inside quoted fields), with their line numbers, in bounded memory.

/** One framed record, or why a record could not be framed. */
export type FramedRecord =
  | {
      kind: 'record';
      /** 1-based number of the record's first line. */
      line: number;
      /** The record's bytes without its line terminator (`\n` or `\r\n`). */
      bytes: Buffer;
      /** Input bytes consumed up to the end of this record, its terminator included. */
      end: number;
    }
  | {
      kind: 'tooLong';
      line: number;
      /** Length of the record in bytes, without its terminator. */
      length: number;
      end: number;
    }
  | {
      /** A CSV quoted field opened on `line` and still open at the end of the input. */
      kind: 'unclosedQuote';
      line: number;
      end: number;
    };

export interface FrameOptions {
  /** Maximum record length kept, in bytes without the terminator. Longer ones are skipped unbuffered. */
  maxRecordBytes: number;
  /**
   * Whether CSV quoting applies (RFC 4180): a `"` at the start of a field opens a quoted field,
   * in which newlines are data, `""` is a quote and a lone `"` closes it. A `"` elsewhere is
   * left to the CSV parser to reject, and does not change where the record ends.
   */
  csvQuotes: boolean;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Splits `input` into records, yielding the records completed by each input chunk.
 *
 * - A UTF-8 byte order mark at the start of the input is dropped.
 * - Records end at `\n`; a `\r` before it is dropped, so CRLF, LF and a mix of both work. A
 *   lone `\r` does not end a record.
 * - Records that are empty or contain only spaces, tabs and `\r` are skipped, but counted in
 *   line numbers.
 * - The last record needs no terminator.
 * - A record longer than `maxRecordBytes` is yielded as `tooLong`. Its bytes are dropped as
 *   they arrive, so memory stays within `maxRecordBytes` plus one input chunk.
 *
 * Byte arrays yielded may be views into the input chunks; they are not copied.
 *
 * The input is read with its async iterator, which is never closed early: when the consumer
 * stops, the rest of the input stays unread, so that an HTTP handler can still respond on the
 * request's socket. Destroying the input is then up to its owner.
 */
export async function* frameRecords(
  input: AsyncIterable<Buffer | Uint8Array | string>,
  options: FrameOptions,
): AsyncGenerator<FramedRecord[]> {
  const framer = new RecordFramer(options);
  const iterator = input[Symbol.asyncIterator]();
  let head: Buffer | null = Buffer.alloc(0);

  for (;;) {
    const { value, done } = await iterator.next();
    if (done) break;
    let chunk = toBuffer(value);

    // Hold the first bytes until there are 3 of them, so a byte order mark split across
    // chunks is still found.
    if (head !== null) {
      head = Buffer.concat([head, chunk]);
      if (head.length < UTF8_BOM.length) continue;
      chunk = stripBom(head);
      head = null;
    }

    const records = framer.push(chunk);
    if (records.length > 0) yield records;
  }

  const records = framer.push(head === null ? Buffer.alloc(0) : stripBom(head));
  records.push(...framer.end());
  if (records.length > 0) yield records;
}

/**
 * The framing state machine behind `frameRecords`: `push` takes the next chunk of input and
 * returns the records it completes, and `end` returns the last record.
 */
export class RecordFramer {
  readonly #maxRecordBytes: number;
  readonly #csvQuotes: boolean;
  #parts: Buffer[] = [];
  /** Bytes of the current record so far, counted even after they were dropped. */
  #length = 0;
  #tooLong = false;
  #endsWithCarriageReturn = false;
  #inQuotes = false;
  /** Input offset of the quote that closed the last quoted field. */
  #closingQuoteAt = -2;
  /** Last byte of the previous chunk; a newline at the start, which is a field start. */
  #lastByte = NEWLINE;
  /** Number of the line the input is on. */
  #line = 1;
  #recordLine = 1;
  #consumed = 0;

  constructor(options: FrameOptions) {
    this.#maxRecordBytes = options.maxRecordBytes;
    this.#csvQuotes = options.csvQuotes;
  }

  /** Bytes held for the current, unfinished record. */
  get bufferedBytes(): number {
    return this.#parts.reduce((sum, part) => sum + part.length, 0);
  }

  push(chunk: Buffer): FramedRecord[] {
    const records: FramedRecord[] = [];
    const chunkStart = this.#consumed;
    // Each quote is searched for once per chunk, so framing stays linear in the chunk size.
    let nextQuote = this.#csvQuotes ? chunk.indexOf(QUOTE) : -1;
    let position = 0;
    while (position < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, position);
      const end = newline === -1 ? chunk.length : newline;
      while (nextQuote !== -1 && nextQuote < end) {
        this.#takeQuote(
          chunkStart + nextQuote,
          nextQuote > 0 ? chunk[nextQuote - 1] : this.#lastByte,
        );
        nextQuote = chunk.indexOf(QUOTE, nextQuote + 1);
      }

      if (newline === -1) {
        this.#append(chunk, position, end);
        this.#consumed += end - position;
        break;
      }

      this.#line += 1;
      this.#consumed += newline + 1 - position;
      if (this.#inQuotes) {
        // The newline is data inside a quoted CSV field.
        this.#append(chunk, position, newline + 1);
      } else {
        this.#append(chunk, position, end);
        this.#finishRecord(records);
      }
      position = newline + 1;
    }
    if (chunk.length > 0) this.#lastByte = chunk[chunk.length - 1] as number;
    return records;
  }

  end(): FramedRecord[] {
    const records: FramedRecord[] = [];
    if (this.#inQuotes) {
      records.push({ kind: 'unclosedQuote', line: this.#recordLine, end: this.#consumed });
    } else if (this.#length > 0) {
      this.#finishRecord(records);
    }
    this.#reset();
    return records;
  }

  /** Updates the quoting state for a quote at input offset `offset`, after byte `previous`. */
  #takeQuote(offset: number, previous: number | undefined): void {
    if (this.#inQuotes) {
      this.#inQuotes = false;
      this.#closingQuoteAt = offset;
      return;
    }

    // A quote opens a field at its start, and right after a closing quote it is the second
    // half of an escaped quote ("") that keeps the field open.
    const fieldStart = previous === COMMA || previous === NEWLINE;
    if (fieldStart || offset === this.#closingQuoteAt + 1) this.#inQuotes = true;
  }

  #append(chunk: Buffer, start: number, end: number): void {
    if (end === start) return;
    this.#length += end - start;
    this.#endsWithCarriageReturn = chunk[end - 1] === CARRIAGE_RETURN;
    if (this.#tooLong) return;

    // One byte of slack: a trailing \r is not part of the record, but only the next newline
    // shows whether it is trailing.
    if (this.#length > this.#maxRecordBytes + 1) {
      this.#tooLong = true;
      this.#parts = [];
      return;
    }
    this.#parts.push(chunk.subarray(start, end));
  }

  #finishRecord(records: FramedRecord[]): void {
    const line = this.#recordLine;
    const end = this.#consumed;
    const parts = this.#parts;
    const stored = this.#length;
    const length = this.#endsWithCarriageReturn ? stored - 1 : stored;
    const tooLong = this.#tooLong || length > this.#maxRecordBytes;
    this.#reset();
    this.#recordLine = this.#line;

    if (tooLong) {
      records.push({ kind: 'tooLong', line, length, end });
      return;
    }

    const bytes = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, stored);
    const content = bytes.subarray(0, length);
    if (!isBlank(content)) records.push({ kind: 'record', line, bytes: content, end });
  }

  #reset(): void {
    this.#parts = [];
    this.#length = 0;
    this.#tooLong = false;
    this.#endsWithCarriageReturn = false;
    this.#inQuotes = false;
  }
}

function toBuffer(chunk: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function stripBom(head: Buffer): Buffer {
  return head.subarray(0, UTF8_BOM.length).equals(UTF8_BOM) ? head.subarray(UTF8_BOM.length) : head;
}

function isBlank(bytes: Buffer): boolean {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== CARRIAGE_RETURN) return false;
  }
  return true;
}
