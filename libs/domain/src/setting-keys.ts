/** The settings key holding the live registration policy (docs/architecture.md, ConfigChanged). */
export const REGISTRATION_POLICY_KEY = 'registration.policy';
