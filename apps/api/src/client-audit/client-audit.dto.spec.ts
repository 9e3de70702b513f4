import { connAuditSchema, u64Schema } from './client-audit.dto';

describe('client audit bodies', () => {
  it('takes a u64 as a number or exact decimal text, and gives it back as text', () => {
    expect(u64Schema.parse(0)).toBe('0');
    expect(u64Schema.parse(9007199254740991)).toBe('9007199254740991');
    expect(u64Schema.parse('9007199254740993')).toBe('9007199254740993');
    expect(u64Schema.parse('18446744073709551615')).toBe('18446744073709551615');
  });

  it('refuses what is not a u64', () => {
    for (const bad of [
      -1,
      1.5,
      '18446744073709551616',
      '99999999999999999999',
      '',
      '0x10',
      '1e3',
      null,
      true,
    ]) {
      expect(u64Schema.safeParse(bad).success).toBe(false);
    }
  });

  it('drops fields it does not know instead of refusing the record', () => {
    const parsed = connAuditSchema.parse({
      id: '123456789',
      uuid: 'dXVpZA==',
      conn_id: 1,
      session_id: 5,
      action: 'new',
      something_new: [1, 2, 3],
    });
    expect(parsed).toEqual({ id: '123456789', uuid: 'dXVpZA==', conn_id: 1, session_id: '5', action: 'new' });
  });
});
