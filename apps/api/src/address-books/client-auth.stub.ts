// TEMPORARY stand-in for apps/api/src/client-auth until the lead's "Client API: login" lands.
import { createParamDecorator, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
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

export const CurrentClientCaller = createParamDecorator(
  (_data: unknown, context: ExecutionContext): ClientCaller => {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers['x-stub-caller'];
    if (typeof header !== 'string') throw new UnauthorizedException('Invalid token');
    return JSON.parse(header) as ClientCaller;
  },
);
