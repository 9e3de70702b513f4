import { DOCS_PATH } from '../docs/swagger-ui-page';

const OPERATOR_API_PREFIX = '/api/v1';

/**
 * Whether a request URL belongs to the RustDesk client API: everything under `/api/` except the
 * operator API (`/api/v1`) and its docs. Those paths follow the client's transport rules
 * (docs/client-api.md §1): `{error}` bodies, empty or untyped JSON bodies accepted, lossless integers.
 */
export function isClientApiPath(url: string): boolean {
  const path = url.split('?', 1)[0] ?? '';
  if (!path.startsWith('/api/')) return false;
  return !isUnder(path, OPERATOR_API_PREFIX) && !isUnder(path, DOCS_PATH);
}

function isUnder(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}
