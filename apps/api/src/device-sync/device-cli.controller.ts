import {
  type ArgumentsHost,
  Body,
  Catch,
  Controller,
  type ExceptionFilter,
  HttpCode,
  Post,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, Public } from '../auth/route-access';
import { toErrorResponse } from '../errors/error-response';
import { BearerApiKeyGuard, RequireBearerApiKey } from './bearer-api-key.guard';
import { DeviceCliRefusal, DeviceCliService } from './device-cli.service';
import { DeviceCliBody } from './device-sync.dto';

/** The CLI prints the body verbatim: every failure is one line of plain text. */
@Catch()
export class PlainTextErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const { statusCode, message } =
      exception instanceof DeviceCliRefusal
        ? { statusCode: exception.status, message: exception.message }
        : toErrorResponse(exception, request.id);
    if (reply.sent) return;
    void reply
      .status(statusCode)
      .type('text/plain; charset=utf-8')
      .send(Array.isArray(message) ? message.join('; ') : message);
  }
}

/** `rustdesk --assign --token <API key> ...` (src/core_main.rs; docs/client-api.md §6.4). */
@Public()
@ApiTags('rustdesk-client')
@Controller('api/devices')
@UseGuards(BearerApiKeyGuard)
@UseFilters(PlainTextErrorFilter)
export class DeviceCliController {
  constructor(private readonly cli: DeviceCliService) {}

  @Post('cli')
  @HttpCode(200)
  @RequireBearerApiKey('device.manage')
  @ApiOperation({ summary: 'RustDesk CLI --assign: owner, strategy, group, note, names (empty body = done)' })
  async assign(
    @Body() body: DeviceCliBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    await this.cli.assign(body, { principal, origin });
    void reply.type('text/plain; charset=utf-8');
    return '';
  }
}
