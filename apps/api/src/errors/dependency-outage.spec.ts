import { BadRequestException } from '@nestjs/common';

import {
  DependencyUnavailableException,
  isDependencyOutage,
  OUTAGE_RETRY_AFTER_SECONDS,
  outageDependency,
} from './dependency-outage';
import { retryAfterSeconds, toErrorResponse } from './error-response';
import { TooManyRequestsException } from './too-many-requests.exception';

/** The shape @prisma/adapter-pg gives a pg failure inside Prisma's error. */
const adapterError = (cause: Record<string, unknown>) =>
  Object.assign(new Error('driver adapter error'), { meta: { driverAdapterError: { cause } } });

describe('isDependencyOutage', () => {
  it.each([
    [
      'ioredis giving up on a command',
      Object.assign(new Error('Reached the max retries'), { name: 'MaxRetriesPerRequestError' }),
    ],
    ['ioredis after its connection closed', new Error('Connection is closed.')],
    ['pg losing a pooled connection', new Error('Connection terminated unexpectedly')],
    ['Postgres unreachable, per the adapter', adapterError({ kind: 'DatabaseNotReachable' })],
    ['a connection reset, per the adapter', adapterError({ kind: 'ConnectionClosed' })],
    ['Postgres shutting down (57P01)', adapterError({ kind: 'postgres', originalCode: '57P01' })],
    ['a connection exception (08006)', adapterError({ kind: 'postgres', originalCode: '08006' })],
    ["Prisma's pool timeout", Object.assign(new Error('Timed out fetching a connection'), { code: 'P2024' })],
    ['a refused socket', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [
      'an outage wrapped as a cause',
      new Error('query failed', { cause: new Error('Connection is closed.') }),
    ],
  ])('recognises %s', (_name, error) => {
    expect(isDependencyOutage(error)).toBe(true);
  });

  it.each([
    ['a bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a unique violation', adapterError({ kind: 'UniqueConstraintViolation' })],
    ['a SQL error', adapterError({ kind: 'postgres', originalCode: '42P01' })],
    ['a Prisma not-found', Object.assign(new Error('No record'), { code: 'P2025' })],
    ['a thrown string', 'Connection is closed.'],
    ['nothing', undefined],
  ])('does not take %s for one', (_name, error) => {
    expect(isDependencyOutage(error)).toBe(false);
  });

  it('follows a cycle of causes no further than a few levels', () => {
    const looping: Error & { cause?: unknown } = new Error('a');
    looping.cause = looping;
    expect(isDependencyOutage(looping)).toBe(false);
  });
});

describe('outageDependency', () => {
  it.each([
    ['the adapter', adapterError({ kind: 'DatabaseNotReachable' }), 'postgres'],
    ["Prisma's pool timeout", Object.assign(new Error('Timed out'), { code: 'P2024' }), 'postgres'],
    ['pg losing a connection', new Error('Connection terminated unexpectedly'), 'postgres'],
    [
      'ioredis giving up',
      Object.assign(new Error('Reached the max retries'), { name: 'MaxRetriesPerRequestError' }),
      'redis',
    ],
    ['ioredis, wrapped', new Error('query failed', { cause: new Error('Connection is closed.') }), 'redis'],
    ['a bare socket error', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'unknown'],
    ['a 503 naming its dependency', new DependencyUnavailableException('redis', 'try again'), 'redis'],
    ['a bug', new TypeError('nope'), undefined],
    ['a SQL error', adapterError({ kind: 'postgres', originalCode: '42P01' }), undefined],
  ])('places %s', (_name, error, dependency) => {
    expect(outageDependency(error)).toBe(dependency);
  });
});

describe('the response to an outage', () => {
  it('is a 503 that says to retry, with no detail of the failure', () => {
    const error = adapterError({ kind: 'DatabaseNotReachable', host: '10.1.2.3', port: 5432 });
    expect(toErrorResponse(error, 'r')).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'The service is temporarily unavailable; try again shortly',
      requestId: 'r',
    });
    expect(retryAfterSeconds(error)).toBe(OUTAGE_RETRY_AFTER_SECONDS);
  });

  it("leaves other errors' Retry-After as they are", () => {
    expect(retryAfterSeconds(new TooManyRequestsException('slow down', 42))).toBe(42);
    expect(retryAfterSeconds(new BadRequestException('no'))).toBeUndefined();
    expect(retryAfterSeconds(new Error('bug'))).toBeUndefined();
  });
});
