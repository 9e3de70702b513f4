// TODO(schemas): the generated answer type of GET /api/v1/settings once it has a response schema
// (branch console-schemas).

export interface Setting {
  readonly key: string;
  readonly value: unknown;
  readonly updatedAt: string;
  /** `user:<id>` or `api_key:<prefix>`. */
  readonly updatedBy: string | null;
}

// TODO(schemas): the generated ServerInfoViewDto and RelayNodesViewDto type their nullable strings
// as string[] (the generator reads the shared `nullableText` schema wrongly); these are the shapes
// apps/api/src/dashboard/dashboard.dto.ts declares.

export interface ServerInfo {
  readonly publicKey: string | null;
  readonly publicKeyProblem: string | null;
  readonly idServer: string | null;
  readonly relayServer: string | null;
  readonly liveRelays: readonly string[];
  readonly apiServer: string | null;
  readonly sources: {
    readonly idServer: 'setting' | 'public_url' | 'none';
    readonly relayServer: 'setting' | 'none';
    readonly apiServer: 'setting' | 'public_url' | 'none';
  };
  readonly configString: string | null;
  readonly configCommand: string | null;
}

export interface RelayNode {
  readonly nodeId: string;
  readonly address: string;
  readonly wsAddress: string | null;
  readonly sessions: number;
  readonly capacity: number;
  readonly load: number;
  readonly bytesPerSecond: number;
  readonly draining: boolean;
  readonly lastHeartbeatAt: string;
  readonly expiresInMs: number;
}

export interface RelayNodes {
  readonly available: boolean;
  readonly problem: string | null;
  readonly nodes: readonly RelayNode[];
  readonly malformed: number;
}
