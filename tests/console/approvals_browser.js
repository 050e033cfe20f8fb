// Drives govconsole's approvals page in Debian's chromium (headless,
// puppeteer-core from build/node) as an approver would: waits for the one
// ask govd holds, reads it, clicks Approve, and prints what it saw as one
// JSON document; tests/console/server_test.cpp asserts on it.
//
// usage: node approvals_browser.js URL_WITH_TOKEN SCREENSHOT_DIR
'use strict';
const path = require('path');
const { launchChromium } = require('./chromium');

async function main() {
  const [url, shots] = process.argv.slice(2);
  const origin = new URL(url).origin;
  const browser = await launchChromium();
  const out = { foreign: [], page_errors: [] };
  try {
    const page = await browser.newPage();
    page.on('request', (request) => { if (!request.url().startsWith(origin + '/')) out.foreign.push(request.url()); });
    page.on('pageerror', (error) => out.page_errors.push(String(error)));
    await page.goto(url, { waitUntil: 'load', timeout: 60000 });
    await page.waitForFunction(() => document.body.dataset.ready === 'true', { timeout: 60000 });
    await page.evaluate(() => { location.hash = '#/approvals'; });
    await page.waitForFunction(() => document.getElementById('view').dataset.view === 'approvals' &&
      document.querySelector('section.ask button.approve') !== null, { timeout: 60000 });
    out.ask = await page.evaluate(() => {
      const box = document.querySelector('section.ask');
      return { id: box.dataset.ask, text: box.innerText, images: box.querySelectorAll('img').length };
    });
    await page.screenshot({ path: path.join(shots, 'console-approvals.png') });
    await page.click('section.ask button.approve');
    await page.waitForFunction(() => document.body.dataset.answered !== undefined, { timeout: 60000 });
    out.answered = await page.evaluate(() => document.body.dataset.answered);
    // Once answered, the ask leaves the page.
    await page.waitForFunction(() => document.querySelector('section.ask') === null, { timeout: 60000 });
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((error) => { console.error(error); process.exit(1); });
