/** The settings key holding the live registration policy (docs/architecture.md, ConfigChanged). */
export const REGISTRATION_POLICY_KEY = 'registration.policy';

/**
 * What RustDesk clients are told to use (the console's client configuration, GET /api/v1/server-info):
 * the ID server and relay as host or host:port, the API server as a URL. Unset: derived from the api's
 * PUBLIC_URL and the live relays.
 */
export const CLIENT_ID_SERVER_KEY = 'client.id_server';
export const CLIENT_RELAY_SERVER_KEY = 'client.relay_server';
export const CLIENT_API_SERVER_KEY = 'client.api_server';
