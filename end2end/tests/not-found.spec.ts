import { expect, logIn, screenshot, test } from './support';

test.beforeEach(async ({ page }) => {
  await logIn(page, '/');
});

test('an unknown connection renders the 404 page with status 404', async ({ page }) => {
  const response = await page.goto('/connections/does-not-exist');
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toBeVisible();
  await expect(page.getByRole('link', { name: /All connections/ }).first()).toBeVisible();
  await screenshot(page, 'connection-404');
});

test('an unknown page renders the 404 page with status 404', async ({ page }) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toBeVisible();
});
