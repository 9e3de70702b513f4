export { TcpProxy } from './tcp-proxy';
export { createShippedRedisUser, SHIPPED_ACL_TEMPLATE, shippedAclRules } from './redis-acl-users';
export { metric } from './metric';
export { readUntil, waitFor } from './wait-for';
export { streamPair } from './stream-pair';
export { canBind, ephemeralPort, ephemeralPortBlock, freeRelayPorts, freeSignalPorts } from './free-port';
export { type StartedService, waitForHealthy } from './wait-for-healthy';
