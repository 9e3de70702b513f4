import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';

import { RequirePermission } from '../src/auth/route-access';

/** Routes behind a permission, for tests of the guard before feature modules exist on this branch. */
@Controller('api/v1/test-probe')
class ProbeController {
  @RequirePermission('user.view')
  @Get()
  read(): { ok: true } {
    return { ok: true };
  }

  @RequirePermission('user.view')
  @Post()
  @HttpCode(200)
  write(): { ok: true } {
    return { ok: true };
  }
}

@Module({ controllers: [ProbeController] })
export class ProbeModule {}
