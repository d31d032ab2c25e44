// DOM replay end to end in real headless Chromium, in two steps the Rust test runs in turn.
//   node replay_e2e.mjs record PAGE_URL TYPED
//     A visitor on the test page (t.js with data-replay="dom"): moves, types TYPED into the
//     form, opens the dialog with a click, scrolls, then leaves. Prints {sid, clicked_at}.
//   node replay_e2e.mjs view VIEWER_URL SID CLICKED_AT
//     Opens the session in the viewer and reads the replayed document 600 ms before the click
//     and 1.5 s after it: is the dialog there, and is it displayed. Prints what it saw.
import { launchChromium } from './launch.mjs';

const [mode, ...args] = process.argv.slice(2);
const browser = await launchChromium();
try {
  console.log(JSON.stringify(mode === 'record' ? await record(...args) : await view(...args)));
} finally {
  await browser.close();
}

async function record(pageUrl, typed) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.waitForFunction(() => window.__heatpipeReplay && window.__heatpipeReplay.started);
  const sid = await page.evaluate(() => window.__heatpipeReplay.sid);
  await page.mouse.move(200, 200);
  await page.mouse.move(600, 420, { steps: 12 });
  await page.locator('#name').click();
  await page.keyboard.type(typed, { delay: 25 });
  await page.waitForTimeout(1500);
  const clickedAt = await page.evaluate(() => Date.now());
  await page.locator('#open-dialog').click();
  await page.locator('#dialog').waitFor({ state: 'visible' });
  await page.mouse.move(640, 300, { steps: 6 });
  await page.mouse.wheel(0, 600);
  // The replay sender's timed flush, then what is left leaves by sendBeacon with the page.
  await page.waitForTimeout(5600);
  await page.mouse.move(300, 500, { steps: 6 });
  await page.goto('about:blank');
  await page.waitForTimeout(800);
  await context.close();
  return { sid, clicked_at: clickedAt };
}

async function view(base, sid, clickedAt) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(`${base}/?site=shop&tab=sessions`);
  await page.waitForSelector(`#sessions li[data-session="${sid}"]`, { timeout: 20000 });
  await page.locator(`#sessions li[data-session="${sid}"]`).click();
  await page.waitForFunction((want) => {
    const p = window.heatpipe.player;
    return p.timeline && p.timeline.id === want && document.getElementById('player-mode').dataset.mode;
  }, sid, { timeout: 15000 });
  const mode = await page.evaluate(() => document.getElementById('player-mode').dataset.mode);
  const at = async (absolute) => {
    await page.evaluate((t) => {
      const p = window.heatpipe.player;
      p.pause();
      p.seek(t - p.timeline.started_at);
    }, absolute);
    await page.waitForTimeout(400);
    return page.evaluate(() => {
      const frame = document.querySelector('#dom-stage iframe');
      const doc = frame && frame.contentDocument;
      const dialog = doc && doc.getElementById('dialog');
      return {
        sandbox: frame ? frame.getAttribute('sandbox') : null,
        has_form: !!(doc && doc.getElementById('name')),
        dialog_found: !!dialog,
        dialog_display: dialog ? frame.contentWindow.getComputedStyle(dialog).display : null,
        text: doc && doc.body ? doc.body.textContent : '',
      };
    });
  };
  const before = await at(Number(clickedAt) - 600);
  const after = await at(Number(clickedAt) + 1500);
  await context.close();
  return { mode, before, after, errors };
}
