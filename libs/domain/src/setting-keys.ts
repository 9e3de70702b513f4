/** The settings key holding the live registration policy (ARCHITECTURE.md, ConfigChanged). */
export const REGISTRATION_POLICY_KEY = 'registration.policy';
