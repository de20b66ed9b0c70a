// Shared by playwright.config.ts (which hands these to the test server) and the tests.
import { test as base, expect, type Page } from '@playwright/test';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(__filename);

export { expect };

/**
 * Playwright's `test`, with a page that fails the test on any uncaught page error (a wasm
 * panic, such as a hydration mismatch) or console error. A document answered with an error
 * status (the 404 page) logs "Failed to load resource"; that one is expected, not a failure.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        errors.push(`console error: ${message.text()}`);
      }
    });
    await use(page);
    expect(errors, 'errors in the browser').toEqual([]);
  },
});

export const PORT = Number(process.env.E2E_PORT ?? 3917);
export const BASE_URL = `http://127.0.0.1:${PORT}`;
/** A second server, on its own database, that also runs the simulated collection runtime. */
export const LIVE_PORT = PORT + 1;
export const LIVE_BASE_URL = `http://127.0.0.1:${LIVE_PORT}`;
/** The owner password the test server starts with (a fresh database every run). */
export const OWNER_PASSWORD = process.env.E2E_OWNER_PASSWORD ?? 'e2e-owner-password';
/** The owner bearer token, for reading the JSON routes without a browser session. */
export const OWNER_TOKEN = process.env.E2E_OWNER_TOKEN ?? 'oc_e2e_owner_token';

export interface Action {
  kind: string;
  audience: string;
  cta: string;
}

/** The shape of `GET /_ref/connectors` items the tests compare against. */
export interface SummaryItem {
  connection_id: string;
  connector_id: string;
  connector_display_name: string;
  display_name: string | null;
  status: string;
  schedule: { enabled: boolean } | null;
  connection_health: { state: string; badges: { syncing: boolean } };
  freshness: { status: string };
  last_run: { status: string } | null;
  rendered_verdict: { pill: { tone: string; label: string }; channel: string };
  next_action: Action | null;
}

/** The reference: `/_ref/connectors` (with a query), read with the page's own session cookie. */
export async function reference(page: Page, query = ''): Promise<SummaryItem[]> {
  const response = await page.request.get(`/_ref/connectors${query}`);
  expect(response.status()).toBe(200);
  return (await response.json()).data;
}

/** The name the console shows: the owner's label, else the connector's name. */
export function displayName(item: SummaryItem): string {
  const label = item.display_name?.trim();
  return label ? item.display_name! : item.connector_display_name;
}

/** Fills and submits the login form on the current `/login` page. */
export async function submitLogin(page: Page, password = OWNER_PASSWORD): Promise<void> {
  await expect(page.locator('form[action="/login"]')).toBeVisible();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Logs in through the form and waits to land on `returnTo`. */
export async function logIn(page: Page, returnTo = '/'): Promise<void> {
  await page.goto(`/login?return_to=${encodeURIComponent(returnTo)}`);
  await submitLogin(page);
  await page.waitForURL((url) => url.pathname + url.search === returnTo);
}

/** Waits until the browser has hydrated the page (client-only controls work). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
}

/** A full-page screenshot into end2end/screenshots/ (not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(__dirname, '..', 'screenshots', `${name}.png`), fullPage: true });
}

/**
 * Injects axe-core (from npm) and fails on any serious or critical violation, naming the rule
 * and the elements.
 */
export async function expectNoSeriousA11yViolations(page: Page): Promise<void> {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const result = await (window as any).axe.run(document);
    return result.violations
      .filter((v: { impact: string }) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v: { id: string; nodes: { target: string[] }[] }) =>
          `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
      );
  });
  expect(violations).toEqual([]);
}
