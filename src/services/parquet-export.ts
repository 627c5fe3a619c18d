// Parquet encoding of exported examples with hyparquet-writer (pure JavaScript, no native
// code), one row group per batch. Each row group's bytes leave as soon as it is written, so
// memory stays within one batch, its encoding, and the file's metadata (a few hundred bytes per row
// group), which the footer needs at the end.
import { ByteWriter, ParquetWriter, type ColumnSource, type SchemaElement } from 'hyparquet-writer';
import { exampleGlobalId, type ExportRow } from './export-row.js';

const STRING = { type: 'BYTE_ARRAY', converted_type: 'UTF8' } as const;

/** Columns of an exported Parquet file, in file order. */
function exportSchema(withScore: boolean): SchemaElement[] {
  const columns: SchemaElement[] = [
    { name: 'exampleId', ...STRING, repetition_type: 'REQUIRED' },
    { name: 'id', ...STRING, repetition_type: 'OPTIONAL' },
    { name: 'text', ...STRING, repetition_type: 'REQUIRED' },
    { name: 'label', ...STRING, repetition_type: 'OPTIONAL' },
    { name: 'source', ...STRING, repetition_type: 'OPTIONAL' },
    { name: 'split', ...STRING, repetition_type: 'REQUIRED' },
    { name: 'meta', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
  ];
  if (withScore) columns.push({ name: 'score', type: 'FLOAT', repetition_type: 'OPTIONAL' });
  return [{ name: 'root', num_children: columns.length }, ...columns];
}

/**
 * Encodes batches of rows as one Parquet file, yielding the bytes of each row group as soon as
 * it is written and the footer at the end. An empty export is a valid file with no row groups.
 */
export async function* encodeParquet(
  batches: AsyncIterable<ExportRow[]>,
  withScore: boolean,
): AsyncGenerator<Buffer> {
  const pending: Buffer[] = [];
  // ParquetWriter calls flush after each row group; this moves the bytes out and rewinds the
  // buffer. `offset` keeps counting, so the footer's file offsets stay right.
  const writer: ByteWriter & { flush(): void } = Object.assign(new ByteWriter(), {
    flush() {
      pending.push(Buffer.from(writer.getBytes()));
      writer.index = 0;
    },
  });
  const parquet = new ParquetWriter({
    writer,
    schema: exportSchema(withScore),
    createdBy: 'datarater-server',
  });

  for await (const rows of batches) {
    await parquet.write({ columnData: columnData(rows, withScore), rowGroupSize: rows.length });
    yield* takePending(pending);
  }
  await parquet.finish();
  writer.flush();
  yield* takePending(pending);
}

function* takePending(pending: Buffer[]): Generator<Buffer> {
  while (pending.length > 0) yield pending.shift()!;
}

function columnData(rows: ExportRow[], withScore: boolean): ColumnSource[] {
  const columns: ColumnSource[] = [
    { name: 'exampleId', data: rows.map((row) => exampleGlobalId(row.seq)) },
    { name: 'id', data: rows.map((row) => row.id) },
    { name: 'text', data: rows.map((row) => row.text) },
    { name: 'label', data: rows.map((row) => row.label) },
    { name: 'source', data: rows.map((row) => row.source) },
    { name: 'split', data: rows.map((row) => row.split) },
    { name: 'meta', data: rows.map((row) => row.meta ?? null) },
  ];
  if (withScore) columns.push({ name: 'score', data: rows.map((row) => row.score) });
  return columns;
}
