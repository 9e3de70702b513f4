/** Which live parties (waiting connections, sessions) carry each device id, so a ban finds them in O(1). */
export class DeviceIndex<Party> {
  private readonly byDevice = new Map<string, Set<Party>>();

  add(devices: Iterable<string>, party: Party): void {
    for (const device of devices) {
      let parties = this.byDevice.get(device);
      if (!parties) this.byDevice.set(device, (parties = new Set()));
      parties.add(party);
    }
  }

  remove(devices: Iterable<string>, party: Party): void {
    for (const device of devices) {
      const parties = this.byDevice.get(device);
      if (!parties) continue;
      parties.delete(party);
      if (parties.size === 0) this.byDevice.delete(device);
    }
  }

  /** Every party carrying any of `devices`, each once. */
  carrying(devices: Iterable<string>): Set<Party> {
    const found = new Set<Party>();
    for (const device of devices) for (const party of this.byDevice.get(device) ?? []) found.add(party);
    return found;
  }

  get size(): number {
    return this.byDevice.size;
  }
}
