import { type StoredDeviceIdentity } from '@switchboard/data-access';

import {
  StoredIdentityBusyError,
  StoredIdentityReader,
  type StoredIdentitySource,
} from './stored-identity-reader';

/** A source that records each query and answers when told. */
class GatedSource implements StoredIdentitySource {
  readonly queries: string[][] = [];
  private pending: Array<{
    ids: readonly string[];
    resolve: (rows: StoredDeviceIdentity[]) => void;
    reject: (error: Error) => void;
  }> = [];

  findIdentities(ids: readonly string[]): Promise<StoredDeviceIdentity[]> {
    this.queries.push([...ids]);
    return new Promise((resolve, reject) => this.pending.push({ ids, resolve, reject }));
  }

  answerNext(): void {
    const next = this.pending.shift();
    next?.resolve(
      next.ids
        .filter((id) => id.startsWith('known'))
        .map((id) => ({ rustdeskId: id, uuid: Buffer.from(`uuid-${id}`), pk: null, lastIp: '10.0.0.1' })),
    );
  }

  failNext(): void {
    this.pending.shift()?.reject(new Error('Postgres is down'));
  }
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('StoredIdentityReader', () => {
  it('reads the ids asked in one turn with one query, one id once, the rest in the next query', async () => {
    const source = new GatedSource();
    const reader = new StoredIdentityReader({ source, batchSize: 2 });
    const reads = [
      reader.read('known1'),
      reader.read('unknown'),
      reader.read('known1'),
      reader.read('known3'),
    ];
    await turn();
    expect(source.queries).toEqual([['known1', 'unknown']]);
    source.answerNext();
    await turn();
    expect(source.queries).toEqual([['known1', 'unknown'], ['known3']]);
    source.answerNext();

    const [first, unknown, again, third] = await Promise.all(reads);
    expect(first).toEqual({ uuid: Buffer.from('uuid-known1'), pk: null, ip: '10.0.0.1' });
    expect(unknown).toBeNull();
    expect(again).toBe(first);
    expect(third?.uuid).toEqual(Buffer.from('uuid-known3'));
    expect(reader.waitingCount).toBe(0);
  });

  it('rejects the reads of a failed query, and reads again when asked again', async () => {
    const source = new GatedSource();
    const reader = new StoredIdentityReader({ source });
    const failed = reader.read('known1');
    await turn();
    source.failNext();
    await expect(failed).rejects.toThrow('Postgres is down');

    const retried = reader.read('known1');
    await turn();
    source.answerNext();
    expect((await retried)?.ip).toBe('10.0.0.1');
  });

  it('refuses at once beyond maxWaiting, so a flood cannot queue without bound', async () => {
    const source = new GatedSource();
    const reader = new StoredIdentityReader({ source, maxWaiting: 2 });
    const held = [reader.read('known1'), reader.read('known2')];
    await expect(reader.read('known3')).rejects.toBeInstanceOf(StoredIdentityBusyError);
    await turn();
    source.answerNext();
    await Promise.all(held);
    expect(reader.waitingCount).toBe(0);
  });
});
