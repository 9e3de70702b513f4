import { OpenConnections } from './open-connections';

describe('OpenConnections', () => {
  it('counts per key and in total, and gives a slot back once however often it is released', () => {
    const open = new OpenConnections();
    const first = open.take('198.51.100.7');
    open.take('198.51.100.7');
    open.take('2001:db8::/64');
    expect(open.countFor('198.51.100.7')).toBe(2);
    expect(open.total).toBe(3);
    first.release();
    first.release();
    expect(open.countFor('198.51.100.7')).toBe(1);
    expect(open.total).toBe(2);
    expect(first.key).toBe('198.51.100.7');
  });

  it('forgets a key whose last connection closed', () => {
    const open = new OpenConnections();
    const { release } = open.take('198.51.100.8');
    release();
    expect(open.countFor('198.51.100.8')).toBe(0);
    expect(open.total).toBe(0);
  });
});
