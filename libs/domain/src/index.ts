// The facts about RustDesk's world that several projects check: the shapes of device ids and relay
// uuids, the names of settings. Pure constants (tagged type:pure), so every layer may import them:
// the apps, libs/events, libs/audit-queue, libs/relay-registry and libs/data-access alike.
export * from './device-id';
export * from './relay-uuid';
export * from './setting-keys';
