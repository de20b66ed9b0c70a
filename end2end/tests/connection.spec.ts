import { expect, expectNoSeriousA11yViolations, hydrated, logIn, OWNER_TOKEN, reference, screenshot, test } from './support';

interface Item {
  connection_id: string;
  last_run: { status: string } | null;
  rendered_verdict: { pill: { label: string }; annotations: { text: string }[] };
}

test('a connection page shows the verdict, why, streams, runs and the failing run', async ({ page }) => {
  await logIn(page, '/');
  const items: Item[] = (await (await page.request.get('/_ref/connectors')).json()).data;
  const failed = items.find((i) => i.last_run?.status === 'failed');
  expect(failed, 'the demo has a connection whose last run failed').toBeTruthy();
  const id = failed!.connection_id;

  await page.goto(`/connections/${id}`);
  await hydrated(page);
  const detail = await (await page.request.get(`/_ref/connections/${id}`)).json();
  const diagnostics = await (await page.request.get(`/_ref/connections/${id}/diagnostics`)).json();

  await expect(page.getByTestId('pill')).toHaveText(detail.summary.rendered_verdict.pill.label);
  await expect(page.getByTestId('why')).toHaveText(diagnostics.rule.explanation);
  await expect(page.getByTestId('streams').locator('tbody tr')).toHaveCount(detail.summary.streams.length);
  expect(detail.failing_run).toBeTruthy();
  await expect(page.getByTestId('runs').locator(`tr[data-run-id="${detail.failing_run.run.run_id}"]`)).toHaveCount(1);
  const events = page.getByTestId('failing-run-events').locator('li');
  await expect(events).toHaveCount(detail.failing_run.events.length);

  // The run sparkline draws every run shown, and says what it shows in words.
  const bars = page.getByTestId('run-sparkline').locator('rect');
  await expect(bars).toHaveCount(await page.getByTestId('runs').locator('tbody tr').count());
  await expect(page.getByTestId('run-sparkline')).toHaveAttribute('aria-label', /^Last \d+ runs: \d+ succeeded/);
  await expect(page.getByTestId('run-sparkline').locator('rect.spark-failed')).not.toHaveCount(0);

  await expectNoSeriousA11yViolations(page);
  await screenshot(page, 'connection-1280');
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoSeriousA11yViolations(page);
  await screenshot(page, 'connection-390');
});

test('rename, pause and resume, revoke with confirmation and reactivate', async ({ page }) => {
  await logIn(page, '/');
  const items: { connection_id: string; display_name: string | null; status: string }[] = (
    await (await page.request.get('/_ref/connectors')).json()
  ).data;
  const rides = items.find((i) => i.display_name === 'Rides' && i.status === 'active');
  expect(rides, 'the demo has an active "Rides" connection').toBeTruthy();
  const id = rides!.connection_id;
  const json = async () => (await (await page.request.get(`/_ref/connectors?connection=${id}`)).json()).data[0];

  await page.goto(`/connections/${id}`);
  await hydrated(page);
  const manage = page.getByTestId('manage');

  await manage.getByLabel('Name').fill('Bike rides');
  await manage.getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByTestId('connection-title')).toHaveText('Bike rides');
  expect((await json()).display_name).toBe('Bike rides');

  await manage.getByTestId('lifecycle-pause').click();
  await expect(page.getByTestId('pill')).toHaveText('Paused');
  expect((await json()).status).toBe('paused');
  await manage.getByTestId('lifecycle-resume').click();
  await expect(manage.getByTestId('lifecycle-pause')).toBeVisible();
  expect((await json()).status).toBe('active');

  // Revoking needs the confirmation box (the browser asks for it); without it nothing changes.
  await manage.getByTestId('lifecycle-revoke').click();
  expect((await json()).status).toBe('active');
  await manage.getByLabel(/Yes, stop collecting/).check();
  await manage.getByTestId('lifecycle-revoke').click();
  await expect(page.getByTestId('pill')).toHaveText('Revoked');
  expect((await json()).status).toBe('revoked');
  await manage.getByTestId('lifecycle-reactivate').click();
  await expect(manage.getByTestId('lifecycle-reactivate')).toHaveCount(0);
  expect((await json()).status).not.toBe('revoked');

  // The list shows the new name.
  await page.goto('/');
  await expect(page.locator(`li[data-connection-id="${id}"]`).getByTestId('connection-name')).toHaveText('Bike rides');
});

test('the schedule editor changes the interval and turns the schedule off', async ({ page }) => {
  await logIn(page, '/');
  const items: { connection_id: string; display_name: string | null; schedule: unknown }[] = (
    await (await page.request.get('/_ref/connectors')).json()
  ).data;
  const laptop = items.find((i) => i.display_name === 'Laptop browser' && i.schedule);
  expect(laptop, 'the demo has a scheduled "Laptop browser"').toBeTruthy();
  const id = laptop!.connection_id;
  const schedule = async () =>
    (await (await page.request.get(`/_ref/connectors?connection=${id}`)).json()).data[0].schedule;

  await page.goto(`/connections/${id}`);
  await hydrated(page);
  const editor = page.getByTestId('schedule-editor');
  await editor.getByLabel('Every (minutes)').fill('180');
  await editor.getByRole('button', { name: 'Save schedule' }).click();
  await expect(editor.getByTestId('schedule-summary')).toHaveText('Every 3 h');
  expect((await schedule()).interval_seconds).toBe(10800);

  await editor.getByLabel('Enabled').uncheck();
  await editor.getByRole('button', { name: 'Save schedule' }).click();
  await expect(editor.getByTestId('schedule-summary')).toHaveText('Schedule paused');
  expect((await schedule()).enabled).toBe(false);
});

test('an open attention item shows on the connection page and can be marked as done', async ({ page }) => {
  await logIn(page, '/');
  const items: { connection_id: string }[] = (await (await page.request.get('/_ref/connectors')).json()).data;
  let found: { id: string; attentionId: string } | undefined;
  for (const item of items) {
    const detail = await (await page.request.get(`/_ref/connections/${item.connection_id}`)).json();
    const open = detail.attention.find((a: { resolved_at: string | null }) => !a.resolved_at);
    if (open) {
      found = { id: item.connection_id, attentionId: open.attention_id };
      break;
    }
  }
  expect(found, 'the demo has an open attention item').toBeTruthy();

  await page.goto(`/connections/${found!.id}`);
  await hydrated(page);
  const entry = page.getByTestId('attention').locator(`li[data-attention-id="${found!.attentionId}"]`);
  await entry.getByRole('button', { name: 'Mark as done' }).click();
  await expect(entry).toContainText('resolved');
  const detail = await (await page.request.get(`/_ref/connections/${found!.id}`)).json();
  const after = detail.attention.find((a: { attention_id: string }) => a.attention_id === found!.attentionId);
  expect(after.resolved_at).toBeTruthy();
});

test.describe('before hydration', () => {
  test.use({ javaScriptEnabled: false });

  test('an action the server refuses says why after the plain form post', async ({ page }) => {
    await logIn(page, '/');
    const target = (await reference(page)).find(
      (i) => i.status === 'active' && !['Rides', 'Checking account'].includes(i.display_name ?? ''),
    );
    expect(target, 'an active connection no other test uses').toBeTruthy();
    const id = target!.connection_id;
    await page.goto(`/connections/${id}`);

    // Meanwhile, automation pauses it: the page's "Pause" no longer applies.
    const paused = await page.request.post(`/_ref/connections/${id}/pause`, {
      headers: { authorization: `Bearer ${OWNER_TOKEN}` },
    });
    expect(paused.status()).toBe(200);
    await page.getByTestId('manage').getByTestId('lifecycle-pause').click();

    await page.waitForURL((url) => url.pathname === `/connections/${id}`);
    await expect(page.getByTestId('error-notice')).toBeVisible();
    await expect(page.getByTestId('error-notice')).not.toBeEmpty();
    expect((await reference(page, `?connection=${id}`))[0].status).toBe('paused');

    const resumed = await page.request.post(`/_ref/connections/${id}/resume`, {
      headers: { authorization: `Bearer ${OWNER_TOKEN}` },
    });
    expect(resumed.status()).toBe(200);
  });
});
