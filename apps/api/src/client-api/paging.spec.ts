import { CLIENT_PAGE_MAX, CLIENT_PAGE_SIZE_MAX, clientPagedResponse, parseClientPage } from './paging';

describe('parseClientPage', () => {
  it('reads the client query', () => {
    expect(parseClientPage({ current: '3', pageSize: '100' })).toEqual({
      current: 3,
      pageSize: 100,
      offset: 200,
    });
  });

  it('defaults a missing or unreadable value', () => {
    expect(parseClientPage({})).toEqual({ current: 1, pageSize: CLIENT_PAGE_SIZE_MAX, offset: 0 });
    for (const bad of ['', '0', '-1', '1.5', 'abc', '1e3', ['2', '3']]) {
      expect(parseClientPage({ current: bad, pageSize: bad })).toEqual({
        current: 1,
        pageSize: CLIENT_PAGE_SIZE_MAX,
        offset: 0,
      });
    }
  });

  it('clamps out-of-bounds values', () => {
    expect(parseClientPage({ current: '99999999999', pageSize: '5000' })).toEqual({
      current: CLIENT_PAGE_MAX,
      pageSize: CLIENT_PAGE_SIZE_MAX,
      offset: (CLIENT_PAGE_MAX - 1) * CLIENT_PAGE_SIZE_MAX,
    });
    expect(parseClientPage({ pageSize: '7' }).pageSize).toBe(7);
  });
});

describe('clientPagedResponse', () => {
  it('always carries total and data, even when empty', () => {
    expect(clientPagedResponse(0, [])).toEqual({ total: 0, data: [] });
    expect(Object.keys(clientPagedResponse(250, [{ id: 'a' }]))).toEqual(['total', 'data']);
  });
});
