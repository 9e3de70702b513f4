import {
  Body,
  ConflictException,
  Controller,
  Get,
  Module,
  NotFoundException,
  Param,
  Post,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { DEVICE_ID_PATTERN } from '@switchboard/domain';

import { CurrentPrincipal, Public, RequirePermission, SelfService } from '../src/auth/route-access';
import { type Principal } from '../src/auth/principal';

// Probe routes for the HTTP-hygiene tests: shaped like real feature routes (zod DTOs, one access
// declaration each), mounted through createApiApp's extraModules so requests cross the real
// guard, validation pipe and exception filter. Never part of the app itself.

class CreateItemDto extends createZodDto(
  z.strictObject({
    name: z.string().min(1).max(64),
    count: z.number().int().min(0).max(100),
    tags: z.array(z.string().max(32)).max(5).optional(),
  }),
) {}

class ItemIdDto extends createZodDto(z.object({ id: z.string().regex(DEVICE_ID_PATTERN) })) {}

@ApiTags('probe')
@Controller('api/v1/probe')
export class ProbeController {
  @Post('items')
  @RequirePermission('device.manage')
  @ApiOperation({ summary: 'Create a probe item' })
  create(@Body() body: CreateItemDto): { name: string; count: number } {
    if (body.name === 'taken') throw new ConflictException('An item with this name exists');
    return { name: body.name, count: body.count };
  }

  @Get('items/:id')
  @RequirePermission('device.view')
  @ApiOperation({ summary: 'Read a probe item' })
  read(@Param() params: ItemIdDto): { id: string } {
    if (params.id !== 'known') throw new NotFoundException(`No item ${params.id}`);
    return { id: params.id };
  }

  @Get('me')
  @SelfService()
  @ApiOperation({ summary: 'Who am I' })
  me(@CurrentPrincipal() principal: Principal): { username: string } {
    return { username: principal.username };
  }

  @Get('open')
  @Public()
  @ApiOperation({ summary: 'Open to anyone' })
  open(): { ok: true } {
    return { ok: true };
  }

  // Deliberately without @Public/@SelfService/@RequirePermission: the guard must refuse it.
  @Get('undeclared')
  @ApiOperation({ summary: 'Forgot its access declaration' })
  undeclared(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
