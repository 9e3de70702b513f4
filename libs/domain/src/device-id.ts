// A RustDesk id: default ids are digits, custom ids (change-id) match ^[a-zA-Z][\w-]{5,15}$,
// so the union of both shapes is accepted (schema.prisma Device.rustdeskId).

/** docs/architecture.md peer ids `[A-Za-z0-9]{1,32}`, widened to the custom-id charset `[\w-]`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export function isDeviceId(value: string): boolean {
  return DEVICE_ID_PATTERN.test(value);
}

/** The rename target RustDesk itself accepts (docs/protocol.md §5.9). */
export const CUSTOM_ID_PATTERN = /^[a-zA-Z][\w-]{5,15}$/;
