// The data plane's audit trail: signal and relay record facts through an AuditSink; the producer
// queues them (BullMQ in Redis) and the api's worker appends them to the hash chain.
export * from './audit-job';
export * from './audit-sink';
export * from './audit-coalescer';
export * from './audit-queue-producer';
