// Runs Prisma's real schema engine (the one `prisma migrate` runs, compiled to wasm) against Postgres
// through @prisma/adapter-pg, for one command, and prints its JSON result on stdout.
// Usage: node engine-harness.mjs '<request JSON>' where the request is
//   { command: 'deploy' | 'diagnose' | 'diff', url, migrationsDir, schemaPath }.
// It is a separate ESM process because the engine package is ESM with a bundler-style wasm import,
// which Jest's CommonJS sandbox cannot load; prisma-engine.ts spawns it.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const request = JSON.parse(process.argv[2] ?? '{}');
const { command, url, migrationsDir, schemaPath } = request;

// The engine and adapter come from the workspace this file lives in, whichever schema is diffed.
const require = createRequire(import.meta.url);

async function loadEngine() {
  // The same instantiation Prisma's CLI does for its bundled copy of the engine.
  const bgPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const bg = await import(pathToFileURL(bgPath).href);
  const wasm = readFileSync(join(dirname(bgPath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(wasm, { './schema_engine_bg.js': bg });
  bg.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
  return bg.SchemaEngine;
}

function readMigrationsList() {
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: readFileSync(join(migrationsDir, 'migration_lock.toml'), 'utf8'),
    },
    shadowDbInitScript: '',
    migrationDirectories: readdirSync(migrationsDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()
      .map((name) => ({
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: { tag: 'ok', value: readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8') },
        },
      })),
  };
}

const CHAR_OID = 18;
const TEXT_OID = 25;

/**
 * A pg Client that reports Postgres' one-byte "char" columns as text. The engine's catalog queries
 * (pg_constraint.contype, pg_attribute.attidentity...) return "char", which @prisma/adapter-pg 7.10
 * has no column type for, so describing a live database (diff) fails with "Column type 'char' could
 * not be deserialized". pg already hands such values over as one-character strings, which is what
 * the engine reads for text, so relabelling the field type is all it takes.
 */
function charAsTextClient(pg) {
  const relabel = (result) => {
    for (const each of Array.isArray(result) ? result : [result]) {
      for (const field of each?.fields ?? []) if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
    return result;
  };
  return class CharAsTextClient extends pg.Client {
    // pg.Pool#query (what the adapter calls) uses the callback form; a checked-out client the promise form.
    query(...args) {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        args[args.length - 1] = (error, result) => callback(error, error ? result : relabel(result));
        return super.query(...args);
      }
      const pending = super.query(...args);
      return typeof pending?.then === 'function' ? pending.then(relabel) : pending;
    }
  };
}

/**
 * A PrismaPg factory whose adapters run a migration script as ONE simple query, as Prisma's native
 * schema engine does (sql-schema-connector's apply_script). adapter-pg 7.10's own executeScript
 * splits the text on every ";" (dist/index.js, PrismaPgAdapter#executeScript), which cuts apart any
 * DO block or function body and sends each piece on whichever pooled connection is free.
 */
function wholeScriptFactory(PrismaPg) {
  return class WholeScriptPrismaPg extends PrismaPg {
    async connect() {
      const adapter = await super.connect();
      adapter.executeScript = async (script) => {
        try {
          await adapter.client.query(script);
        } catch (error) {
          adapter.onError(error);
        }
      };
      return adapter;
    }
  };
}

async function run() {
  const SchemaEngine = await loadEngine();
  const { PrismaPg } = require('@prisma/adapter-pg');
  const adapterRequire = createRequire(require.resolve('@prisma/adapter-pg'));
  const { bindMigrationAwareSqlAdapterFactory } = adapterRequire('@prisma/driver-adapter-utils');
  const schema = readFileSync(schemaPath, 'utf8');
  const Client = charAsTextClient(adapterRequire('pg'));
  const WholeScriptPrismaPg = wholeScriptFactory(PrismaPg);
  const adapter = bindMigrationAwareSqlAdapterFactory(
    new WholeScriptPrismaPg({ connectionString: url, Client }),
  );
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => {}, adapter);
  const filters = { externalTables: [], externalEnums: [] };
  switch (command) {
    case 'deploy':
      return engine.applyMigrations({ migrationsList: readMigrationsList(), filters });
    case 'diagnose':
      return engine.diagnoseMigrationHistory({
        migrationsList: readMigrationsList(),
        optInToShadowDatabase: false,
        filters,
      });
    case 'diff':
      // `prisma migrate diff --from-config-datasource --to-schema <schema> --script`: the live database
      // (reached through the adapter) is the starting point, schema.prisma the desired end state.
      return engine.diff({
        from: {
          tag: 'schemaDatasource',
          files: [{ path: schemaPath, content: schema }],
          configDir: dirname(schemaPath),
        },
        to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
        script: true,
        // exitCode 2 means "there are changes": sturdier than parsing the script's comments.
        exitCode: true,
        filters,
      });
    default:
      throw new Error(`unknown command ${JSON.stringify(command)} (expected deploy, diagnose or diff)`);
  }
}

try {
  process.stdout.write(JSON.stringify(await run()));
  // The adapter's pool would keep the process alive.
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
