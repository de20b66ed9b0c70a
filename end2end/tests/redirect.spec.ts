import { displayName, expect, OWNER_TOKEN, submitLogin, type SummaryItem, test } from './support';

test('a deep link without a session goes to the login form and back after it', async ({
  page,
  request,
}) => {
  // Pick a real connection through the JSON route, with the owner's bearer token.
  const response = await request.get('/_ref/connectors', {
    headers: { Authorization: `Bearer ${OWNER_TOKEN}` },
  });
  expect(response.status()).toBe(200);
  const [item]: SummaryItem[] = (await response.json()).data;
  expect(item).toBeDefined();
  const target = `/connections/${encodeURIComponent(item.connection_id)}`;

  await page.goto(target);
  await expect(page).toHaveURL(
    (url) => url.pathname === '/login' && url.searchParams.get('return_to') === target,
  );

  await submitLogin(page);
  await page.waitForURL((url) => url.pathname === target);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(displayName(item));
});

test('the list page without a session redirects to login and returns to it', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(
    (url) => url.pathname === '/login' && url.searchParams.get('return_to') === '/',
  );
  await submitLogin(page);
  await page.waitForURL((url) => url.pathname === '/');
  await expect(page.getByTestId('connection-list')).toBeVisible();
});

test('server functions refuse callers without a session', async ({ request }) => {
  const response = await request.post('/api/list_connections', { form: {} });
  expect(response.status()).toBe(401);
});
