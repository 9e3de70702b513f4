import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Inject, Injectable } from '@nestjs/common';
import { encodePublicKeyFile, parsePublicKeyFile } from '@switchboard/crypto';
import { SettingRepository } from '@switchboard/data-access';
import { CLIENT_API_SERVER_KEY, CLIENT_ID_SERVER_KEY, CLIENT_RELAY_SERVER_KEY } from '@switchboard/domain';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { type ServerInfoView } from './dashboard.dto';
import { RelayNodesService } from './relay-nodes.service';
import { encodeRustDeskServerConfig, rustDeskConfigCommand } from './rustdesk-server-config';

/** A key file read is kept this long: signal may write it after the api started, or rotate it. */
const KEY_CACHE_MS = 60_000;

/** What to tell RustDesk clients: the key, the servers, and the config string they import. */
@Injectable()
export class ServerInfoService {
  private cachedKey: { value: string | null; problem: string | null; until: number } | undefined;

  constructor(
    @Inject(SettingRepository) private readonly settings: Repositories['settings'],
    private readonly relays: RelayNodesService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async get(): Promise<ServerInfoView> {
    const [key, idSetting, relaySetting, apiSetting, relays] = await Promise.all([
      this.publicKey(),
      this.textSetting(CLIENT_ID_SERVER_KEY),
      this.textSetting(CLIENT_RELAY_SERVER_KEY),
      this.textSetting(CLIENT_API_SERVER_KEY),
      this.relays.list(),
    ]);
    const publicUrl = this.config.PUBLIC_URL;
    const publicHost = publicUrl === undefined ? null : new URL(publicUrl).hostname;
    const idServer = idSetting ?? publicHost;
    const apiServer = apiSetting ?? publicUrl ?? null;
    const relayServer = relaySetting;
    const configString =
      idServer === null
        ? null
        : encodeRustDeskServerConfig({
            host: idServer,
            relay: relayServer ?? '',
            api: apiServer ?? '',
            key: key.value ?? '',
          });
    return {
      publicKey: key.value,
      publicKeyProblem: key.problem,
      idServer,
      relayServer,
      liveRelays: relays.nodes.filter((node) => !node.draining).map((node) => node.address),
      apiServer,
      sources: {
        idServer: idSetting !== null ? 'setting' : publicHost !== null ? 'public_url' : 'none',
        relayServer: relaySetting !== null ? 'setting' : 'none',
        apiServer: apiSetting !== null ? 'setting' : publicUrl !== undefined ? 'public_url' : 'none',
      },
      configString,
      configCommand: configString === null ? null : rustDeskConfigCommand(configString),
    };
  }

  private async textSetting(key: string): Promise<string | null> {
    const setting = await this.settings.find(key);
    return typeof setting?.value === 'string' && setting.value.trim() !== '' ? setting.value.trim() : null;
  }

  /** SIGNAL_PUBLIC_KEY, else the file signal writes (SIGNAL_PUBLIC_KEY_FILE, default `${KEY_DIR}/id_ed25519.pub`). */
  private async publicKey(): Promise<{ value: string | null; problem: string | null }> {
    if (this.config.SIGNAL_PUBLIC_KEY !== undefined) {
      return { value: encodePublicKeyFile(parsePublicKeyFile(this.config.SIGNAL_PUBLIC_KEY)), problem: null };
    }
    const now = this.clock.now().getTime();
    if (this.cachedKey !== undefined && now < this.cachedKey.until) return this.cachedKey;
    const file = this.config.SIGNAL_PUBLIC_KEY_FILE ?? join(this.config.KEY_DIR, 'id_ed25519.pub');
    let read: { value: string | null; problem: string | null };
    try {
      read = { value: encodePublicKeyFile(parsePublicKeyFile(await readFile(file, 'utf8'))), problem: null };
    } catch (error) {
      read = {
        value: null,
        problem: `The api cannot read signal's public key (${file}: ${(error as Error).message}); set SIGNAL_PUBLIC_KEY or SIGNAL_PUBLIC_KEY_FILE, or run \`signal keys\` to print it.`,
      };
    }
    this.cachedKey = { ...read, until: now + KEY_CACHE_MS };
    return read;
  }
}
