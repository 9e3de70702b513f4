import { type components } from '../../api/schema';

// The registration tokens page's answer types, generated from the api's OpenAPI document.

export type RegistrationTokenView = components['schemas']['RegistrationToken'];
/** The creation's answer: the only time the token itself is shown. */
export type CreatedRegistrationToken = components['schemas']['CreatedRegistrationToken'];
