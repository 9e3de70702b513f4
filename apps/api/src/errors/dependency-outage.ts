// Telling "Postgres or Redis is unreachable right now" from a bug, so a request that failed for the
// first reason answers 503 with Retry-After (clients and load balancers retry) instead of a 500.

import { ServiceUnavailableException } from '@nestjs/common';

/** The backing services whose outage the api answers with 503 (`unknown`: an outage we cannot place). */
export type Dependency = 'postgres' | 'redis';

/**
 * A 503 a service raises itself when a dependency failed it (a write-behind buffer full while Postgres
 * is down, a Redis write that did not happen), so the outage metric knows which one.
 */
export class DependencyUnavailableException extends ServiceUnavailableException {
  constructor(
    readonly dependency: Dependency,
    message: string,
  ) {
    super(message);
  }
}

/** What a client is told to wait before retrying a request that met an outage. */
export const OUTAGE_RETRY_AFTER_SECONDS = 5;

/** @prisma/adapter-pg's classification of pg failures (`meta.driverAdapterError.cause.kind`). */
const UNREACHABLE_DATABASE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
]);

/** Prisma's own codes for an unreachable server, a lost connection and an exhausted pool. */
const UNREACHABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1017', 'P2024']);

/** SQLSTATE class 08 (connection exception) and a server shutting down or starting (57P01-57P03). */
const UNREACHABLE_SQLSTATE = /^(08|57P0[1-3])/;

const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

interface ErrorFields {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
}

interface DriverAdapterCause {
  kind?: unknown;
  /** The SQLSTATE, for errors Postgres itself raised. */
  originalCode?: unknown;
}

/**
 * Prisma's driver adapter classifies pg errors (`DatabaseNotReachable`, `AuthenticationFailed`,
 * `DatabaseDoesNotExist`, ...) under `meta.driverAdapterError.cause`: a reason without addresses.
 */
function driverAdapterCause(error: unknown): DriverAdapterCause | undefined {
  return (error as { meta?: { driverAdapterError?: { cause?: DriverAdapterCause } } } | null)?.meta
    ?.driverAdapterError?.cause;
}

/** The adapter's name for a pg failure, e.g. `DatabaseNotReachable`. */
export function driverErrorKind(error: unknown): string | undefined {
  const kind = driverAdapterCause(error)?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** True when `error` (or an error it wraps) says a backing service could not be reached. */
export function isDependencyOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Object && depth < 5; depth++) {
    if (describesOutage(current)) return true;
    current = (current as ErrorFields).cause;
  }
  return false;
}

/**
 * Which dependency an outage (isDependencyOutage) is of, from the first error in the cause chain
 * that says: Prisma's and pg's errors are Postgres, ioredis's are Redis. `unknown` for an outage
 * only a bare socket error describes; undefined when `error` is no outage at all.
 */
export function outageDependency(error: unknown): Dependency | 'unknown' | undefined {
  if (error instanceof DependencyUnavailableException) return error.dependency;
  if (!isDependencyOutage(error)) return undefined;
  for (let current = error, depth = 0; current instanceof Object && depth < 5; depth++) {
    const dependency = dependencyNamedBy(current);
    if (dependency !== undefined) return dependency;
    current = (current as ErrorFields).cause;
  }
  return 'unknown';
}

function dependencyNamedBy(error: object): Dependency | undefined {
  const { name, message, code } = error as ErrorFields;
  if (driverAdapterCause(error) !== undefined) return 'postgres';
  if (typeof code === 'string' && UNREACHABLE_PRISMA_CODES.has(code)) return 'postgres';
  if (typeof name === 'string' && name.startsWith('PrismaClient')) return 'postgres';
  if (typeof message === 'string' && message.startsWith('Connection terminated')) return 'postgres';
  if (name === 'MaxRetriesPerRequestError' || message === 'Connection is closed.') return 'redis';
  return undefined;
}

function describesOutage(error: object): boolean {
  const kind = driverErrorKind(error);
  if (kind !== undefined && UNREACHABLE_DATABASE_KINDS.has(kind)) return true;
  const sqlState = driverAdapterCause(error)?.originalCode;
  if (typeof sqlState === 'string' && UNREACHABLE_SQLSTATE.test(sqlState)) return true;
  const { name, message, code } = error as ErrorFields;
  if (typeof code === 'string' && (UNREACHABLE_PRISMA_CODES.has(code) || SOCKET_ERROR_CODES.has(code))) {
    return true;
  }
  // ioredis gives up on a command after maxRetriesPerRequest reconnects, or when the client closed.
  if (name === 'MaxRetriesPerRequestError' || message === 'Connection is closed.') return true;
  // pg, when the server or the network drops a pooled connection mid-query.
  return typeof message === 'string' && message.startsWith('Connection terminated');
}
