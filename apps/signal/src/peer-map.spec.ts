import { bytesKey, PeerMap, type PeerLink } from './peer-map';

function link(closed = false): PeerLink {
  return {
    closed,
    remote: { address: '192.0.2.1', port: 4000 },
    sendMessage: () => undefined,
    destroy: () => undefined,
  };
}

describe('PeerMap', () => {
  it('counts a peer online for the window after its last registration, and not after', () => {
    const peers = new PeerMap(30_000);
    const peer = peers.create('123456789', 0)!;
    expect(peers.isOnline(peer, 0)).toBe(false);
    peer.lastRegTime = 1_000;
    expect(peers.isOnline(peer, 30_999)).toBe(true);
    expect(peers.isOnline(peer, 31_000)).toBe(false);
    expect(peers.countOnline(20_000)).toBe(1);
    expect(peers.countOnline(40_000)).toBe(0);
  });

  it('keeps a peer online while its registration link is open, whatever its last registration', () => {
    const peers = new PeerMap(30_000);
    const peer = peers.create('123456789', 0)!;
    peer.link = link();
    expect(peers.isOnline(peer, 10_000_000)).toBe(true);
    peer.link = link(true);
    expect(peers.isOnline(peer, 10_000_000)).toBe(false);
  });

  it('renames a record only onto a free id', () => {
    const peers = new PeerMap(30_000);
    const a = peers.create('aaaaaa', 0)!;
    peers.create('bbbbbb', 0)!;
    expect(peers.rename('aaaaaa', 'bbbbbb')).toBe(false);
    expect(peers.rename('missing', 'cccccc')).toBe(false);
    expect(peers.rename('aaaaaa', 'cccccc')).toBe(true);
    expect(peers.get('cccccc')).toBe(a);
    expect(a.id).toBe('cccccc');
    expect(peers.has('aaaaaa')).toBe(false);
    expect(peers.size).toBe(2);
  });

  it('loads known devices as expired records and leaves live ones alone', () => {
    const peers = new PeerMap(30_000);
    const live = peers.create('111111111', 0)!;
    live.uuid = 'live';
    const added = peers.load(
      [
        { id: '111111111', uuid: Buffer.from('db'), pk: Buffer.alloc(32, 1), ip: '198.51.100.1' },
        { id: '222222222', uuid: Buffer.from('uuid-2'), pk: Buffer.alloc(32, 2), ip: '198.51.100.2' },
      ],
      0,
    );
    expect(added).toBe(1);
    expect(peers.get('111111111')?.uuid).toBe('live');
    const loaded = peers.get('222222222');
    expect(loaded?.uuid).toBe(bytesKey(Buffer.from('uuid-2')));
    expect(loaded?.pkBytes).toEqual(Buffer.alloc(32, 2));
    expect(loaded?.ip).toBe('198.51.100.2');
    expect(loaded?.port).toBe(0);
    expect(peers.isOnline(loaded!, Date.now())).toBe(false);
  });

  it('holds at most maxPeers: offline peers make room, oldest first; online ones are never evicted', () => {
    const peers = new PeerMap(30_000, 64);
    for (let n = 0; n < 64; n++) peers.create(`peer${n}`, 0)!.lastRegTime = n < 32 ? 0 : 100_000;
    // At 100,000 ms the first 32 are offline, the last 32 online.
    expect(peers.create('newcomer', 100_000)).toBeDefined();
    expect(peers.size).toBe(64);
    expect(peers.has('peer0')).toBe(false);
    expect(peers.has('peer63')).toBe(true);
    for (let n = 0; n < 200; n++) {
      const peer = peers.create(`more${n}`, 100_000);
      if (peer !== undefined) peer.lastRegTime = 100_000;
    }

    // Full of online peers: nothing new fits, and nobody online was dropped to make room.
    expect(peers.size).toBe(64);
    expect(peers.create('one-more', 100_000)).toBeUndefined();
    for (let n = 32; n < 64; n++) expect(peers.has(`peer${n}`)).toBe(true);
    // Once they go offline they make room again.
    expect(peers.create('one-more', 200_000)).toBeDefined();
  });

  it('stores bytes as latin1 strings that round-trip every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const peers = new PeerMap(30_000);
    const peer = peers.create('123456789', 0)!;
    peer.pk = bytesKey(all);
    expect(peer.pkBytes).toEqual(all);
    expect(bytesKey(all.subarray(10, 20))).toBe(bytesKey(Buffer.from(all.subarray(10, 20))));
  });
});
