import { Injectable } from '@nestjs/common';
import { createMetricsRegistry, type Registry } from '@switchboard/observability';

/**
 * The app's own registry rather than prom-client's global one, so several app instances in one
 * process (tests) never register the same metric twice. Feature modules add their metrics here.
 */
@Injectable()
export class MetricsRegistry {
  readonly registry: Registry = createMetricsRegistry();

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
