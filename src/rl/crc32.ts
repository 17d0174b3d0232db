/**
 * Table-driven reflected CRCs with init and final XOR 0xFFFFFFFF: CRC-32 (IEEE 802.3, the one of zip,
 * PNG and gzip; polynomial 0xEDB88320) for checkpoint files, and CRC-32C (Castagnoli; 0x82F63B78)
 * for TensorBoard's TFRecords.
 */

/** The byte table of a reflected polynomial. */
function crcTable(polynomial: number): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? polynomial ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

const CRC32 = crcTable(0xedb88320);
const CRC32C = crcTable(0x82f63b78);

function crcOf(table: Uint32Array, bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The CRC-32 of `bytes`, as an unsigned 32-bit number.
 *
 * @example
 * crc32(new TextEncoder().encode('123456789')); // 0xcbf43926
 */
export function crc32(bytes: Uint8Array): number {
  return crcOf(CRC32, bytes);
}

/**
 * The CRC-32C (Castagnoli) of `bytes`, as an unsigned 32-bit number.
 *
 * @example
 * crc32c(new TextEncoder().encode('123456789')); // 0xe3069283
 */
export function crc32c(bytes: Uint8Array): number {
  return crcOf(CRC32C, bytes);
}
