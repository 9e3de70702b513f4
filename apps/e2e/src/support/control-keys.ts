import { EventSigningKey } from '@switchboard/events';
import { RelayRecordKey } from '@switchboard/relay-registry';

// The keys that make Redis something other than a control channel for whoever can write to it,
// made once per test file and handed to every process it starts, as Kubernetes hands them out:
// the api alone holds the event signing key; signal and relays its public half and the registry key.

export const E2E_EVENT_SIGNING_KEY = EventSigningKey.generate();
export const E2E_RELAY_RECORD_KEY = RelayRecordKey.generate();

export const apiControlKeyEnv = (): Record<string, string> => ({
  EVENTS_SIGNING_KEY: E2E_EVENT_SIGNING_KEY.toBase64(),
  RELAY_REGISTRY_KEY: E2E_RELAY_RECORD_KEY.toBase64(),
});

export const dataPlaneControlKeyEnv = (): Record<string, string> => ({
  EVENTS_PUBLIC_KEY: E2E_EVENT_SIGNING_KEY.verifyKey.toBase64(),
  RELAY_REGISTRY_KEY: E2E_RELAY_RECORD_KEY.toBase64(),
});
