import {
  type RegisterPk,
  type RendezvousCase,
  type RendezvousOf,
  type RendezvousPayload,
} from '@switchboard/protocol';

import { type Listener, type SignalConnection } from '../connection';
import { type RendezvousContext } from '../rendezvous-context';
import { handleChangeId } from './change-id';
import { handleHttpProxyRequest } from './http-proxy-request';
import { handleLocalAddr } from './local-addr';
import { handleOnlineRequest } from './online-request';
import { handlePunchHoleRequest } from './punch-hole-request';
import { handlePunchHoleSent } from './punch-hole-sent';
import { answerRegisterPeer } from './register-peer';
import { registerOverLink } from './register-link';
import { registerPkOverUdp } from './register-pk';
import { handleRelayResponse } from './relay-response';
import { handleRequestRelay } from './request-relay';
import { type StreamOutcome } from './stream-outcome';
import { handleTestNatRequest } from './test-nat-request';

// Which messages each port serves, and the handler of each: adding a message is one line in the
// table of every port that serves it. A message absent from a table is ignored over UDP and closes a
// TCP/WS connection as 'unexpected-message'. The tables are built once; a lookup allocates nothing.

export type DatagramHandler<C extends RendezvousCase> = (
  context: RendezvousContext,
  message: RendezvousOf<C>['value'],
  datagram: Buffer,
  address: string,
  port: number,
) => void;

/** A TCP/WS handler, telling the core what the connection does next. */
type Outcome<M> = (context: RendezvousContext, connection: SignalConnection, message: M) => StreamOutcome;

export type StreamHandler<C extends RendezvousCase> = Outcome<RendezvousOf<C>['value']>;

type DatagramTable = { readonly [C in RendezvousCase]?: DatagramHandler<C> };
type StreamTable = { readonly [C in RendezvousCase]?: StreamHandler<C> };

/** A handler file's function: it answers, or not, and leaves the connection to the table. */
type Handle<M> = (context: RendezvousContext, connection: SignalConnection, message: M) => void;

/** A request whose answer comes later (from the other peer): the connection waits for it. */
function keepingOpen<M>(handle: Handle<M>): Outcome<M> {
  return (context, connection, message) => {
    handle(context, connection, message);
    return 'keep-open';
  };
}

/** A request answered at once: the connection closes after it, unless it is a registration link. */
function oneShot<M>(handle: Handle<M>): Outcome<M> {
  return (context, connection, message) => {
    handle(context, connection, message);
    return 'handled';
  };
}

/** A RegisterPk with old_id renames the device; the answer goes back at once. */
function answerChangeId(
  context: RendezvousContext,
  connection: SignalConnection,
  message: RegisterPk,
): StreamOutcome {
  connection.sendMessage({
    $case: 'registerPkResponse',
    value: { result: handleChangeId(context, connection, message), keepAlive: 0 },
  });
  return 'handled';
}

/**
 * UDP 21116. RegisterPeer mostly never gets here: signal-core reads it without the generic decoder.
 * PunchHoleRequest, PunchHoleSent, LocalAddr and the rest are ignored over UDP, as upstream.
 */
const UDP_MESSAGES: DatagramTable = {
  registerPeer: (context, message, datagram, address, port) =>
    answerRegisterPeer(context, datagram, message.id, address, port),
  registerPk: registerPkOverUdp,
};

/**
 * TCP 21116 and WS (docs/protocol.md §5.5): a punch or relay request keeps the connection open for the
 * answer, a RegisterPk without old_id makes it a registration link (§5.11a), anything else is
 * handled and the connection closed. Plain and secure TCP alike: the channel sits below the messages.
 */
const TCP_MESSAGES: StreamTable = {
  punchHoleRequest: keepingOpen(handlePunchHoleRequest),
  requestRelay: keepingOpen(handleRequestRelay),
  registerPk: (context, connection, message) =>
    message.oldId === ''
      ? registerOverLink(context, connection, message)
      : answerChangeId(context, connection, message),
  punchHoleSent: oneShot(handlePunchHoleSent),
  localAddr: oneShot((context, _connection, message) => handleLocalAddr(context, message)),
  relayResponse: oneShot(handleRelayResponse),
  testNatRequest: oneShot((_context, connection) => handleTestNatRequest(connection)),
  httpProxyRequest: handleHttpProxyRequest,
};

const answerOnlineRequest: StreamHandler<'onlineRequest'> = (context, connection, message) =>
  handleOnlineRequest(context, connection, message) ? 'handled' : 'rate-limited';

/** WebSocket 21118: TCP's messages, and OnlineRequest, which WS clients send here, having no 21115. */
const WS_MESSAGES: StreamTable = { ...TCP_MESSAGES, onlineRequest: answerOnlineRequest };

/** 21115 handles its first message only, then closes (docs/protocol.md §5.8). */
const NAT_TEST_MESSAGES: StreamTable = {
  testNatRequest: TCP_MESSAGES.testNatRequest,
  onlineRequest: answerOnlineRequest,
};

const STREAM_MESSAGES: Readonly<Record<Listener, StreamTable>> = {
  tcp: TCP_MESSAGES,
  ws: WS_MESSAGES,
  'nat-test': NAT_TEST_MESSAGES,
};

export function dispatchDatagram(
  context: RendezvousContext,
  message: RendezvousPayload,
  datagram: Buffer,
  address: string,
  port: number,
): void {
  // The table's type pairs each case with its handler; TypeScript cannot follow that through a lookup.
  const handler = UDP_MESSAGES[message.$case] as DatagramHandler<RendezvousCase> | undefined;
  handler?.(context, message.value, datagram, address, port);
}

export function dispatchStream(
  context: RendezvousContext,
  connection: SignalConnection,
  message: RendezvousPayload,
): StreamOutcome {
  const handler = STREAM_MESSAGES[connection.listener][message.$case] as
    StreamHandler<RendezvousCase> | undefined;
  return handler === undefined ? 'unexpected-message' : handler(context, connection, message.value);
}
