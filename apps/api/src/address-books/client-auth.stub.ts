// TEMPORARY stand-in for apps/api/src/client-auth until the lead's "Client API: login" lands.
import { createParamDecorator } from '@nestjs/common';
import { type UserRole } from '@switchboard/data-access';

import { Public } from '../auth/route-access';

export interface ClientCaller {
  userId: string;
  username: string;
  role: UserRole;
  isAdmin: boolean;
  sessionId: string;
  clientId: string | null;
}

export const ClientUser = Public;

export const CurrentClientCaller = createParamDecorator((): ClientCaller => {
  throw new Error('client auth is not there yet');
});
