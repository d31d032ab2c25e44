// Replay start in headless Chromium: how long the viewer takes from opening a session to the
// first replayed frame, and rrweb's Replayer alone on the same events from a static file.
//
// node replay_start.mjs READER_URL PEER_PAGE_URL SESSION DATE RUNS
// Each run has a fresh browser context (no HTTP cache) and page; a first warm-up run of each
// is not counted. The first frame is drawn when the replayer's iframe has a document whose
// body holds the recorded page's #open-dialog. Prints one JSON line:
// {"viewer": [{total_ms, recording_ms, encoded_bytes}], "peer": [{total_ms, fetch_ms}]}.
import { launchChromium } from '../../tests/browser/launch.mjs';

const [reader, peerPage, session, date, runsArg] = process.argv.slice(2);
const runs = parseInt(runsArg, 10);

async function inFreshPage(browser, body) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    const result = await body(page);
    if (errors.length) throw new Error('page errors: ' + errors.join('; '));
    return result;
  } finally {
    await context.close();
  }
}

/* The viewer: its sessions tab listed, then the session clicked; timed from the click. */
function viewerRun(browser) {
  return inFreshPage(browser, async (page) => {
    await page.goto(`${reader}/?site=shop&from=${date}&to=${date}`);
    await page.click('#tab-sessions');
    await page.waitForSelector(`#sessions li[data-session="${session}"]`, { state: 'attached' });
    return page.evaluate(async (id) => {
      /* Resolves with performance.now() once `root`'s replayer iframe shows the page. */
      const drawn = (root) => new Promise((resolve, reject) => {
        const deadline = performance.now() + 30000;
        const check = () => {
          const frame = root.querySelector('iframe'), doc = frame && frame.contentDocument;
          if (doc && doc.body && doc.getElementById('open-dialog')) return resolve(performance.now());
          if (performance.now() > deadline) return reject(new Error('no first frame in 30 s'));
          setTimeout(check, 1);
        };
        check();
      });
      const t0 = performance.now();
      document.querySelector(`#sessions li[data-session="${id}"]`).click();
      const t1 = await drawn(document.getElementById('dom-stage'));
      const entry = performance.getEntriesByType('resource').find((e) => e.name.includes('/recording?'));
      const frame = document.querySelector('#dom-stage iframe').getBoundingClientRect();
      return {
        total_ms: t1 - t0,
        shown: frame.width > 0 && frame.height > 0,
        recording_ms: entry ? entry.responseEnd - entry.startTime : null,
        encoded_bytes: entry ? entry.encodedBodySize : null,
      };
    }, session);
  });
}

/* The peer: the events as plain JSON from a static file, given to rrweb's Replayer. */
function peerRun(browser) {
  return inFreshPage(browser, async (page) => {
    await page.goto(peerPage);
    await page.waitForFunction(() => !!window.heatpipeRrwebReplayer);
    return page.evaluate(async () => {
      /* Resolves with performance.now() once `root`'s replayer iframe shows the page. */
      const drawn = (root) => new Promise((resolve, reject) => {
        const deadline = performance.now() + 30000;
        const check = () => {
          const frame = root.querySelector('iframe'), doc = frame && frame.contentDocument;
          if (doc && doc.body && doc.getElementById('open-dialog')) return resolve(performance.now());
          if (performance.now() > deadline) return reject(new Error('no first frame in 30 s'));
          setTimeout(check, 1);
        };
        check();
      });
      const root = document.getElementById('root');
      const t0 = performance.now();
      const events = await (await fetch('/events.json')).json();
      const fetched = performance.now();
      new window.heatpipeRrwebReplayer(events, { root });
      const t1 = await drawn(root);
      return { total_ms: t1 - t0, fetch_ms: fetched - t0 };
    });
  });
}

const browser = await launchChromium();
try {
  const result = { viewer: [], peer: [] };
  await viewerRun(browser);
  await peerRun(browser);
  for (let i = 0; i < runs; i++) {
    result.viewer.push(await viewerRun(browser));
    result.peer.push(await peerRun(browser));
  }
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
