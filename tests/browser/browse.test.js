// The archive browser (issue 17) in a real browser against a real `clawback
// serve` and real agents: open it from a backup row and from the instance's
// Backups card, move through folders by click, keyboard and breadcrumbs, page
// through a big folder, search, download a file and a folder and compare them
// with the source tree, then select two paths, preview the restore (the
// counts must be the API's dry run's) and restore exactly those paths.
//
// Run: `ctest -R browser.browse` (or `node --test browse.test.js` here, with
// binaries in build-web/). Screenshots go to tests/artifacts/screenshots/.
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {chromium} from 'playwright-core';
import {Stack, makeSampleRoot, waitFor, execFileP, artifactsDir, CHROMIUM, CHROMIUM_ARGS, ADMIN_PASSWORD} from './harness.js';

let stack;
let browser;
let admin;      // {context, page}
let backupId;   // alpha's backup, browsed and restored from
const shotDir = path.join(artifactsDir, 'screenshots');
const BIG = 130;  // entries in home/claworc/big: two pages of 100

async function shot(page, name) {
  await page.screenshot({path: path.join(shotDir, `${name}.png`), fullPage: false});
}

async function assertText(locator, pattern, timeout = 10000) {
  await waitFor(`text ${pattern}`, async () => pattern.test((await locator.textContent({timeout})) || ''), {timeoutMs: timeout});
}

async function newSession(username, password) {
  const context = await browser.newContext({viewport: {width: 1280, height: 860}, acceptDownloads: true});
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  // 401/403/404 answers are expected (denials, a missing folder); the page handles them.
  page.on('console', (m) => { if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) page.errors.push(m.text()); });
  await page.goto(`${stack.baseUrl}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', {name: 'Sign in'}).click();
  await page.getByTestId('current-user').waitFor();
  return {context, page};
}

const rootOf = (name) => path.join(stack.dir, `root-${name}`);
const listing = (page) => page.locator('table.browse tbody tr');
const entryRow = (page, p) => page.locator(`table.browse tbody tr[data-path="${p}"]`);
// Archive paths in restore records may carry a leading "/"; compare without.
const bare = (p) => String(p).replace(/^\/+/, '').replace(/\/+$/, '');
const count = (changes, kind) => (typeof changes[kind] === 'number' ? changes[kind] : changes[kind].count);

async function waitRestore(id) {
  return waitFor(`restore ${id} to finish`, async () => {
    const r = await stack.admin.get(`/restores/${id}`);
    return ['completed', 'failed', 'canceled'].includes(r.status) ? r : null;
  }, {timeoutMs: 60000, intervalMs: 200});
}

before(async () => {
  fs.mkdirSync(shotDir, {recursive: true});
  stack = await new Stack().start();
  makeSampleRoot(rootOf('alpha'), 'alpha');
  makeSampleRoot(rootOf('beta'), 'beta');
  const home = path.join(rootOf('alpha'), 'home/claworc');
  fs.mkdirSync(path.join(home, 'big'));
  for (let i = 0; i < BIG; i++) fs.writeFileSync(path.join(home, 'big', `f${String(i).padStart(3, '0')}.txt`), `file ${i}\n`);
  fs.writeFileSync(path.join(home, 'data.bin'), crypto.randomBytes(300_000));
  fs.writeFileSync(path.join(home, 'projects/app/only-in-alpha.txt'), 'new in alpha\n');
  // The same file, same bytes and time, on both sides: a restore leaves it unchanged.
  for (const name of ['alpha', 'beta']) {
    const f = path.join(rootOf(name), 'home/claworc/projects/README.md');
    fs.writeFileSync(f, '# projects\n');
    fs.utimesSync(f, new Date('2025-01-02T03:04:05Z'), new Date('2025-01-02T03:04:05Z'));
  }
  await stack.addAgent('alpha', rootOf('alpha'));
  await stack.addAgent('beta', rootOf('beta'));
  const alpha = await stack.instance('alpha');
  const {id} = await stack.admin.post(`/instances/${alpha.id}/backups`, {paths: ['HOME', '/etc/app'], note: 'to browse'});
  const done = await waitFor('alpha backup to finish', async () => {
    const b = await stack.admin.get(`/backups/${id}`);
    return ['completed', 'failed', 'canceled'].includes(b.status) ? b : null;
  }, {timeoutMs: 60000, intervalMs: 200});
  assert.equal(done.status, 'completed', `backup failed: ${done.error_message}`);
  backupId = id;
  browser = await chromium.launch({executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true});
  admin = await newSession('admin', ADMIN_PASSWORD);
});

after(async () => {
  if (browser) await browser.close();
  if (stack) await stack.stop();
});

test('open the browser from a backup row; folders by click, keyboard and breadcrumbs', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/backups`);
  await page.locator(`tr[data-backup-id="${backupId}"]`).getByRole('link', {name: `Browse files of backup ${backupId}`}).click();
  await page.waitForURL(new RegExp(`/backups/${backupId}/files$`));
  await assertText(page.getByTestId('browse-heading'), /Top of the backup/);
  // The archive's top holds the two folders backed up, sorted by name.
  assert.deepEqual(await listing(page).evaluateAll((rows) => rows.map((r) => r.dataset.path)), ['etc', 'home']);
  await shot(page, '20-browse-top');

  await entryRow(page, 'home').getByRole('link', {name: 'home', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /^\/home\b/);
  await entryRow(page, 'home/claworc').getByRole('link', {name: 'claworc', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /^\/home\/claworc\b/);
  const names = await listing(page).evaluateAll((rows) => rows.map((r) => r.dataset.path.split('/').pop()));
  for (const want of ['.config', 'big', 'data.bin', 'notes.txt', 'projects']) assert.ok(names.includes(want), `${want} listed (${names})`);
  assert.deepEqual(names, [...names].sort(), 'sorted by name');
  // Size and type of a file as the source has them.
  const notes = entryRow(page, 'home/claworc/notes.txt');
  assert.equal(await notes.getAttribute('data-type'), 'file');
  assert.match(await notes.locator('td[data-label="Size"]').textContent(), /^15 B$/);
  assert.match(await notes.locator('td[data-label="Permissions"]').textContent(), /^rw-/);

  // Keyboard: focus a folder link and press Enter; focus lands on the new listing.
  await entryRow(page, 'home/claworc/projects').getByRole('link', {name: 'projects', exact: true}).focus();
  await page.keyboard.press('Enter');
  await assertText(page.getByTestId('browse-heading'), /^\/home\/claworc\/projects\b/);
  await page.waitForFunction(() => document.activeElement && document.activeElement.dataset.testid === 'browse-heading');
  await entryRow(page, 'home/claworc/projects/app').getByRole('link', {name: 'app', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /^\/home\/claworc\/projects\/app\b/);
  await shot(page, '21-browse-folder');

  // Breadcrumbs lead back up.
  const crumbs = page.getByRole('navigation', {name: 'Folder path'});
  assert.equal(await crumbs.locator('[aria-current="page"]').textContent(), 'app');
  await crumbs.getByRole('link', {name: 'claworc', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /^\/home\/claworc ·/);
  await crumbs.getByRole('link', {name: 'Top', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /Top of the backup/);
  // Back goes to the previous folder.
  await page.goBack();
  await assertText(page.getByTestId('browse-heading'), /^\/home\/claworc ·/);
  assert.deepEqual(page.errors, []);
});

test('a big folder is paged', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/backups/${backupId}/files?path=home/claworc`);
  await entryRow(page, 'home/claworc/big').waitFor();
  const clicked = Date.now();
  await entryRow(page, 'home/claworc/big').getByRole('link', {name: 'big', exact: true}).click();
  await assertText(page.getByTestId('browse-pager'), new RegExp(`^1–100 of ${BIG} entries$`));
  console.log(`# opening a folder of ${BIG} entries (first page of 100) took ${Date.now() - clicked} ms in the browser`);
  assert.equal(await listing(page).count(), 100);
  assert.equal(await listing(page).first().getAttribute('data-path'), 'home/claworc/big/f000.txt');
  await page.getByTestId('browse-next').click();
  await assertText(page.getByTestId('browse-pager'), new RegExp(`^101–${BIG} of ${BIG} entries$`));
  assert.equal(await listing(page).count(), BIG - 100);
  assert.equal(await listing(page).first().getAttribute('data-path'), 'home/claworc/big/f100.txt');
  await page.getByTestId('browse-prev').click();
  await assertText(page.getByTestId('browse-pager'), /^1–100 /);
});

test('search the whole backup and open a result\'s folder', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/backups/${backupId}/files`);
  await page.getByRole('searchbox', {name: 'Search this backup'}).fill('main.py');
  await page.getByRole('button', {name: 'Search', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /Search results for “main.py”/);
  assert.deepEqual(await listing(page).evaluateAll((rows) => rows.map((r) => r.dataset.path)), ['home/claworc/projects/app/main.py']);
  await shot(page, '22-browse-search');
  // A glob is sent as typed.
  await page.getByRole('searchbox', {name: 'Search this backup'}).fill('f12?.txt');
  await page.getByRole('button', {name: 'Search', exact: true}).click();
  await assertText(page.getByTestId('browse-heading'), /Search results for “f12\?.txt”/);
  assert.equal(await listing(page).count(), 10);
  await page.getByRole('searchbox', {name: 'Search this backup'}).fill('no-such-name-anywhere');
  await page.getByRole('button', {name: 'Search', exact: true}).click();
  await assertText(page.locator('.empty'), /Nothing in this backup matches/);
  await page.getByRole('searchbox', {name: 'Search this backup'}).fill('main.py');
  await page.getByRole('button', {name: 'Search', exact: true}).click();
  await entryRow(page, 'home/claworc/projects/app/main.py').getByRole('link', {name: 'Open the folder of home/claworc/projects/app/main.py'}).click();
  await assertText(page.getByTestId('browse-heading'), /^\/home\/claworc\/projects\/app\b/);
  assert.deepEqual(page.errors, []);
});

test('download a file and a folder: the bytes are the source\'s', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/backups/${backupId}/files?path=home/claworc`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    entryRow(page, 'home/claworc/data.bin').getByRole('link', {name: 'Download home/claworc/data.bin'}).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'data.bin');
  const file = path.join(stack.dir, 'data.bin');
  await download.saveAs(file);
  assert.ok(fs.readFileSync(file).equals(fs.readFileSync(path.join(rootOf('alpha'), 'home/claworc/data.bin'))), 'data.bin is byte-identical');

  const [folder] = await Promise.all([
    page.waitForEvent('download'),
    entryRow(page, 'home/claworc/projects').getByRole('link', {name: 'Download folder home/claworc/projects as .tar.zst'}).click(),
  ]);
  assert.match(folder.suggestedFilename(), /\.tar\.zst$/);
  const tarFile = path.join(stack.dir, 'projects.tar.zst');
  await folder.saveAs(tarFile);
  const out = path.join(stack.dir, 'projects-out');
  fs.mkdirSync(out);
  await execFileP('tar', ['--zstd', '-xf', tarFile, '-C', out]);
  const {stdout} = await execFileP('tar', ['--zstd', '-tf', tarFile]);
  const names = stdout.split('\n').filter(Boolean).map(bare);
  assert.ok(names.length > 0 && names.every((n) => n === 'home/claworc/projects' || n.startsWith('home/claworc/projects/')),
    `only the subtree: ${names}`);
  for (const rel of ['home/claworc/projects/app/main.py', 'home/claworc/projects/app/only-in-alpha.txt', 'home/claworc/projects/README.md']) {
    assert.ok(fs.readFileSync(path.join(out, rel)).equals(fs.readFileSync(path.join(rootOf('alpha'), rel))), `${rel} round-trips`);
  }
  assert.deepEqual(page.errors, []);
});

test('select two paths, preview the restore, then restore exactly those', async () => {
  const {page} = admin;
  const betaFile = (rel) => path.join(rootOf('beta'), rel);
  const snapshot = () => Object.fromEntries(['home/claworc/notes.txt', 'home/claworc/projects/app/main.py', 'home/claworc/.config/settings.json',
    'etc/app/app.conf'].map((rel) => [rel, fs.readFileSync(betaFile(rel), 'utf8')]));
  const before = snapshot();

  await page.goto(`${stack.baseUrl}/backups/${backupId}/files?path=home/claworc`);
  await page.getByRole('checkbox', {name: 'Select home/claworc/notes.txt'}).check();
  await page.getByRole('checkbox', {name: 'Select home/claworc/projects'}).check();
  // The selection survives moving to another folder and back.
  await entryRow(page, 'home/claworc/big').getByRole('link', {name: 'big', exact: true}).click();
  await assertText(page.getByTestId('browse-selection'), /2 paths selected/);
  await page.goBack();
  assert.equal(await page.getByRole('checkbox', {name: 'Select home/claworc/notes.txt'}).isChecked(), true);
  await shot(page, '23-browse-selected');

  await page.getByTestId('restore-selected').click();
  const dialog = page.getByRole('dialog', {name: 'Restore selected paths'});
  await dialog.waitFor();
  await assertText(dialog.getByTestId('restore-paths'), /\/home\/claworc\/notes\.txt.*\/home\/claworc\/projects/s);
  assert.equal(await dialog.getByRole('button', {name: /and overwrite/}).count(), 0, 'no restore before the preview');
  await dialog.getByLabel(/^beta/).check();
  const restorePosts = [];  // {body, id} of every POST .../restore the page makes
  page.on('response', async (res) => {
    if (res.request().method() === 'POST' && res.url().endsWith(`/api/v1/backups/${backupId}/restore`)) {
      restorePosts.push({body: res.request().postDataJSON(), id: (await res.json()).id});
    }
  });
  await dialog.getByRole('button', {name: 'Preview changes'}).click();
  const preview = dialog.getByTestId('restore-preview');
  await preview.waitFor({timeout: 60000});
  await shot(page, '24-restore-preview');
  assert.deepEqual(snapshot(), before, 'the preview wrote nothing');

  // The counts shown are the dry run's, as the API reports it.
  assert.equal(restorePosts.length, 1, 'one request: the dry run');
  assert.equal(restorePosts[0].body.dry_run, true);
  const dryRecord = await stack.admin.get(`/restores/${restorePosts[0].id}`);
  assert.equal(dryRecord.status, 'completed');
  assert.equal(dryRecord.dry_run, true);
  assert.deepEqual(dryRecord.paths.map(bare).sort(), ['home/claworc/notes.txt', 'home/claworc/projects']);
  const shown = {replace: Number(await preview.getAttribute('data-replace')), create: Number(await preview.getAttribute('data-create')),
                 unchanged: Number(await preview.getAttribute('data-unchanged'))};
  const api = {replace: count(dryRecord.changes, 'replace'), create: count(dryRecord.changes, 'create'),
               unchanged: count(dryRecord.changes, 'unchanged')};
  assert.deepEqual(shown, api, 'preview counts are the dry run\'s');
  assert.match(await dialog.getByTestId('restore-preview-summary').textContent(),
    new RegExp(`^${api.replace} files? will be replaced, ${api.create} created, ${api.unchanged} unchanged\\.$`));
  // What the sources differ in: two files replaced, one created, README.md the same.
  const first = (kind) => (dryRecord.changes[kind].first || []).map(bare);
  for (const p of ['home/claworc/notes.txt', 'home/claworc/projects/app/main.py']) assert.ok(first('replace').includes(p), `${p} replaced`);
  assert.ok(first('create').includes('home/claworc/projects/app/only-in-alpha.txt'), 'only-in-alpha.txt created');
  assert.ok(!first('replace').includes('home/claworc/projects/README.md'), 'README.md not replaced');
  for (const p of first('replace').concat(first('create'))) {
    assert.ok(p === 'home/claworc/notes.txt' || p === 'home/claworc/projects' || p.startsWith('home/claworc/projects/'), `${p} was selected`);
  }
  for (const p of first('replace').slice(0, 3)) await assertText(preview, new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));

  // Confirm: the real restore of the same paths.
  const quiesce = dialog.getByLabel(/Quiesce the instance during the restore/);
  assert.equal(await quiesce.isChecked(), true, 'quiesce is on by default');
  await quiesce.uncheck();
  await dialog.getByRole('button', {name: 'Restore 2 paths and overwrite'}).click();
  await assertText(dialog.getByTestId('restore-status'), /completed/, 60000);
  await assertText(dialog.getByTestId('restore-quiesced'), /Not quiesced: switched off for this restore/);
  await shot(page, '25-restore-selected-done');

  assert.equal(restorePosts.length, 2, 'then one real restore');
  assert.equal(restorePosts[1].body.dry_run, false);
  assert.deepEqual(restorePosts[1].body.paths, restorePosts[0].body.paths, 'the same paths as previewed');
  const realRecord = await stack.admin.get(`/restores/${restorePosts[1].id}`);
  assert.equal(realRecord.status, 'completed', realRecord.error_message);
  assert.equal(realRecord.dry_run, false);
  assert.equal(realRecord.quiesce, false);
  assert.deepEqual(realRecord.paths.map(bare).sort(), ['home/claworc/notes.txt', 'home/claworc/projects']);
  // A real restore counts what it created and every entry that was already
  // there and got rewritten: the preview's "replace" plus its "unchanged".
  assert.ok(realRecord.changes, 'a real restore reports its changes');
  assert.equal(count(realRecord.changes, 'create'), api.create, 'created what the preview said');
  assert.equal(count(realRecord.changes, 'replace'), api.replace + api.unchanged, 'rewrote what the preview found there');
  await assertText(dialog.getByTestId('restore-outcome-changes'),
    new RegExp(`${api.create} created, ${api.replace + api.unchanged} already there and rewritten`));

  // Exactly the selected paths were written.
  for (const rel of ['home/claworc/notes.txt', 'home/claworc/projects/app/main.py', 'home/claworc/projects/app/only-in-alpha.txt',
                     'home/claworc/projects/README.md']) {
    assert.ok(fs.readFileSync(betaFile(rel)).equals(fs.readFileSync(path.join(rootOf('alpha'), rel))), `${rel} is alpha's now`);
  }
  assert.equal(fs.readFileSync(betaFile('home/claworc/.config/settings.json'), 'utf8'), before['home/claworc/.config/settings.json']);
  assert.equal(fs.readFileSync(betaFile('etc/app/app.conf'), 'utf8'), before['etc/app/app.conf']);
  for (const absent of ['home/claworc/big', 'home/claworc/data.bin']) assert.ok(!fs.existsSync(betaFile(absent)), `${absent} not restored`);
  await dialog.getByRole('button', {name: 'Close'}).first().click();
  assert.deepEqual(page.errors, []);
});

test('the whole-backup restore dialog previews too (optional there)', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/backups`);
  await page.locator(`tr[data-backup-id="${backupId}"]`).getByRole('button', {name: `Restore backup ${backupId}`}).click();
  const dialog = page.getByRole('dialog', {name: 'Restore backup'});
  await dialog.waitFor();
  await dialog.getByLabel(/^beta/).check();
  const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/api/v1/backups/${backupId}/restore`));
  await dialog.getByRole('button', {name: 'Preview changes'}).click();
  const {id} = await (await posted).json();
  const preview = dialog.getByTestId('restore-preview');
  await preview.waitFor({timeout: 60000});
  const dry = await stack.admin.get(`/restores/${id}`);
  assert.equal(dry.dry_run, true);
  assert.deepEqual(dry.paths, []);
  for (const kind of ['replace', 'create', 'unchanged']) {
    assert.equal(Number(await preview.getAttribute(`data-${kind}`)), count(dry.changes, kind), `${kind} count`);
  }
  // beta got notes.txt and projects/ from alpha already; big/ and data.bin are still new there.
  assert.ok(count(dry.changes, 'create') >= BIG + 2, `creates big/ and its files: ${count(dry.changes, 'create')}`);
  assert.ok(await dialog.getByRole('button', {name: 'Restore and overwrite'}).isVisible(), 'the restore stays one click away');
  await dialog.getByRole('button', {name: 'Cancel'}).click();
  await dialog.waitFor({state: 'detached'});
  assert.ok(!fs.existsSync(path.join(rootOf('beta'), 'home/claworc/big')), 'the preview wrote nothing');
  assert.deepEqual(page.errors, []);
});

test('phone width: one line per entry, no horizontal scrolling', async () => {
  const {page} = admin;
  await page.setViewportSize({width: 390, height: 844});
  try {
    await page.goto(`${stack.baseUrl}/backups/${backupId}/files?path=home/claworc`);
    await entryRow(page, 'home/claworc/notes.txt').waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), true, 'no horizontal scrolling');
    const box = await entryRow(page, 'home/claworc/notes.txt').boundingBox();
    assert.ok(box && box.height <= 80, `an entry is compact (${box && box.height} px tall)`);
    await shot(page, '28-browse-phone');
  } finally {
    await page.setViewportSize({width: 1280, height: 860});
  }
});

test('the instance\'s Backups card opens the browser; a missing folder is explained', async () => {
  const {page} = admin;
  await page.goto(`${stack.baseUrl}/instances/alpha`);
  await page.getByTestId('backups-card').getByRole('link', {name: 'Browse files'}).click();
  await page.waitForURL(new RegExp(`/backups/${backupId}/files$`));
  await assertText(page.getByTestId('browse-heading'), /Top of the backup/);
  await page.goto(`${stack.baseUrl}/backups/${backupId}/files?path=home/no-such-folder`);
  await assertText(page.getByTestId('browse-error'), /There is no folder “home\/no-such-folder”/);
  await page.getByTestId('browse-error').getByRole('link', {name: 'Go to the top of the backup'}).click();
  await assertText(page.getByTestId('browse-heading'), /Top of the backup/);
  assert.deepEqual(page.errors, []);
});

test('a regular user cannot browse another instance\'s backup and gets no restore checkboxes', async () => {
  const beta = await stack.instance('beta');
  await stack.admin.post('/users', {username: 'dave', password: 'dave-password-1', role: 'user',
                                    can_create_instances: false, instance_ids: [beta.id]});
  const {id} = await stack.admin.post(`/instances/${beta.id}/backups`, {paths: ['HOME']});
  await waitFor('beta backup', async () => (await stack.admin.get(`/backups/${id}`)).status === 'completed', {timeoutMs: 60000, intervalMs: 200});
  const dave = await newSession('dave', 'dave-password-1');
  const {page} = dave;
  await page.goto(`${stack.baseUrl}/backups/${backupId}/files`);
  await assertText(page.getByTestId('browse-error'), new RegExp(`No backup #${backupId} that you can see|You cannot browse backup #${backupId}`));
  assert.equal(await listing(page).count(), 0);
  // The API itself refuses too.
  const res = await fetch(`${stack.baseUrl}/api/v1/backups/${backupId}/files`, {headers: {Cookie: (await dave.context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ')}});
  assert.ok(res.status === 403 || res.status === 404, `API answers ${res.status}`);

  await page.goto(`${stack.baseUrl}/backups/${id}/files?path=home/claworc`);
  await entryRow(page, 'home/claworc/notes.txt').waitFor();
  assert.equal(await page.getByRole('checkbox').count(), 0, 'no selection without the restore permission');
  await assertText(page.getByTestId('browse-selection'), /needs the "Can create instances" permission/);
  await shot(page, '26-browse-user');
  assert.deepEqual(page.errors, []);
  await dave.context.close();
});

test('compare two backups of an instance', async () => {
  const {page} = admin;
  const home = path.join(rootOf('alpha'), 'home/claworc');
  fs.writeFileSync(path.join(home, 'added.txt'), 'added later\n');
  fs.rmSync(path.join(home, '.config/settings.json'));
  fs.writeFileSync(path.join(home, 'notes.txt'), 'notes of alpha, edited and longer\n');
  const alpha = await stack.instance('alpha');
  const {id} = await stack.admin.post(`/instances/${alpha.id}/backups`, {paths: ['HOME', '/etc/app'], note: 'after edits'});
  await waitFor('second alpha backup', async () => (await stack.admin.get(`/backups/${id}`)).status === 'completed', {timeoutMs: 60000, intervalMs: 200});

  await page.goto(`${stack.baseUrl}/backups/${id}/files`);
  await page.getByTestId('browse-compare').click();
  const dialog = page.getByRole('dialog', {name: `Compare backup #${id}`});
  await dialog.waitFor();
  assert.equal(await dialog.getByLabel('With backup').inputValue(), String(backupId), 'the previous backup is preselected');
  await dialog.getByRole('button', {name: 'Compare', exact: true}).click();
  const summary = dialog.getByTestId('diff-summary');
  await summary.waitFor({timeout: 30000});
  await shot(page, '27-browse-compare');

  const diff = await stack.admin.get(`/backups/${id}/diff?against=${backupId}`);
  const list = (kind) => (Array.isArray(diff[kind]) ? diff[kind] : diff[kind].entries || diff[kind].first || []).map((c) => bare(c.path));
  const n = (kind) => (Array.isArray(diff[kind]) ? (diff.counts ? diff.counts[kind] : diff[kind].length) : diff[kind].count);
  assert.equal(await summary.textContent(), `Since #${backupId}: ${n('added')} added, ${n('removed')} removed, ${n('changed')} changed.`);
  assert.ok(list('added').includes('home/claworc/added.txt'), `added: ${list('added')}`);
  assert.ok(list('removed').includes('home/claworc/.config/settings.json'), `removed: ${list('removed')}`);
  assert.ok(list('changed').includes('home/claworc/notes.txt'), `changed: ${list('changed')}`);
  for (const [kind, p] of [['added', 'added.txt'], ['removed', '.config/settings.json'], ['changed', 'notes.txt']]) {
    await assertText(dialog.locator(`details[data-kind="${kind}"]`), new RegExp(`/home/claworc/${p.replace(/\./g, '\\.')}`));
  }
  assert.deepEqual(page.errors, []);
});
