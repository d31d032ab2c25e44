// The viewer's DOM replay in real headless Chromium, against a read side with an API token.
//   node viewer_replay.mjs http://127.0.0.1:PORT SCREENSHOT_FOLDER READ_TOKEN
// Opens the session with a DOM recording: reads the player's mode, the replayer's iframe (its
// sandbox, its size, the scale it is shown at), the modal's computed display after seeks on
// either side of the recorded mutation, the timeline bar, and how fast the replay runs at 4×.
// Then its share link in a fresh context, the session whose recording lost a block, and the
// session without a recording. Prints JSON for the Rust test; saves a screenshot of each step.
import { launchChromium } from './launch.mjs';

const [base, shots, token] = process.argv.slice(2);
const browser = await launchChromium();
const result = { page_errors: [] };

/* The player's state: its mode label, the replayer's frame and what the replayed page shows. */
const playerState = () => {
  const hp = window.heatpipe, stage = document.getElementById('dom-stage');
  const frame = stage.querySelector('iframe'), doc = frame && frame.contentDocument;
  const modal = doc && doc.getElementById('modal');
  const rect = frame && frame.getBoundingClientRect();
  const replayer = hp.dom.replayer;
  return {
    t: hp.player.t,
    mode: document.getElementById('player-mode').dataset.mode || null,
    label: document.getElementById('player-mode').textContent,
    status: document.getElementById('status').textContent,
    stage_hidden: stage.hidden,
    page_frame_hidden: document.getElementById('page-frame').hidden,
    page_frame_src: document.getElementById('page-frame').getAttribute('src'),
    iframes: stage.querySelectorAll('iframe').length,
    sandbox: frame ? frame.getAttribute('sandbox') : null,
    frame_width: frame ? Number(frame.getAttribute('width')) : null,
    frame_height: frame ? Number(frame.getAttribute('height')) : null,
    shown_width: rect ? rect.width : null,
    area_width: document.getElementById('viewport').clientWidth,
    scale: Number(stage.dataset.scale || 0),
    modal_found: !!modal,
    modal_display: modal ? frame.contentWindow.getComputedStyle(modal).display : null,
    heading: doc && doc.querySelector('h1') ? doc.querySelector('h1').textContent : null,
    replayer_time: replayer ? replayer.getCurrentTime() : null,
    replayer_speed: replayer ? replayer.config.speed : null,
    bar_spans: document.querySelectorAll('#timeline-bar .span').length,
    bar_ticks: document.querySelectorAll('#timeline-bar .tick').length,
    marker_items: document.querySelectorAll('#markers li').length,
    markers: hp.player.timeline ? hp.player.timeline.markers.length : null,
    marker_kinds: hp.player.timeline ? hp.player.timeline.markers.map((m) => m.kind + '@' + m.t) : null,
    inactivity: hp.player.timeline ? hp.player.timeline.inactivity.length : null,
  };
};

/* Pauses the player, seeks it to `ms` and waits until the replayed page shows that moment. */
async function seekTo(page, ms) {
  await page.evaluate((t) => { window.heatpipe.player.pause(); window.heatpipe.player.seek(t); }, ms);
  await page.waitForTimeout(300);
  return page.evaluate(playerState);
}

async function openSession(page, id) {
  await page.locator(`#sessions li[data-session="${id}"]`).click();
  await page.waitForFunction((want) => {
    const p = window.heatpipe.player;
    return p.timeline && p.timeline.id === want && document.getElementById('player-mode').dataset.mode;
  }, id, { timeout: 15000 });
}

try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (err) => result.page_errors.push(String(err)));
  await page.goto(`${base}/?site=demo&tab=sessions`);
  await page.waitForSelector('#auth-panel:not([hidden])');
  await page.fill('#token-input', token);
  await page.click('#token-submit');
  await page.waitForSelector('#sessions li[data-session="dom-1"]');
  result.listed = await page.evaluate(() => Array.from(document.querySelectorAll('#sessions li')).map((li) => li.dataset.session).sort());

  // The session with a DOM recording.
  await openSession(page, 'dom-1');
  await page.waitForFunction(() => {
    const frame = document.querySelector('#dom-stage iframe');
    return frame && frame.contentDocument && frame.contentDocument.getElementById('modal');
  }, null, { timeout: 15000 });
  result.dom = { opened: await page.evaluate(playerState) };
  result.dom.at_1000 = await seekTo(page, 1000);
  result.dom.at_1800 = await seekTo(page, 1800);
  result.dom.at_2200 = await seekTo(page, 2200);
  result.dom.at_3000 = await seekTo(page, 3000);
  await page.screenshot({ path: `${shots}/viewer-dom-replay.png` });
  // Back before the mutation: the modal is hidden again.
  result.dom.back_at_1000 = await seekTo(page, 1000);
  result.dom.at_11000 = await seekTo(page, 11000);

  // 4×: from 3 s, playing for about 1.5 s of wall time.
  await seekTo(page, 3000);
  await page.selectOption('#speed', '4');
  result.dom.speed = await page.evaluate(async () => {
    const hp = window.heatpipe, p = hp.player;
    document.getElementById('play').click();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const wall0 = performance.now(), t0 = p.t, r0 = hp.dom.replayer.getCurrentTime();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const wall1 = performance.now(), t1 = p.t, r1 = hp.dom.replayer.getCurrentTime(), playing = p.playing;
    p.pause();
    return { wall_ms: wall1 - wall0, clock_ms: t1 - t0, replayer_ms: r1 - r0, config_speed: hp.dom.replayer.config.speed, playing };
  });

  // Skipping inactivity: played from inside the idle stretch (11.5–17 s), the clock and the
  // replayer jump to 0.4 s before its end.
  result.dom.skip = await page.evaluate(async () => {
    const hp = window.heatpipe, p = hp.player;
    p.seek(12500);
    document.getElementById('play').click();
    await new Promise((resolve) => setTimeout(resolve, 150));
    p.pause();
    return { skip_checked: document.getElementById('skip').checked, t: p.t, replayer_time: hp.dom.replayer.getCurrentTime() };
  });

  // The first marker in the list: the player jumps to 1 s before it.
  await page.click('#markers li');
  await page.waitForTimeout(300);
  result.dom.marker_jump = await page.evaluate(playerState);

  // A click on the timeline bar at 75 % seeks there.
  const bar = await page.locator('#timeline-bar').boundingBox();
  await page.mouse.click(bar.x + bar.width * 0.75, bar.y + bar.height / 2);
  await page.waitForTimeout(300);
  result.dom.bar_click = await page.evaluate(() => ({ t: window.heatpipe.player.t, duration: window.heatpipe.player.duration,
                                                       replayer_time: window.heatpipe.dom.replayer.getCurrentTime(),
                                                       base: window.heatpipe.dom.base }));

  // Its share link, opened with no token: the same recording, through /share/.
  await page.click('#share-session');
  await page.waitForFunction(() => document.getElementById('share-url').value.includes('/share/demo/session?'));
  const link = await page.inputValue('#share-url');
  const stranger = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const shared = await stranger.newPage();
  shared.on('pageerror', (err) => result.page_errors.push('shared: ' + String(err)));
  const requested = [];
  shared.on('request', (request) => requested.push(new URL(request.url()).pathname));
  await shared.goto(link);
  await shared.waitForFunction(() => {
    const frame = document.querySelector('#dom-stage iframe');
    return frame && frame.contentDocument && frame.contentDocument.getElementById('modal');
  }, null, { timeout: 15000 });
  result.shared = await shared.evaluate(playerState);
  result.shared.recording_requests = requested.filter((p) => p.endsWith('/recording'));
  await shared.screenshot({ path: `${shots}/viewer-dom-replay-shared.png` });
  await stranger.close();

  // The session whose recording lost a block: still replayed, and said so.
  await openSession(page, 'dom-damaged');
  await page.waitForFunction(() => {
    const frame = document.querySelector('#dom-stage iframe');
    return frame && frame.contentDocument && frame.contentDocument.getElementById('modal');
  }, null, { timeout: 15000 });
  result.damaged = await page.evaluate(playerState);

  // The session without a recording: the live page, said so.
  await openSession(page, 'live-1');
  await page.waitForTimeout(500);
  result.live = await page.evaluate(playerState);
  await page.screenshot({ path: `${shots}/viewer-live-replay.png` });
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
