import { type IncomingMessage } from 'node:http';

import { type RandomSource } from '../random/random-source';

export const REQUEST_ID_HEADER = 'x-request-id';

// A caller's id is reused (so one id follows a request through proxies) only when it is short and
// plain: it ends up in logs and response headers, so it must not carry control characters or bulk.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify `genReqId`: the caller's x-request-id when acceptable, else a fresh UUID. */
export function requestIdGenerator(random: RandomSource): (request: IncomingMessage) => string {
  return (request) => {
    const given = request.headers[REQUEST_ID_HEADER];
    return typeof given === 'string' && ACCEPTABLE_REQUEST_ID.test(given) ? given : random.uuid();
  };
}
