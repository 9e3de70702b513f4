import { type components } from '../../api/schema';

// The API keys page's answer types, generated from the api's OpenAPI document.

export type ApiKeyView = components['schemas']['ApiKey'];
/** The creation's answer: the only time the key itself is shown. */
export type CreatedApiKey = components['schemas']['CreatedApiKey'];
