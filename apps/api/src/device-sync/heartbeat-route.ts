import { BadRequestException, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { type Logger } from '@switchboard/observability';
import { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';

import { API_LOGGER } from '../app.tokens';
import { sendClientApiError } from '../client-api/client-api-error.filter';
import { HeartbeatBody } from './device-sync.dto';
import { type HeartbeatReply, DeviceSyncService } from './device-sync.service';

export const HEARTBEAT_PATH = '/api/heartbeat';

/** Its entry in the OpenAPI document (docs/openapi-document.ts), which has no controller to read. */
export const HEARTBEAT_OPERATION = {
  operationId: 'HeartbeatRoute_heartbeat',
  tags: ['rustdesk-client'],
  summary: 'RustDesk client: heartbeat; answers strategy, disconnects and sysinfo requests',
  requestBody: {
    required: true,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          required: ['id', 'uuid'],
          properties: {
            id: { type: 'string' },
            uuid: { type: 'string', description: "base64 of the device's RegisterPk uuid" },
            ver: { type: 'integer' },
            conns: { type: 'array', items: { type: 'integer' } },
            modified_at: { type: 'integer' },
          },
        },
      },
    },
  },
  responses: {
    '200': {
      description: '{modified_at, strategy?, disconnect?, sysinfo?} (docs/client-api.md §6.3)',
      content: { 'application/json': { schema: { type: 'object' } } },
    },
  },
};

/**
 * POST /api/heartbeat as a plain Fastify route rather than a Nest controller method. It is the api's
 * hottest path (100,000 devices send about 6,700 a second), and Nest's per-request pipeline (guard,
 * pipe, filter) cost about a fifth of its throughput in bench/client-heartbeat.bench.ts. Everything
 * Fastify does for every route still happens (the client body parser, security headers, request id,
 * logging); this route does the rest itself: the same zod schema as the DTO, and failures answered
 * as the client-API filter answers them. The route needs no credential (a device names itself by
 * id and uuid, checked by the service).
 */
@Injectable()
export class HeartbeatRoute implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly sync: DeviceSyncService,
    @Inject(API_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.post(HEARTBEAT_PATH, (request, reply) => this.handle(request, reply));
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<HeartbeatReply | undefined> {
    try {
      const parsed = HeartbeatBody.schema.safeParse(request.body);
      if (!parsed.success) {
        throw new BadRequestException(
          parsed.error.issues.map((issue) => {
            const path = issue.path.map(String).join('.');
            return path === '' ? issue.message : `${path}: ${issue.message}`;
          }),
        );
      }
      return await this.sync.heartbeat(parsed.data);
    } catch (error) {
      sendClientApiError(error, request, reply, this.logger);
      return undefined;
    }
  }
}
