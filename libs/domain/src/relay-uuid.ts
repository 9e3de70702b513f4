/**
 * RustDesk clients send `Uuid::new_v4().to_string()` (src/client.rs, src/rendezvous_mediator.rs in
 * rustdesk/rustdesk): 36 characters. Anything else is capped and restricted before it becomes a key.
 */
export const RELAY_UUID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isRelayUuid(value: string): boolean {
  return RELAY_UUID_PATTERN.test(value);
}
