import { Body, Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';

import { Public } from '../auth/route-access';
import { SysinfoBody, SysinfoVersionBody } from './device-sync.dto';
import { type SysinfoAnswer, DeviceSyncService } from './device-sync.service';

const SYSINFO_STATUS: Record<SysinfoAnswer, number> = {
  SYSINFO_UPDATED: 200,
  ID_NOT_FOUND: 404,
  UUID_MISMATCH: 403,
  DEVICE_NOT_ALLOWED: 403,
};

/**
 * What a controlled device posts without authorization (src/hbbs_http/sync.rs): sysinfo, answered in
 * plain text (docs/client-api.md §6). The heartbeat is served beside it by heartbeat-route.ts.
 */
@Public()
@ApiTags('rustdesk-client')
@Controller('api')
export class DeviceSyncController {
  constructor(private readonly sync: DeviceSyncService) {}

  @Post('sysinfo')
  @ApiOperation({ summary: 'RustDesk client: report system info (plain-text answer)' })
  async sysinfo(@Body() body: SysinfoBody, @Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const answer = await this.sync.storeSysinfo(body);
    void reply.status(SYSINFO_STATUS[answer]).type('text/plain; charset=utf-8');
    return answer;
  }

  @Post('sysinfo_ver')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: fingerprint of the stored system info (plain text)' })
  async sysinfoVersion(
    @Body() body: SysinfoVersionBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    void reply.type('text/plain; charset=utf-8');
    return this.sync.sysinfoVersion(body.id, body.uuid);
  }
}
