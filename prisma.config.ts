// Prisma CLI configuration (Prisma 7 keeps the connection URL out of schema.prisma).
// Migrations are applied by our own runner (libs/data-access/src/migrations), which records them
// in _prisma_migrations exactly as `prisma migrate deploy` would.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/switchboard' },
});
