import { type components } from '../../api/schema';

// The strategies page's answer types, generated from the api's OpenAPI document.

export type StrategyView = components['schemas']['Strategy'];

export type TargetKind = 'device' | 'user' | 'deviceGroup';
