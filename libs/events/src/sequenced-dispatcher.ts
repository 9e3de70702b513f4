import { decodeFrame, type AnyEventEnvelope, type SequencedFrame } from './envelope';
import { type EventBusLogger, type EventHandler, type ResyncHandler, type ResyncReason } from './event-bus';
import { type EventType } from './event-map';
import { type EventDispatchMetrics } from './event-metrics';

export interface SequencedDispatcherOptions {
  /**
   * Makes sure every message published from now on will reach `receive`, then returns the current
   * global seq. It must be read BEFORE the resync handlers reload state: an event at or below it was
   * written to the durable store before the reload began, so the reload covers it.
   */
  readBaseline: () => Promise<number>;
  /**
   * The envelope text of a frame read off the channel if its signature holds (event-signing.ts).
   * A frame that fails is dropped before it is counted: it neither advances the seq nor triggers a
   * gap, so a forger can neither suppress a genuine event by taking its seq nor force endless resyncs.
   */
  authenticate: (frame: string) => { body: string } | { problem: string };
  logger: EventBusLogger;
  resyncRetryDelayMs: number;
  /**
   * Wraps every handler call, e.g. to mark the asynchronous context as "inside a handler" (the
   * in-memory bus). Optional because the only way to do that, AsyncLocalStorage, turns on Node's
   * async hooks for the whole process, which the relay and signal would pay on every socket write.
   */
  aroundHandler?: <T>(call: () => T) => T;
  /** Applied events with their lag, gaps, resyncs and rejected frames (event-metrics.ts). */
  metrics?: EventDispatchMetrics;
}

type AnyEventHandler = (event: AnyEventEnvelope) => void | Promise<void>;

const STOPPED = Symbol('stopped');

// When two resyncs are requested before either runs, one run suffices; report the weightier reason.
const RESYNC_PRIORITY: Record<ResyncReason, number> = { gap: 0, reconnect: 1, start: 2 };

/**
 * The ordering core shared by the Redis and in-memory buses: one serial loop that runs resyncs and
 * delivers events strictly in seq order. Events that arrive while a resync runs wait in the queue; when
 * it ends, those at or below the new baseline are dropped (the reload covered them) and the rest follow.
 */
export class SequencedDispatcher {
  private readonly handlers = new Map<EventType, Set<AnyEventHandler>>();
  private readonly resyncHandlers = new Set<ResyncHandler>();
  private readonly aroundHandler: <T>(call: () => T) => T;
  private queue: SequencedFrame[] = [];
  private last = 0;
  private rejected = 0;
  private pendingResync: ResyncReason | null = null;
  private started = false;
  private stopped = false;
  private readyNow = false;
  private disconnected = false;
  private running = false;
  private drained: Promise<void> = Promise.resolve();
  private readyWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private idleWaiters: Array<() => void> = [];
  private cancelRetryDelay: (() => void) | null = null;
  private signalStopped: () => void = () => undefined;
  private readonly stoppedSignal = new Promise<typeof STOPPED>((resolve) => {
    this.signalStopped = () => resolve(STOPPED);
  });

  constructor(private readonly options: SequencedDispatcherOptions) {
    this.aroundHandler = options.aroundHandler ?? ((call) => call());
  }

  get ready(): boolean {
    return this.readyNow;
  }

  /** The seq of the last event applied (or of the baseline the last resync loaded); 0 before any. */
  get appliedSeq(): number {
    return this.last;
  }

  /** Frames dropped because their signature did not hold, since construction. */
  get rejectedFrames(): number {
    return this.rejected;
  }

  on<T extends EventType>(type: T, handler: EventHandler<T>): () => void {
    const forType = this.handlers.get(type) ?? new Set<AnyEventHandler>();
    this.handlers.set(type, forType);
    // Safe: deliver() only passes envelopes whose type is the key this handler was registered under.
    const stored = handler as unknown as AnyEventHandler;
    forType.add(stored);
    return () => forType.delete(stored);
  }

  onResync(handler: ResyncHandler): () => void {
    this.resyncHandlers.add(handler);
    return () => this.resyncHandlers.delete(handler);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.requestResync('start');
  }

  /** Raw text from the channel. Unauthenticated and malformed messages are logged and dropped here. */
  receive(raw: string): void {
    if (!this.started || this.stopped) return;
    const opened = this.options.authenticate(raw);
    if ('problem' in opened) {
      this.reject(opened.problem, raw);
      return;
    }
    const frame = decodeFrame(opened.body);
    if (frame.kind === 'malformed') {
      this.options.logger.error(
        { problem: frame.problem, raw: raw.slice(0, 200) },
        'malformed event dropped',
      );
      return;
    }
    this.queue.push(frame);
    this.kick();
  }

  requestResync(reason: ResyncReason): void {
    if (!this.started || this.stopped) return;
    if (reason === 'reconnect') this.disconnected = false;
    if (this.pendingResync === null || RESYNC_PRIORITY[reason] > RESYNC_PRIORITY[this.pendingResync]) {
      this.pendingResync = reason;
    }
    this.setReady(false);
    this.kick();
  }

  /** The transport lost its subscription: not ready until a 'reconnect' resync has run. */
  markDisconnected(): void {
    this.disconnected = true;
    this.setReady(false);
  }

  whenReady(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('event subscriber stopped'));
    if (this.readyNow) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** Resolves once nothing is queued and no resync is pending or running (or the dispatcher stopped). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops delivery; resolves after the handler or resync in progress (if any) has returned. */
  async stop(): Promise<void> {
    if (this.stopped) return this.drained;
    this.stopped = true;
    this.setReady(false);
    this.queue = [];
    this.cancelRetryDelay?.();
    this.signalStopped();
    const error = new Error('event subscriber stopped');
    for (const waiter of this.readyWaiters.splice(0)) waiter.reject(error);
    await this.drained;
    this.notifyIdle();
  }

  private kick(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.drained = this.drain().catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'event dispatch loop failed');
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.stopped) {
        if (this.pendingResync !== null) {
          await this.resync(this.pendingResync);
          continue;
        }
        const frame = this.queue.shift();
        if (frame === undefined) break;
        await this.process(frame);
      }
    } finally {
      // Runs in the same tick as the final empty-queue check, so a receive() after it starts a new drain.
      this.running = false;
      this.notifyIdle();
    }
  }

  private async resync(reason: ResyncReason): Promise<void> {
    this.pendingResync = null;
    const { logger, readBaseline, resyncRetryDelayMs } = this.options;
    try {
      const baseline = await this.unlessStopped(readBaseline());
      if (baseline === STOPPED) return;
      for (const handler of [...this.resyncHandlers]) {
        await this.aroundHandler(() => handler(reason));
      }
      if (this.stopped) return;
      this.last = baseline;
      this.queue = this.queue.filter((frame) => frame.seq > baseline);
      this.options.metrics?.resync(reason);
      logger.info({ reason, baseline, queued: this.queue.length }, 'event subscriber resynchronised');
      if (this.pendingResync === null && !this.disconnected) this.setReady(true);
    } catch (error) {
      if (this.stopped) return;
      logger.error({ err: error, reason, retryInMs: resyncRetryDelayMs }, 'event resync failed; will retry');
      if (this.pendingResync === null || RESYNC_PRIORITY[reason] > RESYNC_PRIORITY[this.pendingResync]) {
        this.pendingResync = reason;
      }
      await this.retryDelay(resyncRetryDelayMs);
    }
  }

  private async process(frame: SequencedFrame): Promise<void> {
    const { logger } = this.options;
    // At or below `last`: published before the last baseline was read, so the reload already covered it.
    if (frame.seq <= this.last) return;
    if (frame.seq > this.last + 1) {
      logger.warn({ expected: this.last + 1, received: frame.seq }, 'event sequence gap; resynchronising');
      this.options.metrics?.gap();
      this.queue.unshift(frame);
      this.requestResync('gap');
      return;
    }
    this.last = frame.seq;
    switch (frame.kind) {
      case 'event':
        await this.deliver(frame.envelope);
        this.options.metrics?.applied(frame.envelope.type, frame.envelope.at);
        return;
      case 'unknown-type':
        // A newer publisher's event this subscriber has no use for: skip it without losing count.
        logger.warn({ seq: frame.seq, type: frame.type }, 'event of unknown type skipped');
        return;
      case 'invalid-payload':
        // We know something happened and cannot tell what: only a full reload makes that safe.
        logger.error({ seq: frame.seq, type: frame.type, problem: frame.problem }, 'invalid event dropped');
        this.options.metrics?.gap();
        this.requestResync('gap');
        return;
    }
  }

  private async deliver(envelope: AnyEventEnvelope): Promise<void> {
    const handlers = this.handlers.get(envelope.type);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        await this.aroundHandler(() => handler(envelope));
      } catch (error) {
        this.options.logger.error(
          { err: error, type: envelope.type, seq: envelope.seq },
          'event handler failed',
        );
      }
    }
  }

  /**
   * A Redis read can hang past stop(): ioredis never fails commands queued while it waits to reconnect
   * if disconnect() lands in that window. Stop must not wait on it.
   */
  private async unlessStopped<T>(work: Promise<T>): Promise<T | typeof STOPPED> {
    work.catch((error: unknown) => {
      if (this.stopped) this.options.logger.info({ err: error }, 'event bus read abandoned at stop');
    });
    return Promise.race([work, this.stoppedSignal]);
  }

  private reject(problem: string, raw: string): void {
    this.rejected += 1;
    this.options.metrics?.rejectedFrame();
    // At 1, 2, 4, 8… so a flood of forged frames cannot flood the log too.
    if ((this.rejected & (this.rejected - 1)) === 0) {
      this.options.logger.error(
        { problem, rejectedSoFar: this.rejected, raw: raw.slice(0, 200) },
        'unauthenticated event dropped',
      );
    }
  }

  private setReady(ready: boolean): void {
    if (this.readyNow === ready) return;
    this.readyNow = ready;
    if (ready) for (const waiter of this.readyWaiters.splice(0)) waiter.resolve();
  }

  private isIdle(): boolean {
    return this.stopped || (!this.running && this.queue.length === 0 && this.pendingResync === null);
  }

  private notifyIdle(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private retryDelay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.cancelRetryDelay = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.cancelRetryDelay = done;
    });
  }
}
