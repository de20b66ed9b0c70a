import { defineConfig } from '@playwright/test';
import { BASE_URL, OWNER_PASSWORD, OWNER_TOKEN, PORT } from './tests/support';

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
    baseURL: BASE_URL,
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
  webServer: {
    command: 'node serve.mjs',
    url: `${BASE_URL}/login`,
    timeout: 180_000,
    reuseExistingServer: false,
    // The server stops cleanly on Ctrl-C; serve.mjs then removes the temporary database.
    gracefulShutdown: { signal: 'SIGINT', timeout: 10_000 },
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      E2E_PORT: String(PORT),
      OWNER_PASSWORD,
      OWNER_TOKEN,
    },
  },
});
