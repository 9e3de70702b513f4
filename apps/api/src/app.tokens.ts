// Injection tokens for what the composition root (main.ts) hands to the Nest container.
export const API_CONFIG = Symbol('ApiConfig');
export const API_LOGGER = Symbol('ApiLogger');
export const API_SECRETS = Symbol('ApiSecrets');
export const API_CLOCK = Symbol('ApiClock');
export const API_EVENT_SIGNING_KEY = Symbol('ApiEventSigningKey');
export const API_RANDOM = Symbol('ApiRandom');
