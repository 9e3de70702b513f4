// The console's Devices page at BENCH_DEVICES devices in headless Chromium (bench/README.md
// "console-devices-page"): from navigation to the first rows on screen, for the listings the page
// offers, against the real api process serving the built console (run `npm run build` first). The
// reference, measured in the same run and the same browser, is the My account page: the same shell,
// sign-in state and one small API call, so the ratio is what 100,000 devices cost the page.
//   node -r @swc-node/register bench/console-devices-page.bench.ts
import { loadavg } from 'node:os';

import { createPrismaClient } from '@switchboard/data-access';
import { createTestDatabase } from '@switchboard/testing';
import { chromium } from 'playwright-core';

import { E2E_ADMIN_USERNAME, startApi } from '../apps/e2e/src/support/api-process';
import { seed } from './devices-list.bench';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const AIM_MS = 1_000;

const LISTINGS: readonly string[] = [
  '/devices',
  '/devices?online=true',
  '/devices?admission=pending',
  '/devices?os=windows&sort=lastSeenAt&order=desc',
  '/devices?banned=true',
  '/devices?tag=prod&sort=hostname',
  '/devices?q=desk',
  '/devices?q=host-0042',
];

function summary(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { p50: at(50), p99: at(99) };
}

async function main(): Promise<void> {
  const database = await createTestDatabase();
  const api = await startApi({
    DATABASE_URL: database.url,
    REDIS_KEY_PREFIX: `bench-console-devices-${process.pid}`,
    LOG_LEVEL: 'warn',
  });
  const prisma = createPrismaClient(database.url);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    await seed(prisma);
    const page = await browser.newPage({ baseURL: api.baseUrl.replace('127.0.0.1', 'localhost') });
    await page.goto('/sign-in');
    await page.getByLabel('Username').fill(E2E_ADMIN_USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(api.adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    // Navigation to "shown": a full page load (index.html, cached assets, who-am-I, the page's calls).
    const timeTo = async (url: string, shown: () => Promise<void>): Promise<number> => {
      const started = performance.now();
      await page.goto(url);
      await shown();
      return performance.now() - started;
    };
    // The first rows, or the page's answer that nothing matches.
    const firstRow = () => page.locator('table tbody tr, p.empty').first().waitFor();
    const accountShown = () => page.getByRole('heading', { level: 1, name: 'My account' }).waitFor();

    for (const url of LISTINGS) await timeTo(url, firstRow); // warm-up
    const reference: number[] = [];
    const byListing = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      reference.push(await timeTo('/account', accountShown));
      for (const url of LISTINGS)
        byListing.set(url, [...(byListing.get(url) ?? []), await timeTo(url, firstRow)]);
    }
    const ref = summary(reference);
    const lines = [
      `console devices page: ${Number(process.env['BENCH_DEVICES'] ?? 100_000)} devices, ${ROUNDS} rounds, load ${loadavg()[0]?.toFixed(1)}`,
      `reference (My account page)                      p50 ${ref.p50.toFixed(0).padStart(5)} ms  p99 ${ref.p99.toFixed(0).padStart(5)} ms`,
    ];
    let worst = 0;
    for (const [url, samples] of byListing) {
      const figures = summary(samples);
      worst = Math.max(worst, figures.p99);
      lines.push(
        `${url.padEnd(48)} p50 ${figures.p50.toFixed(0).padStart(5)} ms  p99 ${figures.p99.toFixed(0).padStart(5)} ms  ratio ${(figures.p50 / ref.p50).toFixed(2)}`,
      );
    }
    lines.push(
      `worst p99 ${worst.toFixed(0)} ms (aim < ${AIM_MS} ms): ${worst < AIM_MS ? 'met' : 'NOT met'}`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await browser.close();
    await prisma.$disconnect();
    await api.stop();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
