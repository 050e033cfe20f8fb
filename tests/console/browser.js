// Opens a proof viewer page in Debian's chromium (headless, driven by
// puppeteer-core from build/node) and prints what a user sees as one JSON
// document on stdout; the Catch2 tests in tests/console assert on it.
//
// usage: node browser.js PAGE.html SCREENSHOT.png [--select RUN_ID] [--filter VERDICT]
//                        [--click-row N] [--expand-all]
'use strict';
const path = require('path');
const { launchChromium } = require('./chromium');

async function main() {
  const [page_file, screenshot, ...rest] = process.argv.slice(2);
  const options = {};
  for (let i = 0; i < rest.length; i += 2) options[rest[i].replace(/^--/, '')] = rest[i + 1];
  const browser = await launchChromium();
  const out = { requests: [], console: [], violations: [], page_errors: [] };
  try {
    const page = await browser.newPage();
    const url = 'file://' + path.resolve(page_file);
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      out.requests.push(request.url());
      // Nothing but the page itself may load; anything else is recorded and refused.
      if (request.url() === url || request.url().startsWith(url + '#')) request.continue();
      else request.abort('blockedbyclient');
    });
    page.on('console', (message) => out.console.push(message.type() + ': ' + message.text()));
    page.on('pageerror', (error) => out.page_errors.push(String(error)));
    await page.evaluateOnNewDocument(() => {
      window.__violations = [];
      document.addEventListener('securitypolicyviolation',
        (event) => window.__violations.push(event.violatedDirective + ' ' + event.blockedURI));
    });
    const started = Date.now();
    await page.goto(url, { waitUntil: 'load', timeout: 120000 });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120000 });
    out.ready_ms = Date.now() - started;
    out.marks = await page.evaluate(() => Object.fromEntries(
      [['dom_interactive', performance.timing.domInteractive - performance.timing.navigationStart]].concat(
        performance.getEntriesByType('mark').map((mark) => [mark.name, Math.round(mark.startTime)]))));

    const snapshot = async () => page.evaluate(() => ({
      verdict: document.getElementById('verdict').innerText,
      verdict_class: document.getElementById('verdict').className,
      summary: document.getElementById('summary').innerText,
      count: document.getElementById('filter-count').innerText,
      rows: Array.from(document.querySelectorAll('#rows .row')).map((row) => ({ run: row.dataset.run, text: row.innerText })),
      detail: document.getElementById('detail').innerText,
      // Scripts that run (the data elements are application/octet-stream, which never runs).
      scripts: document.querySelectorAll('script:not([type="application/octet-stream"])').length,
      handlers: document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover]').length,
      images: document.querySelectorAll('img,iframe,object,embed,link').length,
      xss: typeof window.__xss !== 'undefined',
      violations: window.__violations,
    }));
    if (options.filter !== undefined) {
      await page.select('#filter-verdict', options.filter);
    }
    if (options['click-row'] !== undefined) {
      const rows = await page.$$('#rows .row');
      const run = await rows[Number(options['click-row'])].evaluate((row) => row.dataset.run);
      await rows[Number(options['click-row'])].click();
      // The run's details are inflated from its chunk of the page first.
      await page.waitForFunction((id) => document.getElementById('detail').dataset.run === id, { timeout: 30000 }, run);
    }
    if (options.select !== undefined) {
      await page.evaluate((id) => { location.hash = '#run=' + id; }, options.select);
      await page.waitForFunction((id) => document.querySelector('#rows .row.selected[data-run="' + id + '"]') &&
        document.getElementById('detail').dataset.run === id, { timeout: 30000 }, options.select);
    }
    Object.assign(out, await snapshot());
    await page.screenshot({ path: screenshot, fullPage: false });
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((error) => {
  process.stderr.write('browser.js: ' + (error && error.stack ? error.stack : String(error)) + '\n');
  process.exit(2);
});
