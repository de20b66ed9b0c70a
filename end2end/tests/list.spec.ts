import { displayName, expect, expectNoSeriousA11yViolations, hydrated, logIn, reference, type Action, type SummaryItem, test } from './support';

/** What the row shows for a next action, given the JSON's. */
function actionText(action: Action): string {
  if (action.audience === 'owner' && !['refresh_now', 'retry_gap'].includes(action.kind)) {
    return `${action.cta} →`;
  }
  return action.cta;
}

test('each row shows the pill, next action and summary counts of the JSON', async ({ page }) => {
  await logIn(page, '/');
  const list = page.getByTestId('connection-list');
  await expect(list).toBeVisible();
  const items = await reference(page);

  const rows = list.locator('li.connection-row');
  await expect(rows).toHaveCount(items.length);
  for (const item of items) {
    const row = list.locator(`li[data-connection-id="${item.connection_id}"]`);
    await expect(row.getByTestId('connection-name')).toHaveText(displayName(item));
    await expect(row.getByTestId('pill')).toHaveText(item.rendered_verdict.pill.label);
    await expect(row.getByTestId('pill')).toHaveClass(new RegExp(`pill-${item.rendered_verdict.pill.tone}`));
    const action = row.getByTestId('next-action');
    if (item.next_action) {
      await expect(action).toHaveText(actionText(item.next_action));
      await expect(action).toHaveAttribute('data-action-kind', item.next_action.kind);
      if (['refresh_now', 'retry_gap'].includes(item.next_action.kind) && item.next_action.audience === 'owner') {
        await expect(action).toHaveJSProperty('tagName', 'BUTTON');
      }
    } else {
      await expect(action).toHaveCount(0);
    }
    await expect(row.getByTestId('counts')).toContainText(' records · ');
  }

  const strip = page.getByTestId('summary-strip');
  const count = (f: (i: SummaryItem) => boolean) => String(items.filter(f).length);
  await expect(strip.getByTestId('strip-healthy').locator('strong')).toHaveText(
    count((i) => i.connection_health.state === 'healthy'),
  );
  await expect(strip.getByTestId('strip-need-you').locator('strong')).toHaveText(
    count((i) => i.rendered_verdict.channel === 'attention'),
  );
  await expect(strip.getByTestId('strip-stale').locator('strong')).toHaveText(
    count((i) => i.freshness.status === 'stale'),
  );
  await expect(strip.getByTestId('strip-cant-collect').locator('strong')).toHaveText(
    count((i) => i.rendered_verdict.pill.tone === 'red'),
  );
  await hydrated(page);
});

test('a health filter shows only the matching rows', async ({ page }) => {
  await logIn(page, '/');
  await expect(page.getByTestId('connection-list')).toBeVisible();
  const items = await reference(page);
  const states = [...new Set(items.map((i) => i.connection_health.state))];
  // A state some connections are in and others are not.
  const state = states.find((s) => items.some((i) => i.connection_health.state !== s))!;
  expect(state).toBeTruthy();

  await page.locator(`nav.filters a[data-health="${state}"]`).click();
  await page.waitForURL((url) => url.searchParams.get('health') === state);
  const expected = (await reference(page, `?health=${state}`)).map((i) => i.connection_id);
  expect(expected.length).toBeGreaterThan(0);
  const rows = page.getByTestId('connection-list').locator('li.connection-row');
  await expect(rows).toHaveCount(expected.length);
  const ids = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-connection-id')));
  expect(ids).toEqual(expected);
  await expect(page.locator(`nav.filters a[data-health="${state}"]`)).toHaveAttribute('aria-current', 'page');

  // "Needs you first" keeps every connection, in a different order.
  await page.goto('/?order=needs_you_first');
  await expect(page.getByTestId('connection-list').locator('li.connection-row')).toHaveCount(items.length);
});

test('"Refresh now" on a manual stale connection starts a run in place', async ({ page }) => {
  await logIn(page, '/');
  await hydrated(page);
  const items = await reference(page);
  const checking = items.find((i) => displayName(i) === 'Checking account');
  expect(checking, 'the demo has a "Checking account"').toBeTruthy();
  expect(checking!.next_action?.kind).toBe('refresh_now');

  const row = page.locator(`li[data-connection-id="${checking!.connection_id}"]`);
  await row.getByRole('button', { name: 'Refresh now' }).click();

  // The JSON shows the open run, and the row updates without a reload.
  await expect
    .poll(async () => {
      const [item] = await reference(page, `?connection=${checking!.connection_id}`);
      return [item.connection_health.badges.syncing, item.rendered_verdict.pill.label, item.next_action?.kind];
    })
    .toEqual([true, 'Syncing', 'wait']);
  await expect(row.getByTestId('pill')).toHaveText('Syncing');
  await expect(row.getByRole('button', { name: 'Refresh now' })).toHaveCount(0);
});

test('the list has no serious or critical accessibility violations, wide or narrow', async ({ page }) => {
  await logIn(page, '/');
  await expect(page.getByTestId('connection-list')).toBeVisible();
  await hydrated(page);
  await expectNoSeriousA11yViolations(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await expectNoSeriousA11yViolations(page);
});

test('walking the pages shows every connection exactly once', async ({ page }) => {
  const pageSize = 5;
  await logIn(page, `/?limit=${pageSize}`);
  const expected = (await reference(page)).map((i) => i.connection_id).sort();
  expect(expected.length, 'the demo needs more than one page').toBeGreaterThan(pageSize);

  const seen: string[] = [];
  for (let pages = 1; ; pages++) {
    expect(pages, 'the pages end').toBeLessThanOrEqual(Math.ceil(expected.length / pageSize));
    const rows = page.getByTestId('connection-list').locator('li.connection-row');
    const ids = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-connection-id')!));
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThanOrEqual(pageSize);
    seen.push(...ids);
    const next = page.getByTestId('next-page');
    if ((await next.count()) === 0) break;
    // Every page is a deep link: open it as a fresh document.
    const href = await next.getAttribute('href');
    expect(href).toContain(`limit=${pageSize}`);
    await page.goto(href!);
  }
  expect([...seen].sort()).toEqual(expected);
});

test.describe('before hydration', () => {
  test.use({ javaScriptEnabled: false });

  test('"Refresh now" is a plain form post that returns to the list', async ({ page }) => {
    await logIn(page, '/');
    const items = await reference(page);
    const target = items.find(
      (i) => i.next_action?.kind === 'refresh_now' && i.next_action.audience === 'owner',
    );
    expect(target, 'a connection the owner can refresh').toBeTruthy();
    const row = page.locator(`li[data-connection-id="${target!.connection_id}"]`);
    await row.getByRole('button', { name: target!.next_action!.cta }).click();

    await page.waitForURL((url) => url.pathname === '/');
    const [after] = await reference(page, `?connection=${target!.connection_id}`);
    expect(after.connection_health.badges.syncing).toBe(true);
    // The list the server rendered after the post agrees with the JSON.
    await expect(row.getByTestId('pill')).toHaveText(after.rendered_verdict.pill.label);
    await expect(row.getByTestId('next-action')).toHaveAttribute('data-action-kind', after.next_action!.kind);
    expect(after.next_action!.kind).not.toBe('refresh_now');
  });
});
