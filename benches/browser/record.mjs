// Records visitor sessions on a page carrying heatpipe's tracker with data-replay="dom", in
// headless Chromium. Playwright's clock stands in for the page's time, so that minutes of a
// visitor's time (the pointer moving every 100 ms, scrolling, opening and closing a dialog,
// typing into a field) take seconds; the recorder and the tracker see those minutes pass.
//
// node record.mjs PAGE_URL SESSIONS MINUTES START_MS
// Prints one JSON line per session: {"session": id, "minutes": m}.
import { launchChromium } from '../../tests/browser/launch.mjs';

const [pageUrl, sessionsArg, minutesArg, startArg] = process.argv.slice(2);
const sessions = parseInt(sessionsArg, 10), minutes = parseFloat(minutesArg), start = parseInt(startArg, 10);
const STEP_MS = 100;

// A deterministic walk, so every run records the same visitor behaviour.
function walk(seed) {
  let state = seed >>> 0;
  return () => { state = (state * 1664525 + 1013904223) >>> 0; return state / 4294967296; };
}

async function visit(browser, index) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.clock.install({ time: start + index * 3_600_000 });
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.__heatpipeReplay && window.__heatpipeReplay.started);
  const random = walk(index + 1);
  let x = 640, y = 400;
  const steps = Math.round(minutes * 60_000 / STEP_MS);
  for (let step = 0; step < steps; step++) {
    x = Math.max(5, Math.min(1270, x + (random() - 0.5) * 80));
    y = Math.max(5, Math.min(790, y + (random() - 0.5) * 60));
    await page.mouse.move(x, y);
    if (step % 40 === 20) await page.mouse.wheel(0, random() < 0.7 ? 240 : -300);
    if (step % 300 === 150) {
      await page.click('#open-dialog');
      await page.clock.runFor(800);
      await page.fill('#dialog-note', 'note ' + step);
      await page.click('#close-dialog');
    }
    if (step % 450 === 400) await page.click('.accordion-button >> nth=' + (step % 3));
    await page.clock.runFor(STEP_MS);
  }
  // The tracker and the recorder flush every 5 s; then the tab is left.
  await page.clock.runFor(6_000);
  const session = await page.evaluate(() => window.__heatpipeReplay.sid);
  await page.waitForTimeout(300);
  await page.close({ runBeforeUnload: true });
  await context.close();
  console.log(JSON.stringify({ session, minutes }));
}

const browser = await launchChromium();
try {
  for (let i = 0; i < sessions; i++) await visit(browser, i);
} finally {
  await browser.close();
}
