import { Controller, Get, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';

import { Public } from '../auth/route-access';
import { HealthService, type ReadinessReport } from './health.service';

/** Probes for orchestrators: liveness never touches a dependency; readiness checks them all. */
@Public()
@Controller()
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('healthz')
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readiness(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessReport> {
    const report = await this.health.readiness();
    void reply.status(report.status === 'ready' ? 200 : 503);
    return report;
  }
}
