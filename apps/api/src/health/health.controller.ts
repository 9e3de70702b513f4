import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';
import { z } from 'zod';

import { Public } from '../auth/route-access';
import { Answers, responseRef, responseSchema } from '../http/response-schemas';
import { HealthService } from './health.service';

const livenessSchema = responseSchema('Liveness', z.object({ status: z.literal('ok') }));

/** What the operator port says about readiness: the per-dependency detail is on the ops port only. */
const publicReadinessSchema = responseSchema(
  'Readiness',
  z.object({ status: z.enum(['ready', 'unavailable']) }),
);
export type PublicReadiness = z.output<typeof publicReadinessSchema>;

/** Probes for orchestrators: liveness never touches a dependency; readiness checks them all. */
@Public()
@ApiTags('probes')
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process is up (touches no dependency)' })
  @Answers(200, livenessSchema, 'The process is up')
  liveness(): z.output<typeof livenessSchema> {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Postgres and Redis both answer (detail on the ops port)' })
  @Answers(200, publicReadinessSchema, 'Ready: `{ status: "ready" }`')
  @ApiServiceUnavailableResponse({
    description: 'Not ready: `{ status: "unavailable" }`',
    schema: responseRef(publicReadinessSchema),
  })
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<PublicReadiness> {
    const { status } = await this.health.readiness();
    void reply.status(status === 'ready' ? 200 : 503);
    return { status };
  }
}
