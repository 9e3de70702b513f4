import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { USER_ROLES } from '@switchboard/data-access';
import { z } from 'zod';

import { roleWithin } from '../api-keys/role-ceiling';
import { CHANNELS, PERMISSIONS, roleHas, ROLE_GRANTS } from '../auth/permissions';
import { type Principal } from '../auth/principal';
import { CurrentPrincipal, SelfService } from '../auth/route-access';
import { Answers, responseSchema } from '../http/response-schemas';

const rolesSchema = responseSchema(
  'Roles',
  z.object({
    /** The caller's own role (an API key's role when it authenticated with one). */
    role: z.enum(USER_ROLES),
    roles: z.array(
      z.object({
        role: z.enum(USER_ROLES),
        channels: z.array(z.enum(CHANNELS)),
        permissions: z.array(z.enum(PERMISSIONS)),
        /** The caller may give a user this role (needs user.manage, which only admins hold). */
        assignableToUsers: z.boolean(),
        /** The caller may create an API key with this role (at or below their own: role-ceiling.ts). */
        assignableToApiKeys: z.boolean(),
      }),
    ),
  }),
);
type RolesView = z.output<typeof rolesSchema>;

/**
 * The roles and what each grants, from the one permission table (permissions.ts), with what the
 * caller may hand out, so the console offers only those. The same rules refuse anything else.
 */
@ApiTags('users')
@Controller('api/v1/roles')
export class RolesController {
  @SelfService()
  @Get()
  @ApiOperation({ summary: 'The roles, their permissions, and which of them the caller may assign' })
  @Answers(200, rolesSchema)
  list(@CurrentPrincipal() principal: Principal): RolesView {
    const managesUsers = roleHas(principal.role, 'user.manage');
    return {
      role: principal.role,
      roles: USER_ROLES.map((role) => ({
        role,
        channels: [...ROLE_GRANTS[role].channels],
        permissions: [...ROLE_GRANTS[role].permissions],
        assignableToUsers: managesUsers,
        assignableToApiKeys: roleWithin(role, principal.role),
      })),
    };
  }
}
