/** Prisma's Bytes columns are typed Uint8Array<ArrayBuffer>; a Buffer may sit on a shared pool. */
export function toBytes(buffer: Buffer): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(new ArrayBuffer(buffer.length));
  bytes.set(buffer);
  return bytes;
}
