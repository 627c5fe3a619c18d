/**
 * Binary container for checkpoints and exported raters: a JSON header plus float32 arrays.
 *
 * Layout (little-endian): 4-byte magic "DRML", uint32 format version, uint32 header length in
 * bytes, the UTF-8 JSON header, zero padding to a multiple of 4, then every array's float32 values
 * in the order of `header.arrays`. The header lists each array's name and length.
 */
import { MlError } from './errors.js';

const MAGIC = 0x4c4d5244; // "DRML" read as a little-endian uint32
const FORMAT_VERSION = 1;
const PREAMBLE_BYTES = 12;

/** A named float32 array stored in a container. */
export interface NamedArray {
  name: string;
  values: Float32Array;
}

/** Header fields every container has; `kind` distinguishes checkpoints from raters. */
export interface ContainerHeader {
  kind: string;
  [field: string]: unknown;
}

/** Packs `header` and `arrays` into one buffer. */
export function packContainer(header: ContainerHeader, arrays: readonly NamedArray[]): Uint8Array {
  const fullHeader = {
    ...header,
    arrays: arrays.map((a) => ({ name: a.name, length: a.values.length })),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(fullHeader));
  const dataOffset = align4(PREAMBLE_BYTES + headerBytes.length);
  const totalFloats = arrays.reduce((sum, a) => sum + a.values.length, 0);
  const buffer = new ArrayBuffer(dataOffset + totalFloats * 4);

  const view = new DataView(buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  new Uint8Array(buffer).set(headerBytes, PREAMBLE_BYTES);

  let offset = dataOffset;
  for (const { values } of arrays) {
    for (let i = 0; i < values.length; i++) {
      view.setFloat32(offset + 4 * i, values[i]!, true);
    }
    offset += values.length * 4;
  }
  return new Uint8Array(buffer);
}

/** A decoded container: its header and arrays by name (copies, not views of the input). */
export interface Container {
  header: ContainerHeader;
  arrays: Map<string, Float32Array>;
}

/**
 * Reads a buffer written by {@link packContainer}. Throws an `MlError` with code
 * `INVALID_CHECKPOINT` when the magic, version, header or lengths do not match, or when the
 * header's `kind` differs from `expectedKind`.
 */
export function unpackContainer(bytes: Uint8Array, expectedKind: string): Container {
  if (!(bytes instanceof Uint8Array) || bytes.length < PREAMBLE_BYTES) {
    throw invalid(
      `expected a Uint8Array of at least ${PREAMBLE_BYTES} bytes, got ${describe(bytes)}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) {
    throw invalid('the data does not start with the "DRML" magic, so it is not a DataRater file');
  }
  const version = view.getUint32(4, true);
  if (version !== FORMAT_VERSION) {
    throw invalid(
      `format version ${version} is not supported (this build reads version ${FORMAT_VERSION})`,
    );
  }
  const headerLength = view.getUint32(8, true);
  if (PREAMBLE_BYTES + headerLength > bytes.length) {
    throw invalid(
      `the header claims ${headerLength} bytes but the data has ${bytes.length} in all`,
    );
  }

  let header: ContainerHeader & { arrays?: unknown };
  try {
    header = JSON.parse(
      new TextDecoder().decode(bytes.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)),
    );
  } catch (error) {
    throw invalid(`the header is not valid JSON: ${(error as Error).message}`);
  }
  if (header.kind !== expectedKind) {
    throw invalid(`expected a "${expectedKind}" file, got kind ${JSON.stringify(header.kind)}`);
  }
  const entries = header.arrays;
  if (!Array.isArray(entries)) {
    throw invalid('the header has no array directory');
  }

  const arrays = new Map<string, Float32Array>();
  let offset = align4(PREAMBLE_BYTES + headerLength);
  for (const entry of entries as Array<{ name: unknown; length: unknown }>) {
    if (
      typeof entry.name !== 'string' ||
      !Number.isSafeInteger(entry.length) ||
      (entry.length as number) < 0
    ) {
      throw invalid(`invalid array entry ${JSON.stringify(entry)}`);
    }
    const length = entry.length as number;
    if (offset + 4 * length > bytes.length) {
      throw invalid(`array "${entry.name}" runs past the end of the data (truncated file?)`);
    }
    const values = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      values[i] = view.getFloat32(offset + 4 * i, true);
    }
    arrays.set(entry.name, values);
    offset += 4 * length;
  }
  if (offset !== bytes.length) {
    throw invalid(`${bytes.length - offset} unexpected bytes after the last array`);
  }
  delete header.arrays;
  return { header, arrays };
}

/** Returns the array `name` of a container, or throws `INVALID_CHECKPOINT` naming it. */
export function requireArray(container: Container, name: string, length?: number): Float32Array {
  const values = container.arrays.get(name);
  if (values === undefined) {
    throw invalid(`array "${name}" is missing`);
  }
  if (length !== undefined && values.length !== length) {
    throw invalid(`array "${name}" has ${values.length} values, expected ${length}`);
  }
  return values;
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function invalid(detail: string): MlError {
  return new MlError('INVALID_CHECKPOINT', `Cannot read DataRater data: ${detail}`);
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) {
    return `${value.length} bytes`;
  }
  return value === null ? 'null' : typeof value;
}
