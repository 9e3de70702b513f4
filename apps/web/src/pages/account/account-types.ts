import { type components } from '../../api/schema';

// The account area's answer types, generated from the api's OpenAPI document.

export type AccountSession = components['schemas']['Session'];
