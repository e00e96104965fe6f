// The dashboard in a real browser (Debian's Chromium, headless, driven by
// playwright-core) against a real `clawback serve` and real agents. The tests
// run in order and build on each other: the backup made in one is downloaded,
// restored and shown by the next ones.
//
// Run: `ctest -L browser` (run_browser_tests.cmake does `npm ci` when needed),
// or `npm ci` once and then `npm test` in this directory (binaries default to
// build-web/). Screenshots go to tests/artifacts/screenshots/.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {chromium} from 'playwright-core';
import {Stack, ApiClient, makeSampleRoot, waitFor, execFileP, artifactsDir, CHROMIUM, CHROMIUM_ARGS, ADMIN_PASSWORD} from './harness.js';

let stack;
let browser;
let admin;        // {context, page} of the admin's browser session
let backupId;     // the backup the admin makes from the dialog
let browserLaunchedAt = 0;
const shotDir = path.join(artifactsDir, 'screenshots');

async function shot(page, name) {
  await page.screenshot({path: path.join(shotDir, `${name}.png`), fullPage: false});
}

async function newSession(username, password) {
  const context = await browser.newContext({viewport: {width: 1280, height: 860}, acceptDownloads: true});
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[13]/.test(m.text())) page.errors.push(m.text()); });
  await page.goto(`${stack.baseUrl}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByTestId('current-user').waitFor();
  return {context, page};
}

const row = (page, id) => page.locator(`tr[data-backup-id="${id}"]`);

before(async () => {
  fs.mkdirSync(shotDir, {recursive: true});
  stack = await new Stack().start();
  // alpha compresses slowly (zstd level 19, one thread, 8 MB of text: about
  // 3 s here) so a backup stays "running" for several 1 s polls and its
  // spinner and progress are seen even on a faster machine; beta is quick.
  makeSampleRoot(path.join(stack.dir, 'root-alpha'), 'alpha', {bulkBytes: 8_000_000});
  makeSampleRoot(path.join(stack.dir, 'root-beta'), 'beta');
  await stack.addAgent('alpha', path.join(stack.dir, 'root-alpha'), ['--compression-level', '19', '--threads', '1']);
  await stack.addAgent('beta', path.join(stack.dir, 'root-beta'));
  browserLaunchedAt = Date.now();
  browser = await chromium.launch({executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true});
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('Chromium runs hermetically: offline flags and a fresh profile', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('chrome://version');
  const commandLine = (await page.locator('#command_line').textContent()).split(/\s+/);
  for (const flag of ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                      '--disable-component-update', '--disable-sync', '--headless']) {
    assert.ok(commandLine.includes(flag), `${flag} in ${commandLine.join(' ')}`);
  }
  const profiles = commandLine.filter((a) => a.startsWith('--user-data-dir='));
  assert.equal(profiles.length, 1, 'one --user-data-dir');
  const profile = profiles[0].slice('--user-data-dir='.length);
  assert.equal(path.dirname(profile), os.tmpdir(), `profile ${profile} is a temporary directory`);
  const made = fs.statSync(profile).birthtimeMs || fs.statSync(profile).ctimeMs;
  assert.ok(made >= browserLaunchedAt - 1000, `profile ${profile} was created for this run`);
  await context.close();
});

test('the dashboard is served from the binary with safe headers and deep links', async () => {
  const index = await fetch(`${stack.baseUrl}/backups?instance=alpha`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /text\/html/);
  assert.match(await index.text(), /<script type="module" src="\/assets\/app.js">/);
  const js = await fetch(`${stack.baseUrl}/assets/app.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type'), /javascript/);
  const missing = await fetch(`${stack.baseUrl}/api/v1/no-such-endpoint`);
  assert.ok(missing.status >= 400, 'unknown API paths are errors, not index.html');
});

test('admin signs in (a wrong password shows an error)', async () => {
  const context = await browser.newContext({viewport: {width: 1280, height: 860}, acceptDownloads: true});
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(`${stack.baseUrl}/backups`);
  await page.getByRole('heading', {name: 'Sign in'}).waitFor();
  await shot(page, '01-login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', {name: 'Sign in'}).click();
  await assertText(page.getByTestId('login-error'), /wrong username or password/i);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByRole('heading', {name: 'Backups'}).waitFor();
  assert.equal(new URL(page.url()).pathname, '/backups', 'returns to the page asked for');
  assert.equal(await page.getByTestId('current-user').textContent(), 'admin');
  for (const name of ['Instances', 'Backups', 'Schedules', 'Users', 'Audit log']) {
    await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name}).waitFor();
  }
  admin = {context, page};
});

test('create backup from the dialog: inline path errors, spinner, then the size without a reload', async () => {
  const {page} = admin;
  await page.getByRole('button', {name: 'Create Backup'}).click();
  const dialog = page.getByRole('dialog', {name: 'Create Backup'});
  await dialog.waitFor();
  await dialog.getByLabel('Instance').selectOption({label: 'alpha'});
  assert.equal(await dialog.getByLabel('HOME', {exact: true}).isChecked(), true, 'HOME is checked by default');
  await dialog.getByRole('button', {name: 'Add a path'}).click();
  const custom = dialog.getByLabel('Absolute path 1');
  await custom.fill('etc/app');
  await custom.blur();
  await assertText(dialog.locator('.custom-paths .field-error'), /path must be absolute: etc\/app/);
  await custom.fill('/proc/1');
  await assertText(dialog.locator('.custom-paths .field-error'), /excluded system directory/);
  await custom.fill('/etc/app');
  assert.equal(await dialog.locator('.custom-paths .field-error').textContent(), '');
  await dialog.getByLabel('Note (optional)').fill('Before upgrading packages');
  await shot(page, '03-create-backup-dialog');

  // Keyboard: Tab stays inside the modal dialog.
  for (let i = 0; i < 12; i++) await page.keyboard.press('Tab');
  assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), 'focus stays in the dialog');

  await dialog.getByRole('button', {name: 'Create Backup'}).click();
  await dialog.waitFor({state: 'detached'});
  const first = page.locator('tbody tr').first();
  backupId = Number(await first.getAttribute('data-backup-id'));
  assert.ok(backupId > 0);
  // The new row is there at once, busy, with a spinner.
  const status = await first.getAttribute('data-status');
  assert.ok(['queued', 'running'].includes(status), `new row is queued/running, got ${status}`);
  await row(page, backupId).locator('.spinner').waitFor();
  await row(page, backupId).locator('[data-status="running"]').waitFor({timeout: 20000});
  // Live progress: the bytes so far grow past zero while it is still running.
  await assertText(row(page, backupId).locator('.progress-text'), /^[1-9][\d.]* (B|KB|MB) so far$/, 20000);
  assert.equal(await row(page, backupId).getAttribute('data-status'), 'running');
  await shot(page, '02-backups-running');

  // Follow the API; once it says completed the UI must show the size within ~2 s.
  const done = await waitFor('backup to finish', async () => {
    const b = await stack.admin.get(`/backups/${backupId}`);
    return ['completed', 'failed', 'canceled'].includes(b.status) ? b : null;
  }, {timeoutMs: 60000, intervalMs: 100});
  const seenAt = Date.now();
  assert.equal(done.status, 'completed', `backup failed: ${done.error_message}`);
  await row(page, backupId).locator('[data-status="completed"]').first().waitFor({timeout: 2500});
  const uiDelay = Date.now() - seenAt;
  assert.ok(uiDelay <= 2500, `UI showed completion ${uiDelay} ms after the API`);
  const sizeText = await row(page, backupId).locator('.size').textContent();
  assert.match(sizeText, /\d+(\.\d+)? (B|KB|MB)/);
  assert.equal(await row(page, backupId).locator('.spinner').count(), 0);
  assert.match(await row(page, backupId).textContent(), /Before upgrading packages/);
  console.log(`# UI showed completion ${uiDelay} ms after the API reported it; size ${sizeText}`);
  await shot(page, '04-backups-completed');
});

test('download gives a valid tar.zst with the chosen folders', async () => {
  const {page} = admin;
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row(page, backupId).getByRole('link', {name: `Download backup ${backupId}`}).click(),
  ]);
  const file = path.join(stack.dir, 'download.tar.zst');
  await download.saveAs(file);
  assert.match(download.suggestedFilename(), /\.tar\.zst$/);
  const head = fs.readFileSync(file).subarray(0, 4);
  assert.deepEqual([...head], [0x28, 0xb5, 0x2f, 0xfd], 'zstd magic bytes');
  const {stdout} = await execFileP('tar', ['--zstd', '-tf', file], {maxBuffer: 16 << 20});
  const names = stdout.split('\n').map((n) => n.replace(/^\.\//, '').replace(/\/$/, ''));
  for (const want of ['home/claworc/notes.txt', 'home/claworc/projects/app/main.py', 'etc/app/app.conf']) {
    assert.ok(names.includes(want), `${want} in archive (got ${names.slice(0, 10).join(', ')}...)`);
  }
  // Read back and compare with the source tree.
  const out = path.join(stack.dir, 'extracted');
  fs.mkdirSync(out);
  await execFileP('tar', ['--zstd', '-xf', file, '-C', out]);
  for (const rel of ['home/claworc/notes.txt', 'home/claworc/bulk.log', 'etc/app/app.conf']) {
    assert.ok(fs.readFileSync(path.join(out, rel)).equals(fs.readFileSync(path.join(stack.dir, 'root-alpha', rel))), `${rel} round-trips`);
  }
});

test('a server error shows next to the field that caused it', async () => {
  const {page} = admin;
  await page.getByRole('button', {name: 'Schedule Backups'}).click();
  const dialog = page.getByRole('dialog', {name: 'Schedule Backups'});
  await dialog.getByLabel('Frequency').selectOption('custom');
  await dialog.getByLabel('Cron expression').fill('61 * * * *');
  const cronError = dialog.locator('.field', {has: page.getByLabel('Cron expression')}).locator('.field-error');
  await waitFor('cron error from the server', async () => (await cronError.textContent()).length > 0, {timeoutMs: 5000});
  assert.equal(await dialog.getByLabel('Cron expression').getAttribute('aria-invalid'), 'true');
  await page.keyboard.press('Escape');
  await dialog.waitFor({state: 'detached'});
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.textContent), 'Schedule Backups',
    'Escape closes the dialog and focus returns to its opener');
});

test('create a schedule from a preset and see its next run', async () => {
  const {page} = admin;
  await page.getByRole('button', {name: 'Schedule Backups'}).click();
  const dialog = page.getByRole('dialog', {name: 'Schedule Backups'});
  await dialog.getByLabel('beta').check();
  await dialog.getByLabel('Frequency').selectOption('0 2 * * 0');
  await assertText(dialog.getByTestId('cron-description'), /Sunday/i);
  assert.equal(await dialog.getByTestId('cron-next-runs').locator('li').count(), 5);
  await dialog.getByLabel('Time zone').fill('Europe/Berlin');
  await dialog.getByLabel('Time zone').blur();
  await dialog.getByLabel('Keep last').fill('4');
  await dialog.getByLabel('Name').fill('weekly beta');
  await page.waitForTimeout(50);
  await shot(page, '05-schedule-dialog');
  await dialog.getByRole('button', {name: 'Create Schedule'}).click();
  await dialog.waitFor({state: 'detached'});

  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Schedules'}).click();
  const {schedules} = await stack.admin.get('/backup-schedules');
  const s = schedules.find((x) => x.name === 'weekly beta');
  assert.ok(s, 'schedule created');
  assert.equal(s.cron, '0 2 * * 0');
  assert.equal(s.timezone, 'Europe/Berlin');
  assert.equal(s.retention.keep_last, 4);
  const r = page.locator(`tr[data-schedule-id="${s.id}"]`);
  const next = r.getByTestId('next-run').locator('time');
  await next.waitFor();
  assert.equal(await next.getAttribute('datetime'), s.next_runs[0].utc);
  assert.equal(new Date(s.next_runs[0].utc).getUTCDay() === 0 || new Date(s.next_runs[0].utc).getUTCDay() === 6, true,
    'Sunday 02:00 Berlin is Sunday 00:00/01:00 UTC');
  await shot(page, '06-schedules');
});

test('create a backup that leaves out logs and a custom pattern, and see it on the record', async () => {
  const {page} = admin;
  // OpenClaw-like files in beta: the logs preset leaves out ~/.openclaw/logs and *.log below ~/.openclaw.
  const home = path.join(stack.dir, 'root-beta/home/claworc');
  const files = {
    '.openclaw/logs/gateway.log': 'gateway log\n',
    '.openclaw/agents/main/sessions/run.log': 'run log\n',
    '.openclaw/openclaw.json': '{}\n',
    '.openclaw/agents/main/sessions/sessions.json': '{}\n',
    'projects/app/build/out.bin': 'build output\n',
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(home, rel)), {recursive: true});
    fs.writeFileSync(path.join(home, rel), text);
  }
  await page.goto(`${stack.baseUrl}/backups`);
  await page.getByRole('button', {name: 'Create Backup'}).click();
  const dialog = page.getByRole('dialog', {name: 'Create Backup'});
  await dialog.waitFor();
  await dialog.getByLabel('Instance').selectOption({label: 'beta'});
  const logs = dialog.getByRole('checkbox', {name: 'Leave out logs', exact: true});
  assert.equal(await logs.isChecked(), false, 'nothing is left out by default');
  assert.equal(await dialog.getByRole('checkbox', {name: 'Leave out caches', exact: true}).isChecked(), false);
  await logs.check();
  const globs = dialog.getByLabel('Also leave out (one pattern per line)');
  // A relative pattern is caught before anything is sent.
  await globs.fill('build');
  await dialog.getByRole('button', {name: 'Create Backup'}).click();
  await assertText(dialog.locator('.field', {has: page.getByLabel('Also leave out (one pattern per line)')}).locator('.field-error'),
    /must be absolute paths: build/);
  await globs.fill('/home/claworc/projects/**/build');
  await dialog.getByLabel('Note (optional)').fill('without logs');
  await shot(page, '14-create-backup-excludes');
  await dialog.getByRole('button', {name: 'Create Backup'}).click();
  await dialog.waitFor({state: 'detached'});

  const {backups} = await stack.admin.get('/backups?instance=beta');
  const created = backups.find((b) => b.note === 'without logs');
  assert.ok(created, 'backup created');
  const done = await waitFor('backup without logs to finish', async () => {
    const b = await stack.admin.get(`/backups/${created.id}`);
    return ['completed', 'failed', 'canceled'].includes(b.status) ? b : null;
  }, {timeoutMs: 60000, intervalMs: 200});
  assert.equal(done.status, 'completed', `backup failed: ${done.error_message}`);
  assert.deepEqual(done.exclude_presets, ['logs']);
  assert.deepEqual(done.excludes, ['/home/claworc/projects/**/build']);
  assert.equal(done.strict, false);
  assert.equal(done.databases_captured, 0);

  // The row shows what was left out and how many databases were captured.
  const r = row(page, created.id);
  await r.locator('[data-status="completed"]').first().waitFor({timeout: 15000});
  const excluded = r.getByTestId('backup-excludes');
  await excluded.waitFor();
  assert.equal(await excluded.locator('[data-preset="logs"]').count(), 1, 'the logs preset is shown on the row');
  assert.match(await excluded.textContent(), /\/home\/claworc\/projects\/\*\*\/build/);
  assert.match(await r.getByTestId('backup-databases').textContent(), /0 databases captured/);
  await shot(page, '15-backup-without-logs');

  // The archive has exactly those files left out.
  const file = path.join(stack.dir, 'without-logs.tar.zst');
  const res = await fetch(`${stack.baseUrl}/api/v1/backups/${created.id}/download`, {headers: {Cookie: stack.admin.cookie}});
  assert.equal(res.status, 200);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const {stdout} = await execFileP('tar', ['--zstd', '-tf', file], {maxBuffer: 16 << 20});
  const names = new Set(stdout.split('\n').map((n) => n.replace(/\/$/, '')));
  for (const kept of ['.openclaw/openclaw.json', '.openclaw/agents/main/sessions/sessions.json', 'notes.txt', 'projects/app/main.py']) {
    assert.ok(names.has(`home/claworc/${kept}`), `${kept} is in the archive`);
  }
  for (const gone of ['.openclaw/logs', '.openclaw/logs/gateway.log', '.openclaw/agents/main/sessions/run.log',
                      'projects/app/build', 'projects/app/build/out.bin']) {
    assert.ok(!names.has(`home/claworc/${gone}`), `${gone} is left out`);
  }
  assert.deepEqual(page.errors, []);
});

test('restore into a second instance and see the outcome', async () => {
  const {page} = admin;
  const target = path.join(stack.dir, 'root-beta/home/claworc/notes.txt');
  assert.equal(fs.readFileSync(target, 'utf8'), 'notes of beta\n');
  await page.goto(`${stack.baseUrl}/backups?instance=alpha`);
  await row(page, backupId).getByRole('button', {name: `Restore backup ${backupId}`}).click();
  const dialog = page.getByRole('dialog', {name: 'Restore backup'});
  await dialog.getByText(/overwritten/).first().waitFor();
  await dialog.getByLabel(/^beta/).check();
  const quiesce = dialog.getByLabel(/Quiesce the instance during the restore/);
  assert.equal(await quiesce.isChecked(), true, 'quiesce is on by default');
  await quiesce.uncheck();
  await shot(page, '07-restore-dialog');
  await dialog.getByRole('button', {name: 'Restore and overwrite'}).click();
  await assertText(dialog.getByTestId('restore-status'), /completed/, 60000);
  await assertText(dialog.getByTestId('restore-status'), /Restored \d+ entries .* into beta/);
  await assertText(dialog.getByTestId('restore-quiesced'), /Not quiesced: switched off for this restore/);
  await shot(page, '08-restore-done');
  assert.equal(fs.readFileSync(target, 'utf8'), 'notes of alpha\n', 'alpha\'s file now in beta');
  await dialog.getByRole('button', {name: 'Close'}).first().click();
});

test('instance detail: the Backups card shows the latest backup and links to its list', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/instances/alpha`);
  const card = page.getByTestId('backups-card');
  await card.waitFor();
  await assertText(card.getByTestId('latest-backup-status'), /completed/);
  const b = await stack.admin.get(`/backups/${backupId}`);
  assert.ok((await card.getByTestId('latest-backup-size').textContent()).length > 0);
  assert.ok(b.size_bytes > 0);
  await card.getByRole('button', {name: 'Quick backup'}).waitFor();
  await shot(page, '09-instance-detail');
  await card.getByTestId('all-backups-link').click();
  await page.waitForURL(/\/backups\?instance=alpha$/);
  assert.equal(await page.getByLabel('Instance').inputValue(), 'alpha');
  await row(page, backupId).waitFor();
  const names = await page.locator('tbody tr td[data-label="Instance"]').allTextContents();
  assert.ok(names.length > 0 && names.every((n) => n === 'alpha'), `only alpha's backups: ${names}`);
});

test('verify a backup from its row, then see protection on the instances page and the fleet summary', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/backups?instance=alpha`);
  const r = row(page, backupId);
  await r.waitFor();
  await r.locator('[data-action="verify"]').click();
  await assertText(r.getByTestId('backup-verification'), /Verification passed/);
  const b = await stack.admin.get(`/backups/${backupId}`);
  assert.equal(b.verification.status, 'passed');
  await shot(page, '09a-verified');

  await page.goto(`${stack.baseUrl}/instances`);
  const alpha = page.locator('tr[data-instance-name="alpha"]');
  await alpha.waitFor();
  const protection = alpha.getByTestId('protection');
  await assertText(protection, /protected|stale|failing/);
  const expected = (await stack.admin.get('/instances')).instances.find((i) => i.name === 'alpha').protection.state;
  assert.equal(await protection.getAttribute('data-state'), expected);
  const summary = page.getByTestId('fleet-summary');
  await assertText(summary, /protected/);
  const fleet = await stack.admin.get('/fleet/protection');
  assert.match(await summary.locator('[data-state="protected"]').textContent(), new RegExp(`^${fleet.summary.protected} `));

  await page.goto(`${stack.baseUrl}/instances/alpha`);
  const card = page.getByTestId('protection-card');
  await assertText(card.getByTestId('protection-verification'), /Verification passed/);
  assert.deepEqual(page.errors, []);
});

test('a regular user sees only assigned instances and may restore only once granted', async () => {
  const alpha = await stack.instance('alpha');
  const user = await stack.admin.post('/users', {username: 'carol', password: 'carol-password-1', role: 'user',
                                                  can_create_instances: false, instance_ids: [alpha.id]});
  const carol = await newSession('carol', 'carol-password-1');
  const {page} = carol;
  assert.equal(await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Users'}).count(), 0, 'no admin pages');
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Instances'}).click();
  await page.locator('tr[data-instance-name="alpha"]').waitFor();
  assert.equal(await page.locator('tr[data-instance-name]').count(), 1, 'only alpha is listed');

  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Backups'}).click();
  const restore = row(page, backupId).locator('[data-action="restore"]');
  await restore.waitFor();
  assert.equal(await restore.isDisabled(), true, 'no live restore without the permission');
  assert.match(await restore.getAttribute('title'), /Can create instances/);
  const names = await page.locator('tbody tr td[data-label="Instance"]').allTextContents();
  assert.ok(names.every((n) => n === 'alpha'), `only alpha's backups: ${names}`);
  // Bypassing the UI does not help either.
  const api = new ApiClient(stack.baseUrl);
  await api.login('carol', 'carol-password-1');
  await assert.rejects(api.post(`/backups/${backupId}/restore`, {instance_id: alpha.id}), (e) => e.status === 403);
  await shot(page, '10-user-backups-no-restore');

  await stack.admin.patch(`/users/${user.id}`, {can_create_instances: true});
  await page.reload();
  const live = row(page, backupId).getByRole('button', {name: `Restore backup ${backupId}`});
  await live.waitFor();
  assert.equal(await live.isEnabled(), true);
  await live.click();
  const dialog = page.getByRole('dialog', {name: 'Restore backup'});
  await dialog.waitFor();  // the dialog opens once the instance list arrived
  assert.equal(await dialog.locator('input[name="target"]').count(), 1, 'only assigned instances are targets');
  await dialog.getByRole('button', {name: 'Restore and overwrite'}).click();
  await assertText(dialog.getByTestId('restore-status'), /completed/, 60000);
  // Asked to quiesce (the default), but these agents have no restore hooks.
  await assertText(dialog.getByTestId('restore-quiesced'), /Not quiesced: the instance has no restore hooks/);
  assert.deepEqual(page.errors, []);
  await carol.context.close();
});

test('admin pages and phone width render', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/users`);
  await page.locator('tr[data-username="carol"]').waitFor();
  await shot(page, '11-users');

  // Issue 13: an admin lists and revokes another user's API token.
  const carolApi = new ApiClient(stack.baseUrl);
  await carolApi.login('carol', 'carol-password-1');
  const {token} = await carolApi.post('/auth/tokens', {name: 'carol-ci'});
  await page.getByRole('button', {name: 'API tokens of carol'}).click();
  const tokens = page.getByRole('dialog', {name: 'API tokens of carol'});
  const tokenRow = tokens.locator(`tr[data-token-id="${token.id}"]`);
  await assertText(tokenRow, /carol-ci.*active/s);
  await tokenRow.getByRole('button', {name: 'Revoke token carol-ci'}).click();
  await assertText(tokenRow, /revoked/);
  const carolId = (await stack.admin.get('/users')).users.find((u) => u.username === 'carol').id;
  const {tokens: listed} = await stack.admin.get(`/users/${carolId}/tokens`);
  assert.equal(listed.find((t) => t.id === token.id).revoked, true);
  await tokens.getByRole('button', {name: 'Close', exact: true}).click();
  await page.goto(`${stack.baseUrl}/audit`);
  await page.locator('tbody tr').first().waitFor();
  await page.getByLabel('Action').fill('restore.create');
  await page.getByRole('button', {name: 'Filter'}).click();
  await page.waitForFunction(() => [...document.querySelectorAll('tbody tr td[data-label="Action"]')].every((td) => td.textContent === 'restore.create'));
  await shot(page, '12-audit');
  await page.goto(`${stack.baseUrl}/instances`);
  await page.locator('tr[data-instance-name="beta"]').waitFor();
  await shot(page, '13-instances');

  await page.setViewportSize({width: 390, height: 844});
  await page.goto(`${stack.baseUrl}/backups`);
  await row(page, backupId).waitFor();
  assert.equal(await page.getByRole('navigation', {name: 'Main'}).isVisible(), false, 'sidebar collapsed');
  const menu = page.getByRole('button', {name: 'Open navigation'});
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), true, 'no horizontal scrolling');
  const bar = await page.locator('header.topbar').boundingBox();
  assert.ok(bar && bar.height <= 72, `the top bar is one compact row (${bar && bar.height} px tall)`);
  await shot(page, '14-phone-backups');
  await menu.click();
  await page.getByRole('navigation', {name: 'Main'}).getByRole('link', {name: 'Instances'}).waitFor({state: 'visible'});
  await page.locator('#sidebar').evaluate((el) => Promise.all(el.getAnimations().map((a) => a.finished)));  // slid in
  await shot(page, '15-phone-nav');
  await page.keyboard.press('Escape');
  await page.setViewportSize({width: 1280, height: 860});
  assert.deepEqual(page.errors, []);
});

async function assertText(locator, pattern, timeout = 10000) {
  await waitFor(`text ${pattern}`, async () => pattern.test((await locator.textContent({timeout})) || ''), {timeoutMs: timeout});
}
