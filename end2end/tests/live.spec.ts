import { expect, hydrated, LIVE_BASE_URL, logIn, reference, test } from './support';

// Against the second test server, which runs the simulated collection runtime (with no
// random failures): the console must follow it without the owner reloading.
test.use({ baseURL: LIVE_BASE_URL });

test('"Refresh now" on a manual stale connection: Syncing, then Healthy, without a reload', async ({ page }) => {
  await logIn(page, '/');
  await hydrated(page);
  const items = await reference(page);
  const target = items.find(
    (i) =>
      i.schedule === null &&
      i.freshness.status === 'stale' &&
      i.next_action?.kind === 'refresh_now' &&
      i.next_action.audience === 'owner',
  );
  expect(target, 'the demo has a manual, stale connection the owner can refresh').toBeTruthy();
  const id = target!.connection_id;
  const row = page.locator(`li[data-connection-id="${id}"]`);

  // A marker on this document: a reload or a navigation would lose it.
  await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));
  await row.getByRole('button', { name: 'Refresh now' }).click();

  await expect(row.getByTestId('pill')).toHaveText('Syncing');
  // The simulated runtime finishes the run a few seconds later; the list polls.
  await expect(row.getByTestId('pill')).toHaveText('Healthy', { timeout: 30_000 });
  await expect(row.getByTestId('last-run')).toContainText('succeeded');
  expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

  const [after] = await reference(page, `?connection=${id}`);
  expect(after.rendered_verdict.pill.label).toBe('Healthy');
  expect(after.freshness.status).toBe('current');
  expect(after.last_run?.status).toBe('succeeded');
});

test('with the runtime running, the list shows no runtime warning', async ({ page }) => {
  await logIn(page, '/');
  await expect(page.getByTestId('connection-list')).toBeVisible();
  await expect(page.getByTestId('runtime-banner')).toHaveCount(0);
});
