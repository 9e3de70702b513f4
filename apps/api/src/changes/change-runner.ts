import { Inject, Injectable } from '@nestjs/common';
import { type AuditAppendInput } from '@switchboard/data-access';
import { type EventPayload, type EventType } from '@switchboard/events';
import { type Logger } from '@switchboard/observability';

import { API_CONFIG, API_LOGGER } from '../app.tokens';
import { type ApiConfig } from '../config';
import { DatabaseConnection } from '../database/database.connection';
import { type Repositories } from '../database/repositories';
import { ControlEvents } from '../events/events.module';

/** An event announcing a committed change. */
export type PendingEvent = {
  [K in EventType]: { readonly type: K; readonly payload: EventPayload<K> };
}[EventType];

/** What a change's work returns: its result, the audit entries that describe it, the events to announce. */
export interface Change<T> {
  readonly result: T;
  readonly audit: readonly AuditAppendInput[];
  readonly events?: readonly PendingEvent[];
  /**
   * Durable state that subscribers reload on resync and that lives outside Postgres (the relays'
   * deny set in Redis): written after the commit and before the events, as that contract demands.
   */
  readonly beforeEvents?: () => Promise<void>;
}

/** What services depend on: ChangeRunner, or in a unit test a fake over in-memory repositories. */
export interface Changes {
  run<T>(work: (repositories: Repositories) => Promise<Change<T>>): Promise<T>;
}

const PUBLISH_ATTEMPTS = 3;
const PUBLISH_RETRY_MS = 50;

/**
 * Every state change of the control plane goes through here (issue: "one transaction that writes
 * Postgres, appends the audit entry, and publishes the event"): the rows and their audit entries
 * commit or roll back together, then the events go out in order.
 *
 * A publish that still fails after retries is logged, not surfaced: the change is committed, and
 * pub/sub losing it is the case subscribers already cover (they resync the deny set from Postgres
 * and Redis after any gap or reconnect).
 */
@Injectable()
export class ChangeRunner implements Changes {
  private readonly log: Logger;

  constructor(
    private readonly database: DatabaseConnection,
    private readonly events: ControlEvents,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'changes' });
  }

  /** `work` gets the repositories bound to this change's transaction: use them, and only them, for its writes. */
  async run<T>(work: (repositories: Repositories) => Promise<Change<T>>): Promise<T> {
    // Prisma's defaults (2 s to get a connection, 5 s to finish) fail changes with a 500 as soon as a
    // burst of them queues for the pool; a change should rather wait its turn, within bounds.
    const bound = this.config.CHANGE_TRANSACTION_TIMEOUT_MS;
    const change = await this.database.transaction(bound, async (repositories, audit) => {
      const outcome = await work(repositories);
      await audit.append(outcome.audit);
      return outcome;
    });
    await change.beforeEvents?.();
    for (const event of change.events ?? []) await this.publish(event);
    return change.result;
  }

  private async publish(event: PendingEvent): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.events.publish(event.type, event.payload);
        return;
      } catch (error) {
        if (attempt >= PUBLISH_ATTEMPTS) {
          this.log.error(
            { err: error, event: event.type },
            'event not published; subscribers catch up on resync',
          );
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_MS * attempt));
      }
    }
  }
}
