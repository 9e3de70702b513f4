import { Controller, Get, Header, Res } from '@nestjs/common';
import { type FastifyReply } from 'fastify';

import { Public } from '../auth/route-access';
import { MetricsRegistry } from './metrics.registry';

@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsRegistry) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    void reply.type(this.metrics.contentType);
    return this.metrics.render();
  }
}
