import { inspect } from 'node:util';

import { type RustDeskPeer } from '@switchboard/testing';

/** A forces a relay through signal, B answers, both join the relay signal picked and shake hands. */
export async function relayedSession(a: RustDeskPeer, b: RustDeskPeer) {
  const punched = a.punchHole(b.id, { forceRelay: true });
  const push = await b.nextPush();
  if (push.push.kind !== 'punch-hole') throw new Error(`expected PunchHole, got ${push.push.kind}`);
  const answer = await push.answer;
  if (answer.kind !== 'relay-response') throw new Error(`B answered ${inspect(answer)}`);
  const outcome = await punched;
  if (outcome.kind !== 'relay' || outcome.response.union?.$case !== 'pk') {
    throw new Error(`A got ${inspect(outcome, { depth: 4 })}`);
  }
  const controller = await a.connectViaRelay({
    relayServer: outcome.response.relayServer,
    uuid: outcome.response.uuid,
    peerId: b.id,
    signedPeerPk: outcome.response.union.value,
  });
  const controlled = await answer.session;
  return { relayServer: outcome.response.relayServer, uuid: outcome.response.uuid, controller, controlled };
}
