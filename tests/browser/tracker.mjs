// Drives the tracker on the demo page in real headless Chromium: real pointer moves, clicks and
// wheel scrolling. Prints, as JSON, what the browser did (page coordinates of each click, the
// scroll position reached, the session id), for the Rust test to compare with what was stored.
// A second tab of the same browser profile then visits again: a new session, of a returning
// visitor, not identified (identify lasts a tab's session).
//   node tracker.mjs http://127.0.0.1:PORT
import { launchChromium } from './launch.mjs';

const base = process.argv[2];
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${base}/demo/`);
  await page.waitForFunction(() => typeof window.heatpipe === 'function');
  await page.evaluate(() => window.heatpipe('tag', 'variant', 'B'));
  // A site that knows its visitor: the collector must store only a keyed hash of this id.
  await page.evaluate(() => window.heatpipe('identify', 'crm-browser-1'));
  const clicks = [];
  let deepest = 0;
  async function clickCentre(selector) {
    const box = await page.locator(selector).boundingBox();
    const x = Math.round(box.x + box.width / 2), y = Math.round(box.y + box.height / 2);
    await page.mouse.move(x - 120, y - 60);
    await page.mouse.move(x, y, { steps: 12 });
    // Read before clicking: a link to "#" scrolls back to the top.
    const scrollY = await page.evaluate(() => window.scrollY);
    deepest = Math.max(deepest, scrollY);
    await page.mouse.click(x, y);
    clicks.push({ selector, x, y: y + scrollY });
    await page.waitForTimeout(150);
  }
  await clickCentre('#start-trial');
  // Wheel notches closer together than the tracker's scroll throttle.
  for (let notch = 0; notch < 6; notch++) {
    await page.mouse.wheel(0, 200);
    await page.waitForTimeout(30);
  }
  await page.waitForFunction(() => window.scrollY > 0);
  await page.waitForTimeout(600);
  await clickCentre('#faq-1');
  const session = await page.evaluate(() => sessionStorage.getItem('heatpipe.sid'));
  // Leaving the page flushes the last batch with sendBeacon.
  await page.goto('about:blank');
  await page.waitForTimeout(500);
  const again = await context.newPage();
  await again.goto(`${base}/demo/`);
  await again.waitForFunction(() => typeof window.heatpipe === 'function');
  const returningSession = await again.evaluate(() => sessionStorage.getItem('heatpipe.sid'));
  await again.mouse.move(300, 300);
  await again.mouse.move(500, 400, { steps: 8 });
  await again.goto('about:blank');
  await again.waitForTimeout(500);
  console.log(JSON.stringify({ session, returningSession, clicks, scrollY: deepest, viewportHeight: 800 }));
} finally {
  await browser.close();
}
