import { type z } from 'zod';

/** Every problem found in the environment, not just the first, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export type Environment = Readonly<Record<string, string | undefined>>;

// Values of these variables (names ending in PASSWORD, SECRET, KEY…) are never echoed back in errors.
const SECRET_NAME = /(^|_)(PASSWORD|SECRET|TOKEN|KEYS?|CREDENTIALS?)$/i;

/**
 * Validates `env` against an app's schema and returns a deeply frozen, typed config.
 * The schema is a zod object (use `.superRefine` on it for conditional requirements).
 * Empty strings count as unset, so `FOO=` in a compose file falls back to the default.
 */
export function parseConfig<Schema extends z.ZodType<object>>(
  schema: Schema,
  env: Environment,
): DeepReadonly<z.output<Schema>> {
  const input: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') input[name] = value.trim();
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, input)));
  }
  return deepFreeze(result.data);
}

/**
 * What each app's composition root calls once at start: on bad input it prints every problem
 * and exits with EX_CONFIG (78), before any port is opened or connection made.
 */
export function loadConfig<Schema extends z.ZodType<object>>(
  schema: Schema,
  env: Environment = process.env,
  exit: (code: number) => never = (code) => process.exit(code),
): DeepReadonly<z.output<Schema>> {
  try {
    return parseConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return exit(78);
  }
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, string>): string {
  const name = issue.path.map(String).join('.') || '(config)';
  const raw = issue.path.length === 1 ? input[String(issue.path[0])] : undefined;
  if (raw === undefined) return `${name}: ${issue.message}`;
  const shown = SECRET_NAME.test(name) ? '(hidden)' : JSON.stringify(withoutUrlPassword(raw));
  return `${name}: ${issue.message} (got ${shown})`;
}

/** A URL's password is a secret whatever the variable is called (DATABASE_URL, API_URL…). */
function withoutUrlPassword(raw: string): string {
  if (!raw.includes('@')) return raw;
  try {
    const url = new URL(raw);
    if (url.password === '') return raw;
    url.password = '(hidden)';
    return url.toString();
  } catch {
    return raw;
  }
}

export type DeepReadonly<T> = T extends (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [Key in keyof T]: DeepReadonly<T[Key]> }
    : T;

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
