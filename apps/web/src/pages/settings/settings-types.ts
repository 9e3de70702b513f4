import { type components } from '../../api/schema';

// The settings page's answer types, generated from the api's OpenAPI document.

type Schemas = components['schemas'];

export type Setting = Schemas['Setting'];
export type ServerInfo = Schemas['ServerInfo'];
