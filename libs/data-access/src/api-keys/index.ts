export { ApiKeyPrefixTakenError, ApiKeyRepository } from './api-key.repository';
export type {
  ApiKeyCredential,
  ApiKeyListQuery,
  ApiKeyOwner,
  ApiKeyPage,
  ApiKeyRecord,
  NewApiKey,
} from './api-key.repository';
