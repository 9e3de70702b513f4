// Parsers that behave like the stock RustDesk client's own (rustdesk/rustdesk, client 1.4.9): they accept
// what the client accepts and throw ClientRejection where the client throws, shows an error, or
// silently drops the data. Read from the client's source, not copied; each names the file and
// class or function it follows. Used by the contract suite (apps/api/src/client-api/
// client-contract.int-spec.ts) and checked against good and bad samples in client-parsers.spec.ts.

/** An answer the client would refuse, misread or silently ignore. */
export class ClientRejection extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientRejection';
  }
}

/** What a parser needs of an HTTP answer (light-my-request's response fits). */
export interface HttpAnswer {
  readonly statusCode: number;
  readonly body: string;
}

type JsonMap = Record<string, unknown>;

function reject(message: string): never {
  throw new ClientRejection(message);
}

/** How the client shows a value it throws (Dart's toString, near enough). */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isMap(value: unknown): value is JsonMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Dart `jsonDecode(body)` assigned to `Map<String, dynamic>`: anything else throws. */
function decodeMap(body: string, what: string): JsonMap {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    reject(`${what}: not JSON: ${body.slice(0, 128)}`);
  }
  if (!isMap(value)) reject(`${what}: not a JSON object: ${body.slice(0, 128)}`);
  return value;
}

/** Dart `String x = json[k] ?? ''` (or `String?`): a string or null, anything else is a TypeError. */
function dartString(json: JsonMap, key: string, what: string): string {
  const value = json[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') reject(`${what}.${key}: ${JSON.stringify(value)} is not a String`);
  return value;
}

function dartNullableString(json: JsonMap, key: string, what: string): string | null {
  const value = json[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') reject(`${what}.${key}: ${JSON.stringify(value)} is not a String`);
  return value;
}

/** A Dart `int` from jsonDecode: an integral JSON number (64-bit). */
function isDartInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function isI32(value: unknown): value is number {
  return isDartInt(value) && value >= -(2 ** 31) && value < 2 ** 31;
}

// ---------------------------------------------------------------------------------------------
// Account

export type DartUserStatus = 'disabled' | 'normal' | 'unverified';

export interface DartUser {
  name: string;
  displayName: string;
  avatar: string;
  email: string;
  note: string;
  verifier: string | null;
  status: DartUserStatus;
  isAdmin: boolean;
}

/** flutter/lib/common/hbbs/hbbs.dart `UserPayload.fromJson`. */
export function parseUserPayload(json: unknown): DartUser {
  if (!isMap(json)) reject(`UserPayload: not a map: ${JSON.stringify(json)}`);
  const what = 'UserPayload';
  // Both compared with `==`: a status "0" or an is_admin "true" is silently misread, not refused.
  const status = json['status'];
  if (status !== undefined && status !== null && !isDartInt(status)) reject(`${what}.status: not an int`);
  const isAdmin = json['is_admin'];
  if (isAdmin !== undefined && isAdmin !== null && typeof isAdmin !== 'boolean') {
    reject(`${what}.is_admin: ${JSON.stringify(isAdmin)} is not a bool`);
  }
  return {
    name: dartString(json, 'name', what),
    displayName: dartString(json, 'display_name', what),
    avatar: dartString(json, 'avatar', what),
    email: dartString(json, 'email', what),
    note: dartString(json, 'note', what),
    verifier: dartNullableString(json, 'verifier', what),
    // `status == 0` / `== -1`, everything else is normal.
    status: json['status'] === 0 ? 'disabled' : json['status'] === -1 ? 'unverified' : 'normal',
    // Only a real `true` is an admin; "true" or 1 silently is not.
    isAdmin: json['is_admin'] === true,
  };
}

/** serde `Option<String>` with `#[serde(default)]`: absent, null or a string. */
function serdeOptionString(json: JsonMap, key: string, what: string): void {
  const value = json[key];
  if (value !== undefined && value !== null && typeof value !== 'string') {
    reject(`${what}.${key}: ${JSON.stringify(value)} is not Option<String>`);
  }
}

/** serde `bool` with `#[serde(default)]`: absent or a boolean (null is an error). */
function serdeDefaultBool(json: JsonMap, key: string, what: string): boolean {
  const value = json[key];
  if (value === undefined) return false;
  if (typeof value !== 'boolean') reject(`${what}.${key}: ${JSON.stringify(value)} is not bool`);
  return value;
}

/**
 * src/hbbs_http/account.rs `UserPayload` (serde), the shape the OIDC poll needs: `name` and an
 * `info` object required, `status` a `serde_repr` 0/1/-1. A mismatch makes the poll ignore the
 * answer and spin until its 180 s timeout.
 */
export function parseRustUserPayload(json: unknown): { name: string; isAdmin: boolean } {
  const what = 'account.rs UserPayload';
  if (!isMap(json)) reject(`${what}: not an object`);
  if (typeof json['name'] !== 'string') reject(`${what}.name: required String`);
  for (const key of ['display_name', 'avatar', 'email', 'note', 'third_auth_type']) {
    serdeOptionString(json, key, what);
  }
  if (json['status'] !== undefined && ![0, 1, -1].includes(json['status'] as number)) {
    reject(`${what}.status: ${JSON.stringify(json['status'])} is not UserStatus (0, 1, -1)`);
  }
  const isAdmin = serdeDefaultBool(json, 'is_admin', what);
  const info = json['info'];
  if (!isMap(info)) reject(`${what}.info: required UserInfo object`);
  serdeDefaultBool(info, 'email_verification', 'UserInfo');
  serdeDefaultBool(info, 'email_alarm_notification', 'UserInfo');
  const whitelist = info['login_device_whitelist'];
  if (whitelist !== undefined) {
    if (!Array.isArray(whitelist)) reject('UserInfo.login_device_whitelist: not a Vec');
    for (const item of whitelist) {
      if (!isMap(item) || typeof item['data'] !== 'string' || !isMap(item['info'])) {
        reject('UserInfo.login_device_whitelist: bad WhitelistItem');
      }
      if (!isDartInt(item['exp']) || item['exp'] < 0) reject('WhitelistItem.exp: not u64');
    }
  }
  const other = info['other'];
  if (other !== undefined) {
    if (!isMap(other) || Object.values(other).some((v) => typeof v !== 'string')) {
      reject('UserInfo.other: not HashMap<String, String>');
    }
  }
  return { name: json['name'], isAdmin };
}

export type LoginAnswer =
  | { kind: 'signed-in'; accessToken: string; user: DartUser | null }
  | { kind: 'second-factor'; method: 'email' | 'totp'; secret: string | null; user: DartUser | null }
  | { kind: 'refused'; statusCode: number; error: string };

/**
 * flutter/lib/models/user_model.dart `login` + hbbs.dart `LoginResponse.fromJson` +
 * flutter/lib/common/widgets/login.dart `handleLoginResponse`. A designed refusal (`{error}`, shown
 * to the user) is returned as `refused`; anything the client calls a bad response throws.
 */
export function parseLoginAnswer(answer: HttpAnswer): LoginAnswer {
  const json = decodeMap(answer.body, 'login');
  if (answer.statusCode !== 200 || (json['error'] !== undefined && json['error'] !== null)) {
    const error = json['error'];
    if (typeof error !== 'string') reject(`login: HTTP ${answer.statusCode} without an error string`);
    return { kind: 'refused', statusCode: answer.statusCode, error };
  }
  const accessToken = dartNullableString(json, 'access_token', 'LoginResponse');
  const type = dartNullableString(json, 'type', 'LoginResponse');
  const tfaType = dartNullableString(json, 'tfa_type', 'LoginResponse');
  const secret = dartNullableString(json, 'secret', 'LoginResponse');
  const user = json['user'] === undefined || json['user'] === null ? null : parseUserPayload(json['user']);
  if (type === 'access_token' && accessToken !== null) return { kind: 'signed-in', accessToken, user };
  if (type === 'email_check') {
    if (tfaType === null || tfaType === 'email_check') {
      return { kind: 'second-factor', method: 'email', secret, user };
    }
    if (tfaType === 'tfa_check') return { kind: 'second-factor', method: 'totp', secret, user };
    reject('login: Failed, bad tfa type from server');
  }
  reject('login: Failed, bad response from server');
}

/** flutter/lib/models/user_model.dart `queryOidcLoginOptions`: the providers shown as buttons. */
export function parseLoginOptions(answer: HttpAnswer): { name: string }[] {
  if (answer.statusCode < 200 || answer.statusCode >= 300) reject(`login-options: HTTP ${answer.statusCode}`);
  let items: unknown;
  try {
    items = JSON.parse(answer.body);
  } catch {
    reject('login-options: not JSON');
  }
  if (!Array.isArray(items) || items.some((item) => typeof item !== 'string')) {
    reject('login-options: not a list of strings');
  }
  const options = items as string[];
  const common = options.find((item) => item.startsWith('common-oidc/'));
  if (common !== undefined) {
    const parsed: unknown = JSON.parse(common.slice('common-oidc/'.length));
    if (!Array.isArray(parsed)) reject('login-options: common-oidc is not a list');
    return parsed as { name: string }[];
  }
  return options.filter((item) => item.startsWith('oidc/')).map((item) => ({ name: item.slice(5) }));
}

/**
 * flutter/lib/models/user_model.dart `refreshCurrentUser`: 401 logs out and wipes the caches, 400
 * logs out; `{error}` or a body that is not a user sets the network error that skips the AB and
 * group pulls.
 */
export function parseCurrentUser(
  answer: HttpAnswer,
): { kind: 'user'; user: DartUser } | { kind: 'logged-out'; wipe: boolean } {
  if (answer.statusCode === 401 || answer.statusCode === 400) {
    return { kind: 'logged-out', wipe: answer.statusCode === 401 };
  }
  const json = decodeMap(answer.body, 'currentUser');
  if (json['error'] !== undefined && json['error'] !== null) {
    reject(`currentUser: ${shown(json['error'])}`);
  }
  return { kind: 'user', user: parseUserPayload(json) };
}

// ---------------------------------------------------------------------------------------------
// Paging (flutter/lib/models/ab_model.dart `_getSharedAbProfiles`, `_fetchPeers`;
// flutter/lib/models/group_model.dart `_getDeviceGroups`, `_getUsers`, `_getPeers`)

export interface Page<T> {
  /** `total` when the answer has the key; without it the client ignores `data` entirely. */
  total: number | undefined;
  items: T[];
}

/** One page: a JSON object, `{error}` thrown, 200 required, `data` read only beside `total`. */
export function parsePage<T>(answer: HttpAnswer, item: (json: unknown) => T, what: string): Page<T> {
  const json = decodeMap(answer.body, what);
  if ('error' in json) reject(`${what}: ${shown(json['error'])}`);
  if (answer.statusCode !== 200) reject(`${what}: HTTP ${answer.statusCode}`);
  if (!('total' in json)) return { total: undefined, items: [] };
  if (!isDartInt(json['total'])) reject(`${what}.total: ${JSON.stringify(json['total'])} is not an int`);
  const data = json['data'];
  // `if (data is List)`: anything else is silently ignored, which for us is a rejection.
  if (!Array.isArray(data)) reject(`${what}.data: not a list`);
  return { total: json['total'], items: data.map(item) };
}

export const CLIENT_PAGE_SIZE = 100;

/**
 * The client's loop: `current` = 1, 2, …, `total` taken while it is still 0, pages fetched while
 * `current * 100 < total`, items deduplicated by `key` (a later one replaces an earlier one).
 * `raw` keeps every item as received so a caller can see duplicates the client would hide.
 */
export async function fetchAllPages<T>(
  fetchPage: (current: number) => Promise<HttpAnswer>,
  item: (json: unknown) => T,
  key: (value: T) => string,
  what: string,
): Promise<{ items: T[]; raw: T[]; requests: number }> {
  const items: T[] = [];
  const raw: T[] = [];
  let total = 0;
  let current = 0;
  do {
    current += 1;
    if (current > 1000) reject(`${what}: more than 1000 pages`);
    const page = parsePage(await fetchPage(current), item, what);
    if (page.total !== undefined && total === 0) total = page.total;
    for (const value of page.items) {
      raw.push(value);
      const index = items.findIndex((existing) => key(existing) === key(value));
      if (index < 0) items.push(value);
      else items[index] = value;
    }
  } while (current * CLIENT_PAGE_SIZE < total);
  return { items, raw, requests: current };
}

// ---------------------------------------------------------------------------------------------
// Address book v2 (flutter/lib/models/ab_model.dart, class `Ab`)

/** `_getPersonalAbGuid`: 404 means a legacy server; every other failure stops the AB load. */
export function parseAbPersonal(answer: HttpAnswer): { legacy: true } | { legacy: false; guid: string } {
  if (answer.statusCode === 404) return { legacy: true };
  const json = decodeMap(answer.body, 'ab/personal');
  if ('error' in json) reject(`ab/personal: ${shown(json['error'])}`);
  if (answer.statusCode !== 200) reject(`ab/personal: HTTP ${answer.statusCode}`);
  const guid = dartNullableString(json, 'guid', 'ab/personal');
  if (guid === null) reject('ab/personal: no guid');
  return { legacy: false, guid };
}

/** `_getAbSettings`: 404 tolerated (no limit); `max_peer_one_ab` an int, 0 unlimited. */
export function parseAbSettings(answer: HttpAnswer): { maxPeerOneAb: number } | null {
  if (answer.statusCode === 404) return null;
  const json = decodeMap(answer.body, 'ab/settings');
  if ('error' in json) reject(`ab/settings: ${shown(json['error'])}`);
  if (answer.statusCode !== 200) reject(`ab/settings: HTTP ${answer.statusCode}`);
  const max = json['max_peer_one_ab'] ?? 0;
  if (!isDartInt(max)) reject(`ab/settings.max_peer_one_ab: ${JSON.stringify(max)} is not an int`);
  return { maxPeerOneAb: max };
}

export interface AbProfile {
  guid: string;
  name: string;
  owner: string;
  note: string;
  rule: number;
  info: unknown;
}

/** flutter/lib/common/hbbs/hbbs.dart `AbProfile.fromJson`. */
export function parseAbProfile(json: unknown): AbProfile {
  if (!isMap(json)) reject('AbProfile: not a map');
  const rule = json['rule'] ?? 0;
  if (!isDartInt(rule)) reject(`AbProfile.rule: ${JSON.stringify(rule)} is not an int`);
  const info = json['info'];
  // `info['password']` is read as the book's default password (ab_model.dart).
  if (isMap(info) && info['password'] !== undefined && info['password'] !== null) {
    if (typeof info['password'] !== 'string') reject('AbProfile.info.password: not a String');
  }
  return {
    guid: dartString(json, 'guid', 'AbProfile'),
    name: dartString(json, 'name', 'AbProfile'),
    owner: dartString(json, 'owner', 'AbProfile'),
    note: dartString(json, 'note', 'AbProfile'),
    rule,
    info,
  };
}

export interface AbPeer {
  id: string;
  hash: string;
  password: string;
  username: string;
  hostname: string;
  platform: string;
  alias: string;
  tags: string[];
  forceAlwaysRelay: boolean;
  rdpPort: string;
  rdpUsername: string;
  loginName: string;
  deviceGroupName: string;
  note: string;
  sameServer: boolean | null;
}

const PEER_STRINGS = [
  'id',
  'hash',
  'password',
  'username',
  'hostname',
  'platform',
  'alias',
  'rdpPort',
  'rdpUsername',
  'loginName',
  'device_group_name',
] as const;

/** flutter/lib/models/peer_model.dart `Peer.fromJson`. */
export function parseAbPeer(json: unknown): AbPeer {
  if (!isMap(json)) reject('Peer: not a map');
  const s = Object.fromEntries(PEER_STRINGS.map((key) => [key, dartString(json, key, 'Peer')])) as Record<
    (typeof PEER_STRINGS)[number],
    string
  >;
  const tags = json['tags'] ?? [];
  if (!Array.isArray(tags)) reject(`Peer.tags: ${JSON.stringify(tags)} is not a List`);
  if (tags.some((tag) => typeof tag !== 'string')) reject('Peer.tags: not all strings');
  // `json['forceAlwaysRelay'] == 'true'`: a boolean true is silently read as false.
  const relay = json['forceAlwaysRelay'];
  if (relay !== undefined && relay !== null && relay !== 'true' && relay !== 'false') {
    reject(`Peer.forceAlwaysRelay: ${JSON.stringify(relay)} is not the string "true"/"false"`);
  }
  // `note is String ? note : ''`: any other type is silently dropped.
  const note = json['note'];
  if (note !== undefined && note !== null && typeof note !== 'string') reject('Peer.note: not a String');
  const same = json['same_server'];
  if (same !== undefined && same !== null && typeof same !== 'boolean') {
    reject(`Peer.same_server: ${JSON.stringify(same)} is not bool?`);
  }
  return {
    id: s.id,
    hash: s.hash,
    password: s.password,
    username: s.username,
    hostname: s.hostname,
    platform: s.platform,
    alias: s.alias,
    tags: tags as string[],
    forceAlwaysRelay: relay === 'true',
    rdpPort: s.rdpPort,
    rdpUsername: s.rdpUsername,
    loginName: s.loginName,
    deviceGroupName: s.device_group_name,
    note: typeof note === 'string' ? note : '',
    sameServer: typeof same === 'boolean' ? same : null,
  };
}

/** `_fetchTags` (`_jsonDecodeRespList`) + hbbs.dart `AbTag.fromJson`: `color = json['color'] ?? ''`. */
export function parseAbTags(answer: HttpAnswer): { name: string; color: number }[] {
  let list: unknown;
  try {
    list = JSON.parse(answer.body);
  } catch {
    reject(`ab/tags: not JSON: ${answer.body.slice(0, 128)}`);
  }
  if (!Array.isArray(list)) reject(`ab/tags: not a list: ${answer.body.slice(0, 128)}`);
  if (answer.statusCode !== 200) reject(`ab/tags: HTTP ${answer.statusCode}`);
  return list.map((json: unknown) => {
    if (!isMap(json)) reject('AbTag: not a map');
    const color = json['color'];
    if (!isDartInt(color) || color < 0 || color > 0xffffffff) {
      reject(`AbTag.color: ${JSON.stringify(color)} is not an ARGB int`);
    }
    return { name: dartString(json, 'name', 'AbTag'), color };
  });
}

/** `_jsonDecodeActionResp`: done only on 200 with an EMPTY body; anything else is an error toast. */
export function parseAbWrite(answer: HttpAnswer): void {
  if (answer.statusCode === 200 && answer.body === '') return;
  reject(`ab write: HTTP ${answer.statusCode}, ${answer.body.slice(0, 128) || 'unknown error'}`);
}

// ---------------------------------------------------------------------------------------------
// Legacy address book (flutter/lib/models/ab_model.dart, class `LegacyAb`; src/ui/ab.tis)

export interface LegacyAb {
  tags: string[];
  peers: AbPeer[];
  tagColors: Record<string, number>;
}

/** `LegacyAb.pullAbImpl` + `_deserialize`: literal null = empty; else `{data: "<JSON>"}`. */
export function parseLegacyAbGet(answer: HttpAnswer): LegacyAb | null {
  if (answer.body.toLowerCase() === 'null') return { tags: [], peers: [], tagColors: {} };
  if (answer.body === '') return null;
  const json = decodeMap(answer.body, 'GET /api/ab');
  if ('error' in json) reject(`GET /api/ab: ${shown(json['error'])}`);
  if (!('data' in json)) return null;
  if (typeof json['data'] !== 'string') reject('GET /api/ab: data is not a String');
  return parseLegacyBlob(json['data']);
}

function parseLegacyBlob(text: string): LegacyAb {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    reject('legacy ab: data is not JSON');
  }
  if (data === null) return { tags: [], peers: [], tagColors: {} };
  if (!isMap(data)) reject('legacy ab: data is not a map');
  const tags = Array.isArray(data['tags']) ? data['tags'].map((tag) => String(tag)) : [];
  const peers = Array.isArray(data['peers']) ? data['peers'].map(parseAbPeer) : [];
  const tagColors: Record<string, number> = {};
  if (typeof data['tag_colors'] === 'string') {
    // `Map<String, int>.from(jsonDecode(tag_colors))`.
    const colors: unknown = JSON.parse(data['tag_colors']);
    if (!isMap(colors)) reject('legacy ab: tag_colors is not a map');
    for (const [tag, color] of Object.entries(colors)) {
      if (!isDartInt(color)) reject(`legacy ab: tag_colors.${tag} is not an int`);
      tagColors[tag] = color;
    }
  }
  return { tags, peers, tagColors };
}

/** `LegacyAb.pushAb`: 200 with an empty body or `null`, or any JSON object without `error`. */
export function parseLegacyAbPost(answer: HttpAnswer): void {
  if (answer.statusCode === 200 && (answer.body === '' || answer.body.toLowerCase() === 'null')) return;
  const json = decodeMap(answer.body, 'POST /api/ab');
  if ('error' in json) reject(`POST /api/ab: ${shown(json['error'])}`);
  if (answer.statusCode !== 200) reject(`POST /api/ab: HTTP ${answer.statusCode}`);
}

/** src/ui/ab.tis `getAb` (Sciter): `{data: "<JSON>", updated_at?}` or `{error}`. */
export function parseSciterAbGet(answer: HttpAnswer): LegacyAb {
  const json = decodeMap(answer.body, 'POST /api/ab/get');
  if (json['error'] !== undefined) reject(`POST /api/ab/get: ${shown(json['error'])}`);
  if (typeof json['data'] !== 'string') reject('POST /api/ab/get: data is not a string');
  return parseLegacyBlob(json['data']);
}

// ---------------------------------------------------------------------------------------------
// Group tab (flutter/lib/models/group_model.dart)

/** hbbs.dart `DeviceGroupPayload.fromJson`. */
export function parseDeviceGroup(json: unknown): { name: string } {
  if (!isMap(json)) reject('DeviceGroupPayload: not a map');
  return { name: dartString(json, 'name', 'DeviceGroupPayload') };
}

export interface GroupPeer {
  id: string;
  userName: string;
  deviceGroupName: string;
  note: string;
  username: string;
  hostname: string;
  platform: string;
  status: number | null;
}

/** hbbs.dart `PeerPayload.fromJson` and `PeerPayload.toPeer` (platform from `info.os`). */
export function parsePeerPayload(json: unknown): GroupPeer {
  if (!isMap(json)) reject('PeerPayload: not a map');
  const what = 'PeerPayload';
  // `info is Map ? info : {}`: another type silently loses username, hostname and platform.
  const info = json['info'];
  if (!isMap(info)) reject(`${what}.info: ${JSON.stringify(info)} is not a map`);
  const status = json['status'];
  if (status !== undefined && status !== null && !isDartInt(status)) reject(`${what}.status: not an int`);
  const os = info['os'];
  let platform = '';
  if (os !== undefined && os !== null) {
    const text = typeof os === 'string' ? os : JSON.stringify(os);
    const first = (text.split(' / ')[0] ?? '').toLowerCase();
    const known: Record<string, string> = {
      windows: 'Windows',
      linux: 'Linux',
      macos: 'Mac OS',
      android: 'Android',
    };
    platform = known[first] ?? (text.toLowerCase().includes('linux') ? 'Linux' : '');
  }
  dartString(json, 'user', what);
  return {
    id: dartString(json, 'id', what),
    userName: dartString(json, 'user_name', what),
    deviceGroupName: dartString(json, 'device_group_name', what),
    note: dartString(json, 'note', what),
    username: dartString(info, 'username', `${what}.info`),
    hostname: dartString(info, 'device_name', `${what}.info`),
    platform,
    status: typeof status === 'number' ? status : null,
  };
}

/** `_getUsers`: "Admin required!" turns into the "upgrade your Pro server" tip. */
export function parseUsersPage(answer: HttpAnswer): Page<DartUser> {
  const json = decodeMap(answer.body, 'users');
  if (json['error'] === 'Admin required!') reject('users: upgrade_rustdesk_server_pro tip');
  return parsePage(answer, parseUserPayload, 'users');
}

// ---------------------------------------------------------------------------------------------
// Device sync (src/hbbs_http/sync.rs); the Rust side reads the body whatever the status

/** The sysinfo answer is plain text, matched exactly (no trim, no JSON). */
export function parseSysinfoAnswer(text: string): 'updated' | 'retry-next-tick' | 'retry-in-120s' {
  if (text === 'SYSINFO_UPDATED') return 'updated';
  if (text === 'ID_NOT_FOUND') return 'retry-next-tick';
  return 'retry-in-120s';
}

export interface HeartbeatReply {
  sysinfoRequested: boolean;
  disconnect: number[] | undefined;
  modifiedAt: number | undefined;
  strategy: { configOptions: Record<string, string> } | undefined;
}

function stringMap(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isMap(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    reject(`${what}: not HashMap<String, String> (the whole strategy is dropped)`);
  }
  return value as Record<string, string>;
}

/**
 * The heartbeat loop in sync.rs: `HashMap<&str, Value>`; a non-object answer is ignored. `sysinfo`
 * present with ANY value forces a re-upload; `disconnect` must be `Vec<i32>`, `modified_at` an
 * `i64`, `strategy` a `StrategyOptions` of strings only, or each is silently dropped.
 */
export function parseHeartbeatReply(text: string): HeartbeatReply {
  const json = decodeMap(text, 'heartbeat');
  const disconnect = json['disconnect'];
  if (disconnect !== undefined && (!Array.isArray(disconnect) || !disconnect.every(isI32))) {
    reject(`heartbeat.disconnect: ${JSON.stringify(disconnect)} is not Vec<i32>`);
  }
  const modifiedAt = json['modified_at'];
  if (modifiedAt !== undefined && !isDartInt(modifiedAt)) {
    reject(`heartbeat.modified_at: ${JSON.stringify(modifiedAt)} is not i64`);
  }
  let strategy: HeartbeatReply['strategy'];
  if (json['strategy'] !== undefined) {
    const raw = json['strategy'];
    if (!isMap(raw)) reject('heartbeat.strategy: not StrategyOptions');
    stringMap(raw['extra'], 'heartbeat.strategy.extra');
    strategy = { configOptions: stringMap(raw['config_options'], 'heartbeat.strategy.config_options') };
  }
  return {
    sysinfoRequested: 'sysinfo' in json,
    disconnect,
    modifiedAt,
    strategy,
  };
}

// ---------------------------------------------------------------------------------------------
// Audit (src/server/connection.rs `post_audit_async`; flutter/lib/models/model.dart)

/** Stored only on 2xx with a whitespace-only body; non-empty 2xx, 5xx, 408, 429 retried; other 4xx dropped. */
export function auditPostOutcome(answer: HttpAnswer): 'stored' | 'retried' | 'dropped' {
  if (answer.statusCode >= 200 && answer.statusCode < 300) {
    return answer.body.trim() === '' ? 'stored' : 'retried';
  }
  if (answer.statusCode >= 500 || answer.statusCode === 408 || answer.statusCode === 429) return 'retried';
  return 'dropped';
}

/**
 * model.dart `_queryAuditGuid`: on 200 `jsonDecode(body) as String?` (another type throws and is
 * retried); `""` or null asks again; any other status gives up at once.
 */
export function parseConnActive(
  answer: HttpAnswer,
): { kind: 'guid'; guid: string } | { kind: 'ask-again' | 'give-up' } {
  if (answer.statusCode !== 200) return { kind: 'give-up' };
  let value: unknown;
  try {
    value = JSON.parse(answer.body);
  } catch {
    reject(`conn/active: not JSON: ${answer.body.slice(0, 128)}`);
  }
  if (value !== null && typeof value !== 'string') reject(`conn/active: ${answer.body} is not String?`);
  return value ? { kind: 'guid', guid: value } : { kind: 'ask-again' };
}

// ---------------------------------------------------------------------------------------------
// Deployment and CLI (src/ui_interface.rs `deploy_device`; src/core_main.rs)

export type DeployOutcome =
  | { result: 'OK'; exitCode: 0 }
  | { result: 'NOT_ENABLED'; exitCode: 3 }
  | { result: 'INVALID_INPUT'; exitCode: 5 }
  | { result: 'ID_TAKEN'; exitCode: 6 }
  | { result: 'error'; exitCode: 1; printed: string };

/** Only `result` counts, whatever the status; any other body is printed as the error (exit 1). */
export function parseDeployAnswer(text: string): DeployOutcome {
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  const result = isMap(parsed) && typeof parsed['result'] === 'string' ? parsed['result'] : '';
  switch (result) {
    case 'OK':
      return { result, exitCode: 0 };
    case 'NOT_ENABLED':
      return { result, exitCode: 3 };
    case 'INVALID_INPUT':
      return { result, exitCode: 5 };
    case 'ID_TAKEN':
      return { result, exitCode: 6 };
    default:
      return { result: 'error', exitCode: 1, printed: text === '' ? 'Unknown response.' : text };
  }
}

/** `--assign`: an empty body prints "Done!", anything else is printed verbatim. */
export function parseCliAnswer(text: string): string {
  return text === '' ? 'Done!' : text;
}
