// Clicks, in real headless Chromium, a button that opens a fixed-position modal (the document's
// size does not change) and one that does nothing, on a page served under the collector's origin
// with the real tracker. Prints the session id, for the Rust test to read what was stored.
//   node reaction.mjs http://127.0.0.1:PORT
import { launchChromium } from './launch.mjs';

const base = process.argv[2];
const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>reactions</title>
<style>body { margin: 0; height: 2000px; } button { position: absolute; width: 200px; height: 60px; }
#modal { position: fixed; inset: 100px; background: white; border: 1px solid; }</style>
<script src="/t.js" data-site="demo" async></script></head>
<body>
<button id="open-modal" style="left: 100px; top: 100px">Open</button>
<button id="nothing" style="left: 400px; top: 100px">Nothing</button>
<script>
  document.getElementById('open-modal').addEventListener('click', function () {
    var modal = document.createElement('div'); modal.id = 'modal'; document.body.appendChild(modal);
  });
</script>
</body></html>`;
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.route(`${base}/reactions.html`, (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto(`${base}/reactions.html`);
  await page.waitForFunction(() => typeof window.heatpipe === 'function');
  const heights = [];
  for (const id of ['nothing', 'open-modal']) {
    const box = await page.locator(`#${id}`).boundingBox();
    await page.mouse.move(box.x + 20, box.y + 20);
    await page.mouse.click(box.x + 100, box.y + 30);
    // Longer than the tracker's second of watching, and than the dead-click window.
    await page.waitForTimeout(1500);
    heights.push(await page.evaluate(() => document.documentElement.scrollHeight));
  }
  const modalShown = await page.locator('#modal').isVisible();
  await page.evaluate(() => window.heatpipe('flush'));
  await page.waitForTimeout(300);
  const session = await page.evaluate(() => sessionStorage.getItem('heatpipe.sid'));
  await page.goto('about:blank');
  await page.waitForTimeout(300);
  console.log(JSON.stringify({ session, heights, modalShown }));
} finally {
  await browser.close();
}
