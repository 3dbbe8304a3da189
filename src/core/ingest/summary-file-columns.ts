/**
 * Numeric column codecs of the summary format (summary-file.ts): each column is stored in the
 * narrowest encoding that gives back every value exactly, and read back into a typed array.
 */
import * as os from 'node:os';
import type { Column, NumEncoding, StoredColumn } from './summary-file';

const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

const fitsI32 = (v: number): boolean => Number.isInteger(v) && v >= I32_MIN && v <= I32_MAX;

/** Typed arrays are read in the machine's byte order: the format is little-endian. */
export function assertLittleEndian(): void {
  if (os.endianness() !== 'LE')
    throw new Error('GPU Lens summaries are little-endian; this machine is big-endian');
}

/** The encoding of a column of `values` (`base`: the values of the spec's base column). */
export function chooseEncoding(
  col: Column,
  values: Float64Array,
  base: Float64Array | undefined,
): StoredColumn['enc'] {
  if (col.type === 'bool' || col.type === 'enum') return 'u8';
  if (col.type !== 'num') return 'i32';
  if (col.optional) return 'f64';
  const all = (f: (i: number) => boolean): boolean => {
    for (let i = 0; i < values.length; i++) if (!f(i)) return false;
    return true;
  };
  // Differences are exact only between safe integers.
  const safe = all((i) => Number.isSafeInteger(values[i]));
  if (safe && base && all((i) => Number.isSafeInteger(base[i]) && fitsI32(values[i] - base[i])))
    return 'r32';
  if (safe && col.sorted && all((i) => i === 0 || fitsI32(values[i] - values[i - 1]))) return 'd32';
  if (all((i) => fitsI32(values[i]))) return 'i32';
  return 'f64';
}

/** The bytes of `values` in `enc`. */
export function encodeValues(
  enc: StoredColumn['enc'],
  values: Float64Array,
  base: Float64Array | undefined,
): Uint8Array {
  const n = values.length;
  switch (enc) {
    case 'u8':
      return Uint8Array.from(values);
    case 'f64':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    case 'i32':
      return asBytes(Int32Array.from(values));
    case 'd32': {
      // The first row's difference is to itself (the column's origin is its value).
      const out = new Int32Array(n);
      for (let i = 1; i < n; i++) out[i] = values[i] - values[i - 1];
      return asBytes(out);
    }
    case 'r32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = values[i] - (base as Float64Array)[i];
      return asBytes(out);
    }
  }
}

/**
 * The values of a stored column: `bytes` is 8-aligned and exactly `rows` values long (checked by
 * the caller). `base` holds the base column's values for `r32`, `origin` is `d32`'s.
 */
export function decodeValues(
  enc: StoredColumn['enc'],
  bytes: Uint8Array,
  rows: number,
  base: ArrayLike<number> | undefined,
  origin = 0,
): ArrayLike<number> {
  const { buffer, byteOffset } = bytes;
  switch (enc) {
    case 'u8':
      return bytes;
    case 'f64':
      return new Float64Array(buffer, byteOffset, rows);
    case 'i32':
      return new Int32Array(buffer, byteOffset, rows);
    case 'd32': {
      const d = new Int32Array(buffer, byteOffset, rows);
      const out = new Float64Array(rows);
      let v = origin;
      for (let i = 0; i < rows; i++) out[i] = v += d[i];
      return out;
    }
    case 'r32': {
      const d = new Int32Array(buffer, byteOffset, rows);
      const out = new Float64Array(rows);
      for (let i = 0; i < rows; i++) out[i] = (base as ArrayLike<number>)[i] + d[i];
      return out;
    }
  }
}

/** Encodings a reader accepts for a column of this kind. */
export function allowedEncodings(col: Column): readonly StoredColumn['enc'][] {
  if (col.type === 'bool' || col.type === 'enum') return ['u8'];
  if (col.type !== 'num') return ['i32'];
  if (col.optional) return ['f64'];
  const out: NumEncoding[] = ['i32', 'f64'];
  if (col.sorted) out.push('d32');
  if (col.base) out.push('r32');
  return out;
}

function asBytes(a: Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
