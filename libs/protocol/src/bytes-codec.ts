// RustDesk's TCP framing, BytesCodec (docs/protocol.md §1; hbb_common src/bytes_codec.rs): a 1–4 byte
// little-endian header whose low 2 bits are (header length − 1) and whose remaining bits are the
// payload length.

/** The largest length the 4-byte header can express. */
export const MAX_ENCODABLE_FRAME_BYTES = 0x3fffffff;

export class FrameTooLargeError extends Error {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`frame of ${length} bytes exceeds the ${limit}-byte limit`);
    this.name = 'FrameTooLargeError';
  }
}

export function encodeFrameHeader(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > MAX_ENCODABLE_FRAME_BYTES) {
    throw new RangeError(`cannot frame ${length} bytes`);
  }
  const size = length <= 0x3f ? 1 : length <= 0x3fff ? 2 : length <= 0x3fffff ? 3 : 4;
  const header = Buffer.alloc(size);
  header.writeUIntLE(length * 4 + (size - 1), 0, size);
  return header;
}

export function encodeFrame(payload: Uint8Array): Buffer {
  return Buffer.concat([encodeFrameHeader(payload.length), payload]);
}

/**
 * The frame at the start of `buffer`, with the number of bytes it took (header included), or undefined
 * while incomplete. Throws FrameTooLargeError as soon as the header announces more than the limit,
 * before any of it is buffered, so a hostile length prefix costs nothing.
 */
export function decodeFrame(
  buffer: Buffer,
  maxFrameBytes: number,
): { frame: Buffer; size: number } | undefined {
  const first = buffer[0];
  if (first === undefined) return undefined;
  const headerBytes = (first & 0b11) + 1;
  if (buffer.length < headerBytes) return undefined;
  const length = Math.floor(buffer.readUIntLE(0, headerBytes) / 4);
  if (length > maxFrameBytes) throw new FrameTooLargeError(length, maxFrameBytes);
  if (buffer.length < headerBytes + length) return undefined;
  return { frame: buffer.subarray(headerBytes, headerBytes + length), size: headerBytes + length };
}

/** Incremental decoder over a byte stream. */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(readonly maxFrameBytes: number) {}

  /** Appends bytes and returns every frame they complete (possibly none); see decodeFrame for errors. */
  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Buffer[] = [];
    for (let next = decodeFrame(this.buffered, this.maxFrameBytes); next;) {
      frames.push(Buffer.from(next.frame));
      this.buffered = this.buffered.subarray(next.size);
      next = decodeFrame(this.buffered, this.maxFrameBytes);
    }
    return frames;
  }

  /** Bytes received but not yet part of a complete frame. */
  get pendingBytes(): number {
    return this.buffered.length;
  }
}
