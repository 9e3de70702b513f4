export { LiveFeedRepository } from './live-feed.repository';
export type { AuditTailEntry } from './live-feed.repository';
