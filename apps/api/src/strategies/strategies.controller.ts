import { z } from 'zod';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import {
  CreateStrategyBody,
  StrategyIdParams,
  strategyListSchema,
  StrategyTargetBody,
  type StrategyView,
  strategyViewSchema,
  UpdateStrategyBody,
} from './strategies.dto';
import { StrategiesService } from './strategies.service';
import { STRATEGY_OPTION_KEYS } from './strategy-options';
import { Answers, responseSchema } from '../http/response-schemas';

const strategyOptionKeysSchema = responseSchema(
  'StrategyOptionKeys',
  z.object({ keys: z.array(z.string()).describe('hb_common KEYS_SETTINGS a strategy may set') }),
);

/** Strategies: client option sets pushed to devices by heartbeat (operator API, docs/client-api.md §6). */
@ApiTags('strategies')
@Controller('api/v1/strategies')
export class StrategiesController {
  constructor(private readonly strategies: StrategiesService) {}

  @Get()
  @ApiOperation({ summary: 'List strategies' })
  @RequirePermission('device.view')
  @Answers(200, strategyListSchema)
  list(): Promise<StrategyView[]> {
    return this.strategies.list();
  }

  // Before any `:id` route; the console offers only these keys, so an edit never fails on one.
  @Get('option-keys')
  @ApiOperation({ summary: 'The client option keys a strategy may set' })
  @RequirePermission('device.view')
  @Answers(200, strategyOptionKeysSchema)
  optionKeys(): z.output<typeof strategyOptionKeysSchema> {
    return { keys: [...STRATEGY_OPTION_KEYS] };
  }

  @Post()
  @ApiOperation({ summary: 'Create a strategy (options: client option keys, string values)' })
  @RequirePermission('strategy.manage')
  @Answers(201, strategyViewSchema)
  create(
    @Body() body: CreateStrategyBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<StrategyView> {
    return this.strategies.create(body, { principal, origin });
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Rename a strategy or replace its note or options (pushed on the devices' next heartbeat)",
  })
  @RequirePermission('strategy.manage')
  @Answers(200, strategyViewSchema)
  update(
    @Param() params: StrategyIdParams,
    @Body() body: UpdateStrategyBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<StrategyView> {
    return this.strategies.update(params.id, body, { principal, origin });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a strategy and its assignments' })
  @HttpCode(204)
  @RequirePermission('strategy.manage')
  delete(
    @Param() params: StrategyIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.strategies.delete(params.id, { principal, origin });
  }

  @Post(':id/assign')
  @ApiOperation({ summary: 'Assign to one device, user or device group (replacing its strategy)' })
  @HttpCode(204)
  @RequirePermission('strategy.manage')
  assign(
    @Param() params: StrategyIdParams,
    @Body() body: StrategyTargetBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.strategies.assign(params.id, body, { principal, origin });
  }

  @Post(':id/unassign')
  @ApiOperation({ summary: 'Remove the assignment from one device, user or device group' })
  @HttpCode(204)
  @RequirePermission('strategy.manage')
  unassign(
    @Param() params: StrategyIdParams,
    @Body() body: StrategyTargetBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.strategies.unassign(params.id, body, { principal, origin });
  }
}
