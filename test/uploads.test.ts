import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../src/db/client.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/db/embedded.js';
import { migrate } from '../src/db/migrate.js';
import { AppError } from '../src/services/errors.js';
import { RecordFramer, frameRecords } from '../src/services/upload-records.js';
import {
  importExamples,
  type UploadOptions,
  type UploadProgress,
  type UploadReport,
} from '../src/services/uploads.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';

type Input = string | Buffer | Array<string | Buffer>;

/** Streams `input` as given: a whole string or buffer, or the listed chunks one by one. */
async function* chunks(input: Input): AsyncGenerator<Buffer> {
  const parts = Array.isArray(input) ? input : [input];
  for (const part of parts) yield Buffer.isBuffer(part) ? part : Buffer.from(part, 'utf8');
}

/** Streams `text` one byte at a time, so every line and character is cut across chunks. */
async function* byteByByte(text: string): AsyncGenerator<Buffer> {
  for (const byte of Buffer.from(text, 'utf8')) yield Buffer.from([byte]);
}

const ndjson = (...rows: unknown[]) => rows.map((row) => JSON.stringify(row)).join('\n') + '\n';

interface StoredRow {
  external_id: string | null;
  split: string;
  text: string;
  label: string | null;
  source: string | null;
  byte_length: number;
  content_hash: string;
  meta: unknown;
}

describe('importExamples', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('uploads');
  });
  afterAll(async () => {
    await db.drop();
  });

  async function newDataset(): Promise<string> {
    const id = crypto.randomUUID();
    await db.pool.query(`INSERT INTO dataset (id, name, updated_at) VALUES ($1, $2, now())`, [
      id,
      `upload-${id}`,
    ]);
    return id;
  }

  async function storedRows(datasetId: string): Promise<StoredRow[]> {
    const { rows } = await db.pool.query<StoredRow>(
      `SELECT external_id, split::text AS split, text, label, source, byte_length, content_hash,
              meta
       FROM example WHERE dataset_id = $1 ORDER BY seq`,
      [datasetId],
    );
    return rows;
  }

  async function storedTexts(datasetId: string): Promise<string[]> {
    return (await storedRows(datasetId)).map((row) => row.text);
  }

  function upload(
    datasetId: string,
    input: Input | AsyncIterable<Buffer>,
    options: Partial<UploadOptions> = {},
  ): Promise<UploadReport> {
    const stream =
      typeof input === 'string' || Buffer.isBuffer(input) || Array.isArray(input)
        ? chunks(input)
        : input;
    return importExamples(db, datasetId, stream, { format: 'ndjson', ...options });
  }

  /** Runs an upload that must fail and returns its AppError. */
  async function uploadError(
    datasetId: string,
    input: Input,
    options: Partial<UploadOptions> = {},
  ): Promise<AppError> {
    const error = await upload(datasetId, input, options).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  describe('NDJSON', () => {
    it('imports every field', async () => {
      const datasetId = await newDataset();
      const report = await upload(
        datasetId,
        ndjson(
          { text: 'first', id: 'a', label: 'ham', source: 'web', split: 'heldout', meta: { k: 1 } },
          { text: 'second ✓', split: 'TRAIN' },
          { text: 'third', id: null, label: null, meta: null, extra: 'ignored' },
        ),
      );

      expect(report).toEqual({ imported: 3, rejected: 0, errors: [] });
      const rows = await storedRows(datasetId);
      expect(rows[0]).toEqual({
        external_id: 'a',
        split: 'HELDOUT',
        text: 'first',
        label: 'ham',
        source: 'web',
        byte_length: 5,
        content_hash: crypto.createHash('sha256').update('first').digest('hex'),
        meta: { k: 1 },
      });
      expect(rows[1]).toMatchObject({ external_id: null, split: 'TRAIN', byte_length: 10 });
      expect(rows[2]).toMatchObject({ external_id: null, label: null, meta: null });
    });

    it('reads a Node Readable stream', async () => {
      const datasetId = await newDataset();
      const stream = Readable.from([Buffer.from(ndjson({ text: 'a' }, { text: 'b' }))]);
      const report = await importExamples(db, datasetId, stream, { format: 'ndjson' });
      expect(report.imported).toBe(2);
    });

    const badLines: Array<[string, string, string, RegExp]> = [
      ['INVALID_JSON', 'unterminated object', '{"text": "a"', /invalid JSON/],
      ['INVALID_JSON', 'array', '["text"]', /expected a JSON object.*got an array/],
      ['INVALID_JSON', 'string', '"just text"', /expected a JSON object.*got string/],
      ['MISSING_TEXT', 'no text', '{"id": "x"}', /missing "text"/],
      ['MISSING_TEXT', 'null text', '{"text": null}', /missing "text"/],
      ['MISSING_TEXT', 'number text', '{"text": 5}', /"text" must be a string, got number 5/],
      ['INVALID_FIELD', 'number id', '{"text": "a", "id": 7}', /"id" must be a string.*quote it/],
      ['INVALID_FIELD', 'empty id', '{"text": "a", "id": ""}', /"id" is empty/],
      ['INVALID_FIELD', 'object label', '{"text": "a", "label": {}}', /"label" must be a string/],
      ['INVALID_FIELD', 'number source', '{"text": "a", "source": 1}', /"source" must be a/],
      ['INVALID_FIELD', 'bad split', '{"text": "a", "split": "dev"}', /TRAIN or HELDOUT, got/],
      ['INVALID_FIELD', 'array meta', '{"text": "a", "meta": [1]}', /"meta" must be a JSON object/],
      ['INVALID_FIELD', 'string meta', '{"text": "a", "meta": "{}"}', /"meta" must be a JSON/],
      [
        'INVALID_FIELD',
        'long id',
        `{"text": "a", "id": "${'x'.repeat(1025)}"}`,
        /longer than 1024/,
      ],
      ['INVALID_FIELD', 'NUL in text', '{"text": "a\\u0000b"}', /"text" contains a NUL/],
      [
        'INVALID_FIELD',
        'NUL in meta',
        '{"text": "a", "meta": {"k": ["\\u0000"]}}',
        /"meta.k\[0\]"/,
      ],
      ['INVALID_UTF8', 'lone surrogate', '{"text": "\\ud800"}', /lone surrogate/],
    ];

    for (const [reason, name, line, message] of badLines) {
      it(`skip reports ${reason}: ${name}`, async () => {
        const datasetId = await newDataset();
        const input = `{"text": "good 1"}\n${line}\n{"text": "good 3"}\n`;
        const report = await upload(datasetId, input, { onError: 'skip' });

        expect(report.imported).toBe(2);
        expect(report.rejected).toBe(1);
        expect(report.errors).toHaveLength(1);
        expect(report.errors[0]?.line).toBe(2);
        expect(report.errors[0]?.reason).toBe(reason);
        expect(report.errors[0]?.message).toMatch(message);
        expect(await storedTexts(datasetId)).toEqual(['good 1', 'good 3']);
      });

      it(`abort throws ${reason}: ${name}`, async () => {
        const datasetId = await newDataset();
        const input = `{"text": "good 1"}\n${line}\n{"text": "good 3"}\n`;
        const error = await uploadError(datasetId, input);

        expect(error.code).toBe('BAD_USER_INPUT');
        expect(error.details).toEqual({ line: 2, reason });
        expect(error.message).toMatch(/^Line 2: /);
        expect(error.message).toMatch(message);
        expect(error.message).toMatch(/onError=skip/);
        expect(await storedTexts(datasetId)).toEqual([]);
      });
    }

    it('rejects invalid UTF-8 bytes', async () => {
      const datasetId = await newDataset();
      const input = Buffer.concat([
        Buffer.from('{"text": "ok"}\n{"text": "'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('"}\n{"text": "also ok"}'),
      ]);
      const report = await upload(datasetId, input, { onError: 'skip' });

      expect(report.rejected).toBe(1);
      expect(report.errors[0]).toMatchObject({ line: 2, reason: 'INVALID_UTF8' });
      expect(report.errors[0]?.message).toMatch(/save the file with UTF-8 encoding/);
      expect(await storedTexts(datasetId)).toEqual(['ok', 'also ok']);

      const error = await uploadError(await newDataset(), input);
      expect(error.details).toEqual({ line: 2, reason: 'INVALID_UTF8' });
    });

    it('rejects encoded surrogate as UTF-8', async () => {
      const datasetId = await newDataset();
      // ED A0 80 would encode U+D800, which UTF-8 does not allow.
      const input = Buffer.concat([
        Buffer.from('{"text": "'),
        Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from('"}\n'),
      ]);
      const error = await uploadError(datasetId, input);
      expect(error.details).toEqual({ line: 1, reason: 'INVALID_UTF8' });
    });

    it('rejects line over maxLineBytes', async () => {
      const datasetId = await newDataset();
      const long = JSON.stringify({ text: 'x'.repeat(200) });
      const input = `{"text": "short"}\n${long}\n{"text": "after"}\n`;
      const report = await upload(datasetId, input, { onError: 'skip', maxLineBytes: 100 });

      expect(report.errors).toEqual([
        {
          line: 2,
          reason: 'LINE_TOO_LONG',
          message: expect.stringMatching(/line is 211 bytes, over the limit of 100 bytes/),
        },
      ]);
      expect(await storedTexts(datasetId)).toEqual(['short', 'after']);
    });

    it('counts maxLineBytes without CRLF', async () => {
      const datasetId = await newDataset();
      const line = '{"text": "12345"}'; // 17 bytes
      const report = await upload(datasetId, `${line}\r\n${line}\r\n`, { maxLineBytes: 17 });
      expect(report.imported).toBe(2);

      const error = await uploadError(await newDataset(), `${line}\r\n`, { maxLineBytes: 16 });
      expect(error.details).toEqual({ line: 1, reason: 'LINE_TOO_LONG' });
    });

    it('skips giant line without buffering it', async () => {
      const datasetId = await newDataset();
      const chunk = Buffer.alloc(64 * 1024, 'x'.charCodeAt(0));
      async function* input(): AsyncGenerator<Buffer> {
        yield Buffer.from('{"text": "before"}\n{"text": "');
        for (let i = 0; i < 320; i++) yield chunk; // 20 MiB
        yield Buffer.from('"}\n{"text": "after"}\n');
      }
      const report = await upload(datasetId, input(), {
        onError: 'skip',
        maxLineBytes: 1024 * 1024,
      });

      expect(report.imported).toBe(2);
      expect(report.errors).toEqual([
        expect.objectContaining({ line: 2, reason: 'LINE_TOO_LONG' }),
      ]);
      expect(report.errors[0]?.message).toMatch(/is 20971532 bytes/);
    });

    it('rejects id repeated in file', async () => {
      const datasetId = await newDataset();
      const input = ndjson(
        { id: 'a', text: '1' },
        { id: 'b', text: '2' },
        { id: 'a', text: '3' },
        { id: 'c', text: '4' },
      );
      const report = await upload(datasetId, input, { onError: 'skip' });

      expect(report.imported).toBe(3);
      expect(report.errors).toEqual([
        {
          line: 3,
          reason: 'DUPLICATE_ID',
          message: expect.stringMatching(/id "a" appears earlier in this upload, on line 1/),
        },
      ]);
      expect(await storedTexts(datasetId)).toEqual(['1', '2', '4']);
    });

    it('rejects id repeated across batches', async () => {
      const datasetId = await newDataset();
      const input = ndjson(
        { id: 'a', text: '1' },
        { id: 'b', text: '2' },
        { id: 'c', text: '3' },
        { id: 'a', text: '4' },
        { id: 'd', text: '5' },
      );
      const report = await upload(datasetId, input, { onError: 'skip', maxBatchRows: 2 });

      expect(report.imported).toBe(4);
      expect(report.errors).toEqual([
        {
          line: 4,
          reason: 'DUPLICATE_ID',
          message: expect.stringMatching(/id "a" appears on an earlier line of this upload/),
        },
      ]);

      const error = await uploadError(await newDataset(), input, { maxBatchRows: 2 });
      expect(error.details).toEqual({ line: 4, reason: 'DUPLICATE_ID' });
    });

    it('rejects id already in dataset', async () => {
      const datasetId = await newDataset();
      await upload(datasetId, ndjson({ id: 'old', text: 'existing' }));

      const input = ndjson({ id: 'new', text: 'n' }, { id: 'old', text: 'again' });
      const report = await upload(datasetId, input, { onError: 'skip' });
      expect(report.errors).toEqual([
        {
          line: 2,
          reason: 'DUPLICATE_ID',
          message: expect.stringMatching(/id "old" already exists in the dataset/),
        },
      ]);
      expect(await storedTexts(datasetId)).toEqual(['existing', 'n']);

      const error = await uploadError(datasetId, ndjson({ id: 'old', text: 'x' }));
      expect(error.details).toEqual({ line: 1, reason: 'DUPLICATE_ID' });
    });

    it('abort leaves no rows after flushed batches', async () => {
      const datasetId = await newDataset();
      const good = Array.from({ length: 9 }, (_, i) => ({ id: `g${i}`, text: `good ${i}` }));
      const input = ndjson(...good) + 'not json\n';
      const error = await uploadError(datasetId, input, { maxBatchRows: 2 });

      expect(error.details).toEqual({ line: 10, reason: 'INVALID_JSON' });
      expect(error.message).toMatch(/Nothing was imported/);
      expect(await storedTexts(datasetId)).toEqual([]);
    });

    it('abort reports earliest error first', async () => {
      const datasetId = await newDataset();
      await upload(datasetId, ndjson({ id: 'taken', text: 'x' }));

      // The duplicate on line 2 is found when its batch is checked, after line 4 was parsed.
      const input = ndjson({ text: 'a' }, { id: 'taken', text: 'b' }, { text: 'c' }) + '{oops\n';
      const error = await uploadError(datasetId, input);
      expect(error.details).toEqual({ line: 2, reason: 'DUPLICATE_ID' });
    });

    it('skip lists errors in line order', async () => {
      const datasetId = await newDataset();
      await upload(datasetId, ndjson({ id: 'taken', text: 'x' }));

      const input = ndjson({ text: 'a' }, { id: 'taken', text: 'b' }) + '{oops\n';
      const report = await upload(datasetId, input, { onError: 'skip' });
      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [2, 'DUPLICATE_ID'],
        [3, 'INVALID_JSON'],
      ]);
    });

    it('caps the error list', async () => {
      const datasetId = await newDataset();
      const lines = Array.from({ length: 25 }, (_, i) => (i % 2 === 0 ? '{bad' : '{"text": "ok"}'));
      const report = await upload(datasetId, lines.join('\n'), {
        onError: 'skip',
        maxReportedErrors: 3,
      });

      expect(report.imported).toBe(12);
      expect(report.rejected).toBe(13);
      expect(report.errors.map((error) => error.line)).toEqual([1, 3, 5]);
    });

    it('strips byte order mark', async () => {
      const datasetId = await newDataset();
      const report = await upload(datasetId, '\uFEFF{"text": "a"}\n{"text": "b"}\n');
      expect(report.imported).toBe(2);
      expect(await storedTexts(datasetId)).toEqual(['a', 'b']);
    });

    it('strips byte order mark split across chunks', async () => {
      const datasetId = await newDataset();
      const report = await upload(datasetId, [
        Buffer.from([0xef]),
        Buffer.from([0xbb]),
        Buffer.from([0xbf, 0x7b]),
        '"text": "a"}',
      ]);
      expect(report.imported).toBe(1);
      expect(await storedTexts(datasetId)).toEqual(['a']);
    });

    it('handles CRLF, mixed ends and blanks', async () => {
      const datasetId = await newDataset();
      const input = '{"text": "a"}\r\n\r\n  \t \n{"text": "b"}\n\n{"text": "c"}\r\n{bad}\r\n';
      const report = await upload(datasetId, input, { onError: 'skip' });

      expect(report.imported).toBe(3);
      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [7, 'INVALID_JSON'],
      ]);
      expect(await storedTexts(datasetId)).toEqual(['a', 'b', 'c']);
    });

    it('keeps CR inside JSON strings', async () => {
      const datasetId = await newDataset();
      await upload(datasetId, '{"text": "a\\r\\nb\\n"}\r\n');
      expect(await storedTexts(datasetId)).toEqual(['a\r\nb\n']);
    });

    it('accepts missing final newline', async () => {
      const datasetId = await newDataset();
      const report = await upload(datasetId, '{"text": "a"}\n{"text": "last"}');
      expect(report.imported).toBe(2);
      expect(await storedTexts(datasetId)).toEqual(['a', 'last']);
    });

    it('imports nothing from empty input', async () => {
      const datasetId = await newDataset();
      expect(await upload(datasetId, '')).toEqual({ imported: 0, rejected: 0, errors: [] });
      expect(await upload(datasetId, [])).toEqual({ imported: 0, rejected: 0, errors: [] });
      expect(await upload(datasetId, '\n\r\n  \n')).toEqual({
        imported: 0,
        rejected: 0,
        errors: [],
      });
      expect(await upload(datasetId, '\uFEFF')).toEqual({ imported: 0, rejected: 0, errors: [] });
    });

    it('reads input one byte at a time', async () => {
      const datasetId = await newDataset();
      const input = '\uFEFF{"text": "é€😀"}\r\n{bad\n\n{"text": "日本", "id": "x"}';
      const report = await upload(datasetId, byteByByte(input), { onError: 'skip' });

      expect(report.imported).toBe(2);
      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [2, 'INVALID_JSON'],
      ]);
      expect(await storedTexts(datasetId)).toEqual(['é€😀', '日本']);
    });
  });

  describe('CSV', () => {
    const csv = (input: Input | AsyncIterable<Buffer>, datasetId: string, onError = 'skip') =>
      upload(datasetId, input, { format: 'csv', onError: onError as 'skip' | 'abort' });

    it('imports columns in any order', async () => {
      const datasetId = await newDataset();
      const input =
        'ID,Split,Text,Label,Source,Meta,Extra\n' +
        'a,heldout,"hello, world",ham,web,"{""k"": [1, ""x""]}",ignored\n' +
        ',,plain,,,,\n';
      const report = await csv(input, datasetId);

      expect(report).toEqual({ imported: 2, rejected: 0, errors: [] });
      const rows = await storedRows(datasetId);
      expect(rows[0]).toMatchObject({
        external_id: 'a',
        split: 'HELDOUT',
        text: 'hello, world',
        label: 'ham',
        source: 'web',
        meta: { k: [1, 'x'] },
      });
      expect(rows[1]).toMatchObject({
        external_id: null,
        split: 'TRAIN',
        text: 'plain',
        label: null,
        source: null,
        meta: null,
      });
    });

    it('keeps newlines and quotes in fields', async () => {
      const datasetId = await newDataset();
      const input =
        'id,text\r\n' +
        'a,"line one\r\nline two ""quoted""\n\nend"\r\n' +
        'b,"x"\r\n' +
        'c,"""starts with a quote"\r\n';
      const report = await csv(input, datasetId);

      expect(report.imported).toBe(3);
      expect(await storedTexts(datasetId)).toEqual([
        'line one\r\nline two "quoted"\n\nend',
        'x',
        '"starts with a quote',
      ]);
    });

    it('reports first line of multi-line record', async () => {
      const datasetId = await newDataset();
      const input =
        'id,text\n' +
        'a,"two\nlines"\n' + // lines 2-3
        'b,"three\nmore\nlines",extra\n' + // lines 4-6: one field too many
        'c,ok\n'; // line 7
      const report = await csv(input, datasetId);

      expect(report.imported).toBe(2);
      expect(report.errors).toEqual([
        {
          line: 4,
          reason: 'INVALID_CSV',
          message: expect.stringMatching(/the record has 3 fields but the header has 2/),
        },
      ]);
    });

    it('recovers after malformed quotes', async () => {
      const datasetId = await newDataset();
      const input =
        'id,text\n' +
        'a,x"y"z\n' + // line 2: quote inside an unquoted field
        'b,"closed"junk\n' + // line 3: text after the closing quote
        'c,"fine, ""really"""\n' + // line 4
        'd,last\n'; // line 5
      const report = await csv(input, datasetId);

      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [2, 'INVALID_CSV'],
        [3, 'INVALID_CSV'],
      ]);
      expect(report.errors[0]?.message).toMatch(/quote appears inside an unquoted field/);
      expect(report.errors[1]?.message).toMatch(/characters follow the closing quote/);
      expect(await storedTexts(datasetId)).toEqual(['fine, "really"', 'last']);
    });

    it('rejects unclosed quote at end', async () => {
      const datasetId = await newDataset();
      const report = await csv('text\nok\n"never\nclosed\n', datasetId);

      expect(report.imported).toBe(1);
      expect(report.errors).toEqual([
        {
          line: 3,
          reason: 'INVALID_CSV',
          message: expect.stringMatching(/never closed/),
        },
      ]);
    });

    it('rejects invalid UTF-8 in record', async () => {
      const datasetId = await newDataset();
      const input = Buffer.concat([
        Buffer.from('id,text\na,"first line\nsecond '),
        Buffer.from([0xc3, 0x28]),
        Buffer.from(' line"\nb,fine\n'),
      ]);
      const report = await csv(input, datasetId);

      expect(report.errors).toEqual([
        {
          line: 2,
          reason: 'INVALID_UTF8',
          message: expect.stringMatching(/invalid UTF-8 bytes on line 3/),
        },
      ]);
      expect(await storedTexts(datasetId)).toEqual(['fine']);

      const error = await uploadError(await newDataset(), input, { format: 'csv' });
      expect(error.details).toEqual({ line: 2, reason: 'INVALID_UTF8' });
    });

    it('rejects record over maxLineBytes', async () => {
      const datasetId = await newDataset();
      const input = `text\nshort\n"${'x'.repeat(50)}\n${'y'.repeat(60)}"\nafter\n`;
      const report = await upload(datasetId, input, {
        format: 'csv',
        onError: 'skip',
        maxLineBytes: 100,
      });

      expect(report.errors).toEqual([
        {
          line: 3,
          reason: 'LINE_TOO_LONG',
          message: expect.stringMatching(/record is 113 bytes/),
        },
      ]);
      expect(await storedTexts(datasetId)).toEqual(['short', 'after']);
    });

    it('reports errors in line order', async () => {
      const datasetId = await newDataset();
      const input = Buffer.concat([
        Buffer.from('text,id\n"a"x,1\n'),
        Buffer.from([0xff]),
        Buffer.from(',2\n,3\nlast,3\n'),
      ]);
      const report = await csv(input, datasetId);

      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [2, 'INVALID_CSV'],
        [3, 'INVALID_UTF8'],
        [5, 'DUPLICATE_ID'],
      ]);
      expect(await storedRows(datasetId)).toEqual([expect.objectContaining({ text: '' })]);
    });

    it('checks fields like NDJSON', async () => {
      const datasetId = await newDataset();
      const input =
        'text,id,split,meta\n' +
        'a,1,dev,\n' + // line 2: bad split
        'b,2,,[1]\n' + // line 3: meta not an object
        'c,3,,{bad\n' + // line 4: meta not JSON
        'd,1,train,\n' + // line 5: duplicate id
        'e,5,TRAIN,{}\n'; // line 6: fine
      const report = await csv(input, datasetId);

      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [2, 'INVALID_FIELD'],
        [3, 'INVALID_FIELD'],
        [4, 'INVALID_FIELD'],
      ]);
      expect(report.errors[2]?.message).toMatch(/"meta" is not valid JSON/);
      // Line 2 was rejected, so id 1 is first used on line 5.
      expect(await storedTexts(datasetId)).toEqual(['d', 'e']);
    });

    it('rejects NUL byte in field', async () => {
      const datasetId = await newDataset();
      const report = await csv('text\n"a\u0000b"\n', datasetId);
      expect(report.errors).toEqual([
        expect.objectContaining({ line: 2, reason: 'INVALID_FIELD' }),
      ]);
    });

    it('throws on header without text', async () => {
      const error = await uploadError(await newDataset(), 'id,label\na,b\n', {
        format: 'csv',
        onError: 'skip',
      });
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.details).toEqual({ line: 1, reason: 'MISSING_TEXT' });
      expect(error.message).toMatch(/header has no "text" column/);
    });

    it('throws on repeated header column', async () => {
      const error = await uploadError(await newDataset(), 'text,Text\na,b\n', {
        format: 'csv',
        onError: 'skip',
      });
      expect(error.details).toEqual({ line: 1, reason: 'INVALID_CSV' });
      expect(error.message).toMatch(/names column "text" twice/);
    });

    it('throws on invalid header bytes', async () => {
      const input = Buffer.concat([Buffer.from('te'), Buffer.from([0xff]), Buffer.from('xt\na\n')]);
      const error = await uploadError(await newDataset(), input, {
        format: 'csv',
        onError: 'skip',
      });
      expect(error.details).toEqual({ line: 1, reason: 'INVALID_UTF8' });
    });

    it('handles BOM, blanks and no final newline', async () => {
      const datasetId = await newDataset();
      const report = await csv('\uFEFFtext\r\n\r\none\n\ntwo', datasetId, 'abort');
      expect(report).toEqual({ imported: 2, rejected: 0, errors: [] });
      expect(await storedTexts(datasetId)).toEqual(['one', 'two']);
    });

    it('imports nothing from empty or header-only input', async () => {
      const datasetId = await newDataset();
      expect(await csv('', datasetId)).toEqual({ imported: 0, rejected: 0, errors: [] });
      expect(await csv('text,id\n', datasetId)).toEqual({ imported: 0, rejected: 0, errors: [] });
    });

    it('abort leaves no rows', async () => {
      const datasetId = await newDataset();
      const error = await uploadError(datasetId, 'text\na\nb\n"c"d\n', {
        format: 'csv',
        maxBatchRows: 1,
      });
      expect(error.details).toEqual({ line: 4, reason: 'INVALID_CSV' });
      expect(await storedTexts(datasetId)).toEqual([]);
    });

    it('reads input one byte at a time', async () => {
      const datasetId = await newDataset();
      const input = '\uFEFFid,text\r\n1,"é\r\n€"\r\n2,x"y\r\n3,😀';
      const report = await csv(byteByByte(input), datasetId);

      expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
        [4, 'INVALID_CSV'],
      ]);
      expect(await storedTexts(datasetId)).toEqual(['é\r\n€', '😀']);
    });
  });

  describe('arguments', () => {
    it('throws NOT_FOUND for unknown dataset', async () => {
      for (const datasetId of [crypto.randomUUID(), 'not-a-uuid']) {
        const error = await uploadError(datasetId, '{"text": "a"}');
        expect(error.code).toBe('NOT_FOUND');
        expect(error.message).toContain(datasetId);
      }
    });

    it('throws BAD_USER_INPUT for invalid options', async () => {
      const datasetId = await newDataset();
      const cases: Array<[Partial<UploadOptions>, RegExp]> = [
        [{ format: 'xml' as 'csv' }, /Invalid upload format "xml"/],
        [{ onError: 'ignore' as 'skip' }, /Invalid onError "ignore"/],
        [{ maxLineBytes: 0 }, /Invalid maxLineBytes 0/],
        [{ maxLineBytes: 2 ** 30 }, /Invalid maxLineBytes 1073741824/],
      ];
      for (const [options, message] of cases) {
        const error = await uploadError(datasetId, '', options);
        expect(error.code).toBe('BAD_USER_INPUT');
        expect(error.message).toMatch(message);
      }
    });
  });

  describe('large input', () => {
    it('streams 50 MB in bounded memory', async () => {
      const datasetId = await newDataset();
      const chunkRows = 500;
      const chunkCount = 400;
      const text = 'lorem ipsum dolor sit amet '.repeat(9); // 243 bytes
      let yielded = 0;
      let maxAhead = 0;
      let lastProgress: UploadProgress = { bytes: 0, line: 0, imported: 0, rejected: 0 };
      const progressCalls: UploadProgress[] = [];

      async function* generate(): AsyncGenerator<Buffer> {
        for (let c = 0; c < chunkCount; c++) {
          let body = '';
          for (let r = 0; r < chunkRows; r++) {
            const n = c * chunkRows + r;
            body += `{"id":"r${n}","text":"${text}${n}","source":"s${n % 7}"}\n`;
          }
          const chunk = Buffer.from(body);
          yielded += chunk.length;
          // Input read but not yet sent or rejected: what the upload keeps beyond the batch in flight.
          maxAhead = Math.max(maxAhead, yielded - lastProgress.bytes);
          yield chunk;
        }
      }

      const report = await upload(datasetId, generate(), {
        onProgress: (progress) => {
          lastProgress = progress;
          progressCalls.push(progress);
        },
      });

      const rows = chunkRows * chunkCount;
      expect(yielded).toBeGreaterThan(50_000_000);
      expect(report).toEqual({ imported: rows, rejected: 0, errors: [] });
      const { rows: counted } = await db.pool.query<{ count: number }>(
        'SELECT count(*)::int AS count FROM example WHERE dataset_id = $1',
        [datasetId],
      );
      expect(counted[0]?.count).toBe(rows);

      // Each batch (2,000 rows, about 0.6 MB) is sent before much more input is read.
      expect(progressCalls.length).toBeGreaterThanOrEqual(rows / 2000);
      expect(lastProgress.bytes).toBe(yielded);
      expect(maxAhead).toBeLessThan(2 * 1024 * 1024);
    });
  });
});

describe('RecordFramer', () => {
  it('buffers at most the limit of a giant line', () => {
    const framer = new RecordFramer({ maxRecordBytes: 1000, csvQuotes: false });
    const chunk = Buffer.alloc(4096, 0x78);
    for (let i = 0; i < 1000; i++) {
      expect(framer.push(chunk)).toEqual([]);
      expect(framer.bufferedBytes).toBeLessThanOrEqual(1001);
    }
    expect(framer.push(Buffer.from('\nok\n'))).toEqual([
      { kind: 'tooLong', line: 1, length: 4096 * 1000, end: 4096 * 1000 + 1 },
      { kind: 'record', line: 2, bytes: Buffer.from('ok'), end: 4096 * 1000 + 4 },
    ]);
  });

  it('frames quoted newlines as one record', async () => {
    const records = [];
    const input = chunks(['a,"b\n', 'c""\n"', '\r\nd\n']);
    for await (const batch of frameRecords(input, { maxRecordBytes: 100, csvQuotes: true })) {
      records.push(...batch);
    }
    expect(records).toEqual([
      { kind: 'record', line: 1, bytes: Buffer.from('a,"b\nc""\n"'), end: 12 },
      { kind: 'record', line: 4, bytes: Buffer.from('d'), end: 14 },
    ]);
  });
});

describe('RecordFramer CSV quotes', () => {
  const frame = (text: string) => {
    const framer = new RecordFramer({ maxRecordBytes: 100, csvQuotes: true });
    return [...framer.push(Buffer.from(text)), ...framer.end()].map((record) =>
      record.kind === 'record'
        ? [record.line, record.bytes.toString()]
        : [record.line, record.kind],
    );
  };

  it('ignores quote inside unquoted field', () => {
    expect(frame('a,x"y\nb\n')).toEqual([
      [1, 'a,x"y'],
      [2, 'b'],
    ]);
  });

  it('keeps escaped quote inside quoted field', () => {
    expect(frame('"a""\nb",c\nd')).toEqual([
      [1, '"a""\nb",c'],
      [3, 'd'],
    ]);
  });

  it('ends record after closed field and junk', () => {
    expect(frame('"a"x\n"b\nc"\n')).toEqual([
      [1, '"a"x'],
      [2, '"b\nc"'],
    ]);
  });

  it('reports quote left open', () => {
    expect(frame('a\n"b\nc\n')).toEqual([
      [1, 'a'],
      [2, 'unclosedQuote'],
    ]);
  });
});

describe('importExamples on embedded PGlite', () => {
  let dataDir: string;
  let embedded: EmbeddedPostgres;
  let db: Database;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'uploads-pglite-'));
    embedded = await startEmbeddedPostgres(dataDir);
    await migrate(embedded.url);
    db = openDatabase(embedded.url, { embedded: true, poolSize: 2 });
  });
  afterAll(async () => {
    await db?.close();
    await embedded?.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('imports and finds duplicates', async () => {
    const datasetId = crypto.randomUUID();
    await db.pool.query(`INSERT INTO dataset (id, name, updated_at) VALUES ($1, 'e', now())`, [
      datasetId,
    ]);
    await importExamples(db, datasetId, chunks(ndjson({ id: 'old', text: 'o' })), {
      format: 'ndjson',
    });

    const input = ndjson(
      { id: 'a', text: '1' },
      { id: 'b', text: '2' },
      { id: 'a', text: '3' },
      { id: 'old', text: '4' },
      { text: '5' },
    );
    const report = await importExamples(db, datasetId, chunks(input), {
      format: 'ndjson',
      onError: 'skip',
      maxBatchRows: 2,
    });

    expect(report.imported).toBe(3);
    expect(report.errors.map((error) => [error.line, error.reason])).toEqual([
      [3, 'DUPLICATE_ID'],
      [4, 'DUPLICATE_ID'],
    ]);
    expect(report.errors[0]?.message).toMatch(/earlier line of this upload/);
    expect(report.errors[1]?.message).toMatch(/already exists in the dataset/);

    const error = await importExamples(db, datasetId, chunks('{"text": "x"}\n{bad'), {
      format: 'ndjson',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).details).toEqual({ line: 2, reason: 'INVALID_JSON' });

    const { rows } = await db.pool.query<{ text: string }>(
      'SELECT text FROM example WHERE dataset_id = $1 ORDER BY seq',
      [datasetId],
    );
    expect(rows.map((row) => row.text)).toEqual(['o', '1', '2', '5']);
  });
});
