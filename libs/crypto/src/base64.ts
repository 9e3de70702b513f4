// Standard-alphabet base64, as hbbs writes it. Buffer's own decoder skips characters it does not know,
// which would let a corrupt key file "decode" to something; this one refuses anything but base64.
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes padded or unpadded base64; undefined when the text is not base64 at all. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const unpadded = text.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return undefined;
  if (text.length !== unpadded.length && text.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(unpadded, 'base64'));
}
