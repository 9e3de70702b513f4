import { PunchMap } from './punch-map';

describe('PunchMap', () => {
  it('hands an entry out once, and not after its TTL', () => {
    const map = new PunchMap<string>({ cap: 10, ttlMs: 1_000 });
    map.put('a', 'A', 0);
    expect(map.peek('a', 999)).toBe('A');
    expect(map.take('a', 999)).toBe('A');
    expect(map.take('a', 999)).toBeUndefined();
    map.put('b', 'B', 0);
    expect(map.take('b', 1_000)).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('pushes out the oldest entry when full, and a refreshed entry counts as new', () => {
    const map = new PunchMap<string>({ cap: 3, ttlMs: 60_000 });
    map.put('a', 'A', 0);
    map.put('b', 'B', 1);
    map.put('c', 'C', 2);
    map.put('a', 'A2', 3);
    expect(map.put('d', 'D', 4)).toBe('B');
    expect(map.size).toBe(3);
    expect(map.peek('b', 5)).toBeUndefined();
    expect(map.peek('a', 5)).toBe('A2');
    expect(map.put('e', 'E', 5)).toBe('C');
  });

  it('sweeps expired entries only', () => {
    const map = new PunchMap<string>({ cap: 10, ttlMs: 100 });
    map.put('old', 'O', 0);
    map.put('new', 'N', 50);
    expect(map.sweep(120)).toBe(1);
    expect(map.size).toBe(1);
    expect(map.peek('new', 120)).toBe('N');
  });

  it('removes an entry only while it still holds the matching value', () => {
    const map = new PunchMap<{ n: number }>({ cap: 10, ttlMs: 100 });
    const first = { n: 1 };
    const second = { n: 2 };
    map.put('k', first, 0);
    map.put('k', second, 1);
    map.removeIf('k', (value) => value === first);
    expect(map.peek('k', 2)).toBe(second);
    map.removeIf('k', (value) => value === second);
    expect(map.size).toBe(0);
  });
});
