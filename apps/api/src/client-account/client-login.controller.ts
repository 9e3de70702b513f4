import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, Public } from '../auth/route-access';
import { ClientUser, CurrentClientCaller } from '../client-auth/client-access';
import { type ClientCaller } from '../client-auth/client-caller';
import { ClientIdentityDto, ClientLoginDto } from './client-login.dto';
import { type ClientLoginReply, ClientLoginService } from './client-login.service';
import { type ClientUserPayload } from './client-user-payload';

/** The RustDesk client's sign-in, its view of the signed-in user, and sign-out (docs/client-api.md §2). */
@ApiTags('rustdesk-client')
@Controller('api')
export class ClientLoginController {
  constructor(private readonly logins: ClientLoginService) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: password sign-in, and its 2FA step' })
  logIn(@Body() body: ClientLoginDto, @CurrentOrigin() origin: RequestOrigin): Promise<ClientLoginReply> {
    return this.logins.logIn(body, origin);
  }

  @ClientUser()
  @Post('currentUser')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: the signed-in user (401 makes the client sign out)' })
  currentUser(
    @Body() _body: ClientIdentityDto,
    @CurrentClientCaller() caller: ClientCaller,
  ): Promise<ClientUserPayload> {
    return this.logins.currentUser(caller);
  }

  @ClientUser()
  @Post('logout')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: end this client login' })
  async logOut(
    @Body() _body: ClientIdentityDto,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<Record<string, never>> {
    await this.logins.logOut(caller, origin);
    return {};
  }
}
