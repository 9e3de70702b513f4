import { NatType, type PunchHoleRequest, PunchHoleResponse_Failure } from '@switchboard/protocol';

import { CoreHarness } from '../test/core-harness';

// Under token and approval, checkReachable refuses an id nothing is known about (not-deployed /
// pending); what A hears must still tell "no such id" from "known but not reachable" (docs/protocol.md §5.6).

const A = { address: '203.0.113.90', port: 53000 };

function punchRequest(harness: CoreHarness, id: string): PunchHoleRequest {
  return {
    id,
    natType: NatType.ASYMMETRIC,
    licenceKey: harness.licence,
    connType: 0,
    token: '',
    version: '1.4.0',
    udpPort: 0,
    forceRelay: false,
    upnpPort: 0,
    socketAddrV6: Buffer.alloc(0),
    switchCode: '',
  };
}

describe('a target refused by the registration policy', () => {
  let harness: CoreHarness;
  beforeEach(() => (harness = new CoreHarness()));
  afterEach(() => harness.close());

  async function punchFailure(id: string): Promise<PunchHoleResponse_Failure> {
    const a = harness.connect('tcp', A);
    a.send({ $case: 'punchHoleRequest', value: punchRequest(harness, id) });
    const response = await a.expect('punchHoleResponse');
    a.destroy();
    return response.failure;
  }

  async function relayRefusal(id: string): Promise<string> {
    const a = harness.connect('tcp', A);
    a.send({
      $case: 'requestRelay',
      value: {
        id,
        uuid: 'a-uuid',
        socketAddr: Buffer.alloc(0),
        relayServer: '',
        secure: false,
        licenceKey: '',
        connType: 0,
        token: '',
        switchCode: '',
      },
    });
    const response = await a.expect('relayResponse');
    a.destroy();
    return response.refuseReason;
  }

  it.each(['not-deployed', 'pending'] as const)(
    'as %s: does not exist while nothing is known of it, is offline once it is known',
    async (refusal) => {
      harness.access.reachability.set('444444444', refusal);
      expect(await punchFailure('444444444')).toBe(PunchHoleResponse_Failure.ID_NOT_EXIST);
      expect(await relayRefusal('444444444')).toBe('ID does not exist');

      harness.access.known.add('444444444');
      expect(await punchFailure('444444444')).toBe(PunchHoleResponse_Failure.OFFLINE);
      expect(await relayRefusal('444444444')).toBe('Remote desktop is offline');
    },
  );

  it('as banned: offline, known or not (a ban is never news that the id exists)', async () => {
    harness.access.reachability.set('555555555', 'banned');
    expect(await punchFailure('555555555')).toBe(PunchHoleResponse_Failure.OFFLINE);
    expect(await relayRefusal('555555555')).toBe('Remote desktop is offline');
  });
});
