import { decodeFrame, encodeFrame, encodeFrameHeader, FrameDecoder, FrameTooLargeError } from './bytes-codec';

describe('BytesCodec header (docs/protocol.md §1 vectors)', () => {
  it.each([
    [0, '00'],
    [1, '04'],
    [63, 'fc'],
    [64, '0101'],
    [16383, 'fdff'],
    [16384, '020001'],
    [0x3fffff, 'feffff'],
    [0x400000, '03000001'],
  ])('length %i → %s', (length, hex) => {
    expect(encodeFrameHeader(length).toString('hex')).toBe(hex);
  });

  it('refuses lengths the header cannot carry', () => {
    expect(() => encodeFrameHeader(0x40000000)).toThrow(RangeError);
    expect(() => encodeFrameHeader(-1)).toThrow(RangeError);
  });
});

describe('FrameDecoder', () => {
  const payloads = [Buffer.alloc(0), Buffer.from('hi'), Buffer.alloc(64, 7), Buffer.alloc(20000, 9)];
  const stream = Buffer.concat(payloads.map((payload) => encodeFrame(payload)));

  it('reassembles frames fed one byte at a time, empty frames included', () => {
    const decoder = new FrameDecoder(64 * 1024);
    const frames: Buffer[] = [];
    for (const byte of stream) frames.push(...decoder.push(Buffer.from([byte])));
    expect(frames).toEqual(payloads);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('returns several frames from one chunk and keeps a partial one pending', () => {
    const decoder = new FrameDecoder(64 * 1024);
    expect(decoder.push(stream.subarray(0, stream.length - 5))).toEqual(payloads.slice(0, 3));
    expect(decoder.pendingBytes).toBeGreaterThan(0);
    expect(decoder.push(stream.subarray(stream.length - 5))).toEqual(payloads.slice(3));
  });

  it('rejects an oversized frame from its header alone', () => {
    const decoder = new FrameDecoder(64 * 1024);
    const header = encodeFrameHeader(64 * 1024 + 1);
    expect(() => decoder.push(header)).toThrow(FrameTooLargeError);
    expect(() => decodeFrame(Buffer.from('ffffffff', 'hex'), 1024)).toThrow(
      'frame of 1073741823 bytes exceeds the 1024-byte limit',
    );
  });

  it('accepts a frame of exactly the limit', () => {
    const decoder = new FrameDecoder(100);
    expect(decoder.push(encodeFrame(Buffer.alloc(100, 1)))).toEqual([Buffer.alloc(100, 1)]);
  });
});
