// The viewer in real headless Chromium against a read side that has API tokens.
//   node viewer_auth.mjs http://127.0.0.1:PORT SCREENSHOT_FOLDER READ_TOKEN
// Opens the viewer with no token: it asks for one. A wrong token is refused in words; the read
// token shows the demo page's heatmap, whose overlay pixel over the most clicked element is
// read as viewer.mjs does. An admin-only call is refused in words. Then the Share button's link
// is opened in a fresh browser context (no token): it shows that heatmap alone; a tampered copy
// is refused. Prints JSON for the Rust test; saves a screenshot of each step.
import { launchChromium } from './launch.mjs';

const [base, shots, token] = process.argv.slice(2);
const browser = await launchChromium();
const result = { page_errors: [] };

/* The overlay's pixel over the centre of `selector` in the framed page, and its size. */
const overlayAt = (selector) => {
  const img = document.getElementById('overlay');
  const frame = document.getElementById('page-frame');
  const element = frame.contentDocument.querySelector(selector);
  const rect = element.getBoundingClientRect();
  const x = Math.round(rect.left + rect.width / 2), y = Math.round(rect.top + rect.height / 2);
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { selector, x, y, rgba: Array.from(ctx.getImageData(x, y, 1, 1).data), width: img.naturalWidth,
           src_is_blob: img.src.startsWith('blob:') };
};
const overlayReady = () => {
  const img = document.getElementById('overlay');
  return img.complete && img.naturalWidth > 0 && !!document.getElementById('canvas').dataset.ready &&
    document.getElementById('canvas').dataset.ready === img.dataset.url;
};

try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => result.page_errors.push(String(err)));
  await page.goto(`${base}/?site=demo&tab=pages`);

  // No token: the form asks for one.
  await page.waitForSelector('#auth-panel:not([hidden])');
  result.asked = { message: await page.textContent('#auth-message'), status: await page.textContent('#status') };

  // A wrong one: said to be not valid, and asked again.
  await page.fill('#token-input', 'hp_this-is-not-a-token');
  await page.click('#token-submit');
  await page.waitForSelector('#auth-message.refused');
  await page.waitForSelector('#auth-panel:not([hidden])');
  result.wrong = { message: await page.textContent('#auth-message'), status: await page.textContent('#status') };
  await page.screenshot({ path: `${shots}/viewer-auth-refused.png` });

  // The read token: the pages and the heatmap appear.
  await page.fill('#token-input', token);
  await page.click('#token-submit');
  await page.waitForSelector('#pages li');
  result.panel_hidden = await page.isHidden('#auth-panel');
  result.stored = await page.evaluate(() => sessionStorage.getItem('heatpipe.token') !== null);
  await page.locator('#pages li .title').filter({ hasText: /\/demo\/$/ }).click();
  await page.waitForFunction(overlayReady);
  await page.waitForSelector('#elements tbody tr');
  const top = await page.textContent('#elements tbody tr td');
  result.heatmap = await page.evaluate(overlayAt, top);
  await page.screenshot({ path: `${shots}/viewer-auth-heatmap.png` });

  // An admin-only call with a read token: refused in words.
  result.forbidden = await page.evaluate(() => window.heatpipe.getJson('/api/tokens')
    .then(() => ({ refused: false }))
    .catch((err) => { window.heatpipe.failed('Could not list the tokens', err); return { refused: !!err.refused, message: err.message }; }));
  result.forbidden.status = await page.textContent('#status');
  result.forbidden.status_class = await page.getAttribute('#status', 'class');

  // Share the heatmap; open the link with no token, in a fresh context.
  await page.click('#share-heatmap');
  await page.waitForSelector('#share-result:not([hidden])');
  const link = await page.inputValue('#share-url');
  result.link = link;
  const stranger = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const shared = await stranger.newPage();
  shared.on('pageerror', (err) => result.page_errors.push('shared: ' + String(err)));
  await shared.goto(link);
  await shared.waitForFunction(overlayReady);
  result.shared = await shared.evaluate(overlayAt, top);
  result.shared.auth_hidden = await shared.isHidden('#auth-panel');
  result.shared.pages_hidden = await shared.isHidden('#pages-panel');
  result.shared.controls_hidden = await shared.isHidden('#heatmap-controls');
  result.shared.token_stored = await shared.evaluate(() => sessionStorage.getItem('heatpipe.token') !== null);
  result.shared.status = await shared.textContent('#status');
  await shared.screenshot({ path: `${shots}/viewer-shared-heatmap.png` });

  // The same link with another radius: refused.
  const tampered = new URL(link);
  tampered.searchParams.set('radius', '80');
  const refused = await shared.goto(tampered.href);
  result.tampered = { status: refused.status(), body: await shared.textContent('body') };

  // A session's replay, shared the same way, plays for the stranger.
  await page.click('#tab-sessions');
  await page.waitForSelector('#sessions li');
  const session = await page.getAttribute('#sessions li', 'data-session');
  await page.click('#sessions li');
  await page.waitForFunction(() => window.heatpipe.player.timeline !== null);
  await page.click('#share-session');
  await page.waitForFunction(() => document.getElementById('share-url').value.includes('/share/demo/session?'));
  const replayLink = await page.inputValue('#share-url');
  await shared.goto(replayLink);
  await shared.waitForFunction(() => window.heatpipe.player.timeline !== null, null, { timeout: 15000 })
    .catch(async (err) => { throw new Error(`the shared replay did not load (${replayLink}): ${await shared.textContent('#status')}`); });
  result.shared_replay = await shared.evaluate(() => ({
    id: window.heatpipe.player.timeline.id,
    sessions_hidden: document.getElementById('sessions-panel').hidden || getComputedStyle(document.getElementById('sessions-panel')).display === 'none',
    share_hidden: getComputedStyle(document.getElementById('share-session')).display === 'none',
    player_shown: !document.getElementById('player-controls').hidden,
  }));
  result.shared_replay.session = session;
  await shared.screenshot({ path: `${shots}/viewer-shared-replay.png` });
  await stranger.close();
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
