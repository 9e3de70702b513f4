import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { deviceIdSchema } from '../devices/devices.dto';

const base64 = (max: number) =>
  z
    .string()
    .max(max)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

/** What the desktop client posts before switching sides (src/hbbs_http/sync.rs register_switch_grant). */
export class SwitchGrantBody extends createZodDto(
  z.object({
    id: deviceIdSchema,
    /** b64(sha256("switch-grant-verifier\0" + switch_code)): the switch code itself never leaves the client. */
    switch_code_verifier: base64(64),
    /** Unix seconds, as a string. */
    timestamp: z.string().regex(/^\d{1,12}$/, 'must be Unix seconds'),
    /** Ed25519 signature by the device's own key (the one it registered with signal). */
    signature: base64(128),
  }),
) {}
