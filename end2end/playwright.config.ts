import { defineConfig } from '@playwright/test';
import { LIVE_PORT, OWNER_PASSWORD, OWNER_TOKEN, PORT } from './tests/support';

/** `serve.mjs` on `port`, with extra `owner-console serve` arguments. */
function server(port: number, serveArgs: string[]) {
  return {
    command: ['node', 'serve.mjs', ...serveArgs].join(' '),
    url: `http://127.0.0.1:${port}/login`,
    timeout: 180_000,
    reuseExistingServer: false,
    // The server stops cleanly on Ctrl-C; serve.mjs then removes the temporary database.
    gracefulShutdown: { signal: 'SIGINT' as const, timeout: 10_000 },
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    env: {
      E2E_PORT: String(port),
      OWNER_PASSWORD,
      OWNER_TOKEN,
    },
  };
}

// Drives the real server (built by `cargo leptos build`) on a fresh, seeded SQLite database
// in Debian's Chromium. `serve.mjs` creates the database, seeds the demo fleet and serves it.
export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  // One server, one database, two cores: run the files one after another.
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: process.env.CI ? 1 : 0,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    browserName: 'chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  // Two servers, each on its own fresh database: a still one (the tests compare it with its
  // JSON), and a live one running the simulated collection runtime (live.spec.ts).
  webServer: [
    server(PORT, []),
    server(LIVE_PORT, ['--simulate', '--simulate-failure-rate', '0']),
  ],
});
