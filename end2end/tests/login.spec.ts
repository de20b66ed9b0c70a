import { displayName, expect, hydrated, logIn, screenshot, submitLogin, type SummaryItem, test } from './support';

test('the owner logs in through the form and sees every connection by name', async ({ page }) => {
  await logIn(page, '/');

  const list = page.getByTestId('connection-list');
  await expect(list).toBeVisible();
  await hydrated(page);

  // The JSON route, read with the page's own session cookie, is the reference.
  const response = await page.request.get('/_ref/connectors');
  expect(response.status()).toBe(200);
  const items: SummaryItem[] = (await response.json()).data;
  expect(items.length).toBeGreaterThanOrEqual(12);

  const rows = list.locator('li.connection-row');
  await expect(rows).toHaveCount(items.length);
  const ids = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-connection-id')));
  expect(ids).toEqual(items.map((item) => item.connection_id));

  for (const [index, item] of items.entries()) {
    const row = rows.nth(index);
    await expect(row.getByTestId('connection-name')).toHaveText(displayName(item));
    await expect(row.getByTestId('connector')).toHaveText(item.connector_display_name);
  }

  await screenshot(page, 'list-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await screenshot(page, 'list-390');
});

test('a wrong password keeps the form and says so', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await submitLogin(page, 'not-the-owner-password');

  await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.has('error'));
  await expect(page.getByRole('alert')).toContainText('password is not right');
  await expect(page.getByLabel('Password')).toBeVisible();
  await screenshot(page, 'login-error');
});

test('logging out ends the session', async ({ page }) => {
  await logIn(page, '/');
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((url) => url.pathname === '/login');

  await page.goto('/');
  await expect(page).toHaveURL((url) => url.pathname === '/login');
});
