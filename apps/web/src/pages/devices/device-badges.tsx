import { type Device } from './devices-types';

/** A device's state at a glance: online or not, and whatever keeps it from working. */
export function DeviceBadges({ device }: { device: Device }) {
  return (
    <span className="device-badges">
      {device.online ? (
        <span className="badge badge-ok">online</span>
      ) : (
        <span className="badge">offline</span>
      )}
      {device.admission === 'pending' && <span className="badge badge-warn">pending</span>}
      {device.admission === 'rejected' && <span className="badge badge-danger">rejected</span>}
      {device.banned && (
        <span className="badge badge-danger" title={device.banReason ?? undefined}>
          banned
        </span>
      )}
      {device.revoked && <span className="badge badge-danger">revoked</span>}
      {device.deleted && !device.revoked && <span className="badge">deleted</span>}
    </span>
  );
}
