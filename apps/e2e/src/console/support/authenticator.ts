import { generate } from 'otplib';

/** The code an authenticator shows `offsetSteps` 30-second steps from now. */
export function totpCode(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });
}
