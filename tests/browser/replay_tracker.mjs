// Drives t.js's DOM replay in real headless Chromium on the test page (a form, text, a modal and
// two images), once per case given as SITE:ATTRIBUTE ("dom" puts data-replay="dom" on the tag,
// "none" leaves it off, "consent" adds data-consent="required" to "dom" and gives consent after
// 1.5 s). Each case runs in a fresh browser context: it moves the pointer, types
// into the form, opens the modal, waits for the replay sender's timed flush, then leaves the
// page (sendBeacon then sends what is left). Prints, as JSON, every request the page made to the
// collector, with the body of each POST as the browser sent it (playwright's request events) and
// its answer's status, headers and body (none for beacons), for the Rust test to check.
//   node replay_tracker.mjs COLLECTOR_URL PAGE_URL TYPED CASE…
import { launchChromium } from './launch.mjs';

const [collector, pageBase, typed, ...cases] = process.argv.slice(2);
const browser = await launchChromium();
const results = {};
try {
  for (const name of cases) {
    const [site, attribute] = name.split(':');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const requests = [];
    context.on('request', (request) => {
      if (!request.url().startsWith(collector)) return;
      const body = request.postDataBuffer();
      requests.push({ method: request.method(), url: request.url().slice(collector.length), type: request.resourceType(), body: body ? body.toString('utf8') : null, request });
    });
    // An answer's body is read as it arrives: it is gone once the page is left.
    const answers = new Map();
    context.on('response', (response) => {
      if (response.url().startsWith(collector) && response.request().method() === 'POST') answers.set(response.request(), response.text().catch(() => null));
    });
    await page.goto(`${pageBase}/page/${site}/${attribute}`);
    await page.waitForFunction(() => typeof window.heatpipe === 'function');
    const sid = await page.evaluate(() => sessionStorage.getItem('heatpipe.sid'));
    // "consent": the tag waits for consent; nothing is loaded or sent before it is given.
    let beforeConsent = null;
    if (attribute === 'consent') {
      await page.waitForTimeout(1500);
      beforeConsent = requests.map((r) => r.url);
      await page.evaluate(() => window.heatpipe('consent', true));
      await page.waitForTimeout(300);
    }
    const replaying = await page.evaluate(() => window.__heatpipeReplay !== undefined);
    await page.mouse.move(200, 200);
    await page.mouse.move(600, 400, { steps: 10 });
    await page.locator('#name').click();
    await page.keyboard.type(typed, { delay: 20 });
    await page.locator('#open-modal').click();
    await page.locator('#modal').waitFor({ state: 'visible' });
    await page.mouse.move(640, 300, { steps: 5 });
    // The tracker's first batch leaves after 1 s; the replay sender's timed flush after 5 s.
    await page.waitForTimeout(replaying ? 5600 : 1600);
    // Events after the last timed flush leave with sendBeacon when the page is left.
    await page.mouse.move(300, 500, { steps: 8 });
    await page.waitForTimeout(200);
    await page.goto('about:blank');
    await page.waitForTimeout(500);
    const answered = [];
    for (const entry of requests) {
      const response = await entry.request.response().catch(() => null);
      const answer = answers.has(entry.request) ? await answers.get(entry.request) : null;
      delete entry.request;
      answered.push({ ...entry, status: response ? response.status() : null, headers: response ? await response.allHeaders() : null, answer });
    }
    results[name] = { sid, replaying, beforeConsent, requests: answered };
    await context.close();
  }
  console.log(JSON.stringify(results));
} finally {
  await browser.close();
}
