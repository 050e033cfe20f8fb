// Debian's chromium, headless, as the console's browser tests launch it
// (puppeteer-core from build/node; no browser is ever downloaded).
'use strict';
const puppeteer = require('puppeteer-core');

function launchChromium() {
  return puppeteer.launch({
    executablePath: process.env.GOV_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Root in CI: chromium's own sandbox needs an unprivileged user.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage', '--disable-extensions'],
    defaultViewport: { width: 1400, height: 900 },
    protocolTimeout: 240000,
  });
}

module.exports = { launchChromium };
