/**
 * CRC-32 (IEEE 802.3, the polynomial of zip, PNG and `zlib.crc32`), for the checksum of identifiable
 * secrets. A checksum, not a MAC: it lets anyone tell a mistyped or made-up value from a real one without
 * asking the server, which is its purpose.
 */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The CRC-32 of a string's UTF-8 bytes, as an unsigned 32-bit number. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of Buffer.from(text, 'utf8')) crc = TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
