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
    const peer = peers.create('123456789');
    expect(peers.isOnline(peer, 0)).toBe(false);
    peer.lastRegTime = 1_000;
    expect(peers.isOnline(peer, 30_999)).toBe(true);
    expect(peers.isOnline(peer, 31_000)).toBe(false);
    expect(peers.countOnline(20_000)).toBe(1);
    expect(peers.countOnline(40_000)).toBe(0);
  });

  it('keeps a peer online while its registration link is open, whatever its last registration', () => {
    const peers = new PeerMap(30_000);
    const peer = peers.create('123456789');
    peer.link = link();
    expect(peers.isOnline(peer, 10_000_000)).toBe(true);
    peer.link = link(true);
    expect(peers.isOnline(peer, 10_000_000)).toBe(false);
  });

  it('renames a record only onto a free id', () => {
    const peers = new PeerMap(30_000);
    const a = peers.create('aaaaaa');
    peers.create('bbbbbb');
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
    const live = peers.create('111111111');
    live.uuid = 'live';
    const added = peers.load([
      { id: '111111111', uuid: Buffer.from('db'), pk: Buffer.alloc(32, 1), ip: '198.51.100.1' },
      { id: '222222222', uuid: Buffer.from('uuid-2'), pk: Buffer.alloc(32, 2), ip: '198.51.100.2' },
    ]);
    expect(added).toBe(1);
    expect(peers.get('111111111')?.uuid).toBe('live');
    const loaded = peers.get('222222222');
    expect(loaded?.uuid).toBe(bytesKey(Buffer.from('uuid-2')));
    expect(loaded?.pkBytes).toEqual(Buffer.alloc(32, 2));
    expect(loaded?.ip).toBe('198.51.100.2');
    expect(loaded?.port).toBe(0);
    expect(peers.isOnline(loaded!, Date.now())).toBe(false);
  });

  it('stores bytes as latin1 strings that round-trip every byte value', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const peers = new PeerMap(30_000);
    const peer = peers.create('123456789');
    peer.pk = bytesKey(all);
    expect(peer.pkBytes).toEqual(all);
    expect(bytesKey(all.subarray(10, 20))).toBe(bytesKey(Buffer.from(all.subarray(10, 20))));
  });
});
