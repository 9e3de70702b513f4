import { Injectable } from '@nestjs/common';
import { type OpenAPIObject } from '@nestjs/swagger';

/**
 * Holds the OpenAPI document. It is built from the finished application (every module's
 * controllers), which exists only after Nest has created this service, so create-app publishes it.
 */
@Injectable()
export class ApiDocsService {
  private published: { document: OpenAPIObject; json: string } | undefined;

  publish(document: OpenAPIObject): void {
    this.published = { document, json: JSON.stringify(document) };
  }

  /** The document serialised once: it cannot change while the process runs. */
  json(): string {
    if (this.published === undefined) throw new Error('The OpenAPI document was not published');
    return this.published.json;
  }
}
