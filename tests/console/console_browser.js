// Drives govconsole's page in Debian's chromium (headless, puppeteer-core from
// build/node) as an operator would, printing what each step showed as one
// JSON document; tests/console/server_test.cpp asserts on it. Between the
// runs view and the live check it waits for the file named by --grow-flag:
// the test appends a run to the log when that file appears, then the page
// must show it without a reload.
//
// usage: node console_browser.js URL_WITH_TOKEN SCREENSHOT_DIR GROW_FLAG_FILE
'use strict';
const fs = require('fs');
const path = require('path');
const { launchChromium } = require('./chromium');

async function main() {
  const [url, shots, growFlag] = process.argv.slice(2);
  const origin = new URL(url).origin;
  const browser = await launchChromium();
  const out = { requests: [], foreign: [], page_errors: [], console: [] };
  try {
    const page = await browser.newPage();
    page.on('request', (request) => {
      out.requests.push(request.url());
      if (!request.url().startsWith(origin + '/')) out.foreign.push(request.url());
    });
    page.on('pageerror', (error) => out.page_errors.push(String(error)));
    page.on('console', (message) => out.console.push(message.type() + ': ' + message.text()));
    const ready = async (view) => page.waitForFunction(
      (name) => document.body.dataset.ready === 'true' && document.getElementById('view').dataset.view === name,
      { timeout: 60000 }, view);

    await page.goto(url, { waitUntil: 'load', timeout: 60000 });
    await ready('overview');
    out.token_left_in_url = page.url().includes('token');
    out.overview = await page.evaluate(() => ({
      verdict: document.getElementById('verdict').innerText,
      text: document.getElementById('view').innerText,
    }));
    await page.screenshot({ path: path.join(shots, 'console-overview.png') });

    await page.evaluate(() => { location.hash = '#/runs?verdict=deny'; });
    await page.waitForFunction(() => document.getElementById('view').dataset.view === 'runs' &&
      document.querySelectorAll('tr.run-row').length > 0 &&
      document.querySelector('select[name=verdict]').value === 'deny', { timeout: 60000 });
    out.denies = await page.evaluate(() => Array.from(document.querySelectorAll('tr.run-row')).map((row) => ({ run: row.dataset.run, text: row.innerText })));
    await page.screenshot({ path: path.join(shots, 'console-runs.png') });

    await page.click('tr.run-row');
    await ready('run');
    await page.waitForFunction(() => /^[✓✗]/.test((document.getElementById('inclusion-verdict') || {}).textContent || ''),
      { timeout: 60000 });
    out.run = await page.evaluate(() => document.getElementById('view').innerText);
    out.inclusion = await page.evaluate(() => document.getElementById('inclusion-verdict').textContent);
    // The browser's own check fails for a proof with one hash changed.
    out.inclusion_tampered = await page.evaluate(async () => {
      const id = location.hash.split('/')[2];
      const answer = await fetch('/api/runs/' + id, { headers: { Authorization: 'Bearer ' + sessionStorage.getItem('govconsole-token') } });
      const proof = (await answer.json()).inclusion_proof;
      const good = await GovRender.inclusionHolds(proof);
      proof.proof[0] = (proof.proof[0][0] === '0' ? '1' : '0') + proof.proof[0].slice(1);
      return { good, bad: await GovRender.inclusionHolds(proof), hashes: proof.proof.length };
    });
    await page.click('#export');
    await page.waitForFunction(() => /^Export(ed|.*failed)/.test(document.getElementById('export').textContent) &&
      document.getElementById('export').textContent !== 'Export the signed lineage bundle', { timeout: 60000 });
    out.export = await page.evaluate(() => document.getElementById('export').textContent);
    await page.screenshot({ path: path.join(shots, 'console-run.png') });

    // Live: all runs, then a run appended to the log shows up without reload.
    await page.evaluate(() => { location.hash = '#/runs'; });
    await page.waitForFunction(() => document.getElementById('view').dataset.view === 'runs' &&
      document.querySelector('select[name=verdict]').value === '', { timeout: 60000 });
    out.before = await page.evaluate(() => document.querySelectorAll('tr.run-row').length);
    fs.writeFileSync(growFlag, 'grow\n');
    await page.waitForFunction((n) => document.querySelectorAll('tr.run-row').length > n, { timeout: 90000 }, out.before);
    out.after = await page.evaluate(() => document.querySelectorAll('tr.run-row').length);
    out.live = await page.evaluate(() => document.getElementById('live').textContent);

    await page.evaluate(() => { location.hash = '#/policies'; });
    await ready('policies');
    out.policies = await page.evaluate(() => document.getElementById('view').innerText);
    await page.screenshot({ path: path.join(shots, 'console-policies.png'), fullPage: true });
    out.xss = await page.evaluate(() => typeof window.__xss !== 'undefined');
    out.handlers = await page.evaluate(() => document.querySelectorAll('[onerror],[onload],[onclick]').length);
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((error) => {
  process.stderr.write('console_browser.js: ' + (error && error.stack ? error.stack : String(error)) + '\n');
  process.exit(2);
});
