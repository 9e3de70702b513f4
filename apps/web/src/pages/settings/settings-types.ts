// TODO(schemas): the generated answer type of GET /api/v1/settings once it has a response schema
// (branch console-schemas).

export interface Setting {
  readonly key: string;
  readonly value: unknown;
  readonly updatedAt: string;
  /** `user:<id>` or `api_key:<prefix>`. */
  readonly updatedBy: string | null;
}
