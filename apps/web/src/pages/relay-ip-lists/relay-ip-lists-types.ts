import { type components } from '../../api/schema';

// The relay IP lists page's answer types, generated from the api's OpenAPI document.

export type RelayIpListEntry = components['schemas']['RelayIpListEntry'];
export type RelayIpListName = RelayIpListEntry['list'];
