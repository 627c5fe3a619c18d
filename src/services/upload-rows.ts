// Parsing and validation of uploaded rows: one NDJSON line or one CSV record becomes an example
// row or a located, coded error.
import { Parser as CsvParser, type CsvError } from 'csv-parse';
import type { ExampleSplit } from '../db/example-writer.js';

/** Stable reason codes of rejected upload lines: part of the upload API. */
export type UploadErrorReason =
  | 'INVALID_JSON'
  | 'INVALID_CSV'
  | 'MISSING_TEXT'
  | 'INVALID_FIELD'
  | 'INVALID_UTF8'
  | 'LINE_TOO_LONG'
  | 'DUPLICATE_ID';

/** A valid uploaded row. */
export interface UploadRow {
  id: string | null;
  text: string;
  label: string | null;
  source: string | null;
  split: ExampleSplit;
  meta: Record<string, unknown> | null;
}

export interface RowError {
  reason: UploadErrorReason;
  message: string;
}

export type RowResult = { row: UploadRow } | { error: RowError };

/** The columns an upload may set; other NDJSON keys and CSV columns are ignored. */
export const UPLOAD_FIELDS = ['text', 'id', 'label', 'source', 'split', 'meta'] as const;
type UploadField = (typeof UPLOAD_FIELDS)[number];

/**
 * Maximum length of id, label and source in UTF-8 bytes. They are indexed, and a Postgres B-tree entry
 * cannot exceed about 2.7 kB (a third of an 8 kB page).
 */
export const MAX_INDEXED_FIELD_BYTES = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes strict UTF-8, or returns null when `bytes` is not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Parses one NDJSON line: a JSON object with the upload fields. */
export function parseNdjsonLine(text: string): RowResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail('INVALID_JSON', `invalid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(
      'INVALID_JSON',
      `expected a JSON object such as {"text": "..."}, got ${describe(value)}`,
    );
  }

  // JSON can only carry a NUL or a lone surrogate as a \u escape, so most lines skip the scan.
  if (text.includes('\\u')) {
    const unstorable = findUnstorable(value, '');
    if (unstorable) return { error: unstorable };
  }
  return validateFields(value as Record<string, unknown>, 'ndjson');
}

/**
 * Checks the fields of one row, from NDJSON (typed values, null meaning absent) or CSV (strings,
 * an empty cell meaning absent and meta as a JSON string).
 */
export function validateFields(
  fields: Partial<Record<UploadField, unknown>>,
  format: 'ndjson' | 'csv',
): RowResult {
  const present = (value: unknown) =>
    value !== undefined && value !== null && !(format === 'csv' && value === '');

  const { text } = fields;
  if (text === undefined || text === null) {
    return fail('MISSING_TEXT', 'missing "text": every row needs the example text as a string');
  }
  if (typeof text !== 'string') {
    return fail('MISSING_TEXT', `"text" must be a string, got ${describe(text)}`);
  }

  const strings: Partial<Record<'id' | 'label' | 'source', string>> = {};
  for (const name of ['id', 'label', 'source'] as const) {
    const value = fields[name];
    if (!present(value)) continue;
    if (typeof value !== 'string') {
      const hint = typeof value === 'number' ? ' (quote it)' : '';
      return fail('INVALID_FIELD', `"${name}" must be a string, got ${describe(value)}${hint}`);
    }
    if (Buffer.byteLength(value, 'utf8') > MAX_INDEXED_FIELD_BYTES) {
      return fail('INVALID_FIELD', `"${name}" is longer than ${MAX_INDEXED_FIELD_BYTES} bytes`);
    }
    strings[name] = value;
  }
  if (strings.id === '') {
    return fail('INVALID_FIELD', '"id" is empty: leave it out or give a non-empty string');
  }

  const split = parseSplit(fields.split, present(fields.split));
  if ('error' in split) return split;

  const meta = parseMeta(fields.meta, present(fields.meta), format);
  if ('error' in meta) return meta;

  if (format === 'csv') {
    for (const name of ['text', 'id', 'label', 'source'] as const) {
      const value = name === 'text' ? text : strings[name];
      if (value?.includes('\u0000')) return { error: nulError(name) };
    }
  }

  return {
    row: {
      id: strings.id ?? null,
      text,
      label: strings.label ?? null,
      source: strings.source ?? null,
      split: split.value,
      meta: meta.value,
    },
  };
}

function parseSplit(
  value: unknown,
  present: boolean,
): { value: ExampleSplit } | { error: RowError } {
  if (!present) return { value: 'TRAIN' };

  const upper = typeof value === 'string' ? value.trim().toUpperCase() : null;
  if (upper === 'TRAIN' || upper === 'HELDOUT') return { value: upper };
  return fail('INVALID_FIELD', `"split" must be TRAIN or HELDOUT, got ${describe(value)}`);
}

function parseMeta(
  value: unknown,
  present: boolean,
  format: 'ndjson' | 'csv',
): { value: Record<string, unknown> | null } | { error: RowError } {
  if (!present) return { value: null };

  let meta = value;
  if (format === 'csv') {
    try {
      meta = JSON.parse(value as string);
    } catch (error) {
      return fail('INVALID_FIELD', `"meta" is not valid JSON: ${(error as Error).message}`);
    }
    const unstorable = (value as string).includes('\\u') ? findUnstorable(meta, 'meta') : null;
    if (unstorable) return { error: unstorable };
  }

  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) {
    return fail('INVALID_FIELD', `"meta" must be a JSON object, got ${describe(meta)}`);
  }
  return { value: meta as Record<string, unknown> };
}

/**
 * Finds a string, key or value, that Postgres cannot store: one with a NUL character (text and
 * jsonb reject it) or a lone UTF-16 surrogate (it has no UTF-8 encoding).
 */
function findUnstorable(value: unknown, path: string): RowError | null {
  if (typeof value === 'string') return checkString(value, path);
  if (typeof value !== 'object' || value === null) return null;

  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findUnstorable(item, `${path}[${index}]`);
      if (found) return found;
    }
    return null;
  }

  for (const [key, item] of Object.entries(value)) {
    const keyPath = path === '' ? key : `${path}.${key}`;
    const found = checkString(key, keyPath) ?? findUnstorable(item, keyPath);
    if (found) return found;
  }
  return null;
}

function checkString(value: string, path: string): RowError | null {
  if (value.includes('\u0000')) return nulError(path);
  if (/\p{Cs}/u.test(value)) {
    return {
      reason: 'INVALID_UTF8',
      message: `"${path}" contains a lone surrogate escape (\\ud800 to \\udfff), which has no UTF-8 encoding`,
    };
  }
  return null;
}

function nulError(path: string): RowError {
  return {
    reason: 'INVALID_FIELD',
    message: `"${path}" contains a NUL character (U+0000), which Postgres cannot store; remove it`,
  };
}

function fail(reason: UploadErrorReason, message: string): { error: RowError } {
  return { error: { reason, message } };
}

/** Describes a value for a message: its JSON type and a short excerpt. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';

  const json = JSON.stringify(value);
  const excerpt = json.length > 40 ? `${json.slice(0, 40)}...` : json;
  return `${typeof value} ${excerpt}`;
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/** A CSV record parsed by csv-parse: its fields or its error, with the record's first line. */
export type CsvResult = { line: number; fields: string[] } | { line: number; error: CsvError };

/** Describes a csv-parse error without its line number, which counts records fed to it. */
export function csvErrorMessage(error: CsvError): string {
  const field = typeof error.index === 'number' ? ` in field ${error.index + 1}` : '';
  switch (error.code) {
    case 'INVALID_OPENING_QUOTE':
      return (
        `invalid CSV: a quote appears inside an unquoted field${field}; put the whole field in ` +
        'quotes and double each quote inside it ("")'
      );
    case 'CSV_INVALID_CLOSING_QUOTE':
      return (
        `invalid CSV: characters follow the closing quote${field}; double each quote inside a ` +
        'quoted field ("")'
      );
    default:
      return `invalid CSV: ${error.message.replace(/ at line \d+/, '')}`;
  }
}

/**
 * Parses framed CSV records (see `frameRecords`) with one streaming csv-parse parser.
 *
 * The parser emits a record only once it reads the start of the next one, so results lag by up
 * to one record; `write` and `flush` return the results completed so far, in input order. After
 * a malformed record the parser's quote state cannot be trusted, so it is replaced and the
 * records written after the bad one are parsed again.
 */
export class CsvRecordParser {
  #parser: CsvParser;
  #outputs: Array<{ fields: string[] } | { error: CsvError }> = [];
  /** Records written whose result has not come out yet, oldest first (at most two). */
  #pending: Array<{ line: number; text: string }> = [];

  constructor() {
    this.#parser = this.#createParser();
  }

  /** Parses one record: its text without the terminator and its first line number. */
  write(line: number, text: string): CsvResult[] {
    this.#pending.push({ line, text });
    this.#parser.write(`${text}\n`);
    return this.#collect();
  }

  /**
   * Returns the results of every record written so far and starts a fresh parser, so that a
   * caller can report an error found outside the parser (for example invalid UTF-8) in line
   * order. Call it at the end of the input too.
   */
  flush(): CsvResult[] {
    const results: CsvResult[] = [];
    // A malformed record replaces the parser and writes the later records to the new one,
    // which then needs ending too. Each round takes at least one record off #pending.
    while (this.#pending.length > 0) {
      this.#parser.end();
      results.push(...this.#collect());
    }
    this.#outputs.length = 0;
    this.#parser = this.#createParser();
    return results;
  }

  #createParser(): CsvParser {
    // Both callbacks run synchronously inside write() and end(). on_record returns null so no
    // record reaches the stream's readable side, which therefore never applies backpressure.
    const outputs = this.#outputs;
    return new CsvParser({
      record_delimiter: '\n',
      relax_column_count: true,
      skip_records_with_error: true,
      on_record: (fields: string[]) => {
        outputs.push({ fields });
        return null;
      },
      on_skip: (error: CsvError | undefined) => {
        outputs.push({ error: error ?? (new Error('malformed CSV record') as CsvError) });
        return undefined;
      },
    });
  }

  #collect(): CsvResult[] {
    const results: CsvResult[] = [];
    for (const output of this.#outputs.splice(0)) {
      const record = this.#pending.shift();
      if (record === undefined) throw new Error('CsvRecordParser: a result came with no record');

      if ('fields' in output) {
        results.push({ line: record.line, fields: output.fields });
        continue;
      }

      // Drop what the confused parser produced after the error and parse the rest again.
      results.push({ line: record.line, error: output.error });
      this.#outputs.length = 0;
      this.#parser = this.#createParser();
      for (const next of this.#pending.splice(0)) results.push(...this.write(next.line, next.text));
      return results;
    }
    return results;
  }
}
