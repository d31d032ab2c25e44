// Drives the viewer in real headless Chromium on a processed demo dataset.
//   node viewer.mjs http://127.0.0.1:PORT SCREENSHOT_FOLDER
// Heatmaps: picks the demo page and reads, from the overlay's own pixels, the colour over the
// most clicked element (located in the live page inside the viewer's frame). Replay: opens the
// session with the most clicks, lets it play, then jumps to a click and to the end. Prints JSON
// for the Rust test to check against the stored data; saves a screenshot of each step.
import { launchChromium } from './launch.mjs';

const [base, shots] = process.argv.slice(2);
const browser = await launchChromium();
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (err) => { result.page_errors = (result.page_errors || []).concat(String(err)); });
  await page.goto(`${base}/?site=demo&tab=pages`);
  await page.waitForSelector('#pages li');
  await page.locator('#pages li .title').filter({ hasText: /\/demo\/$/ }).click();
  await page.waitForFunction(() => {
    const img = document.getElementById('overlay');
    // The PNG is fetched (with the token, when there is one) into a blob URL; dataset.url names it.
    return img.complete && img.naturalWidth > 0 && document.getElementById('canvas').dataset.ready === img.dataset.url;
  });
  await page.waitForSelector('#elements tbody tr');
  // The overlay's pixel over the centre of the top element, and how much of the overlay is clear.
  result.heatmap = await page.evaluate(() => {
    const img = document.getElementById('overlay');
    const frame = document.getElementById('page-frame');
    const topSelector = document.querySelector('#elements tbody tr td').textContent;
    const element = frame.contentDocument.querySelector(topSelector);
    const rect = element.getBoundingClientRect();
    const x = Math.round(rect.left + rect.width / 2), y = Math.round(rect.top + rect.height / 2);
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const at = Array.from(ctx.getImageData(x, y, 1, 1).data);
    const all = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let clear = 0;
    for (let i = 3; i < all.length; i += 4) if (all[i] === 0) clear++;
    return { top_selector: topSelector, x, y, rgba: at, clear_share: clear / (all.length / 4),
             width: img.naturalWidth, frame_width: frame.clientWidth };
  });
  await page.screenshot({ path: `${shots}/viewer-heatmap.png` });

  // Two controls changed at once: the element table must still list each element once.
  await page.evaluate(() => {
    for (const [id, value] of [['radius', '40'], ['palette', 'viridis']]) {
      const el = document.getElementById(id); el.value = value; el.dispatchEvent(new Event('change'));
    }
  });
  await page.waitForTimeout(1500);
  result.elements = await page.evaluate(() => Array.from(document.querySelectorAll('#elements tbody tr td:first-child')).map((td) => td.textContent));

  // The attention map: offered by the kind selector, drawn, with its legend in seconds per view.
  await page.selectOption('#kind', 'attention');
  await page.waitForFunction(() => {
    const img = document.getElementById('overlay');
    return img.complete && img.naturalWidth > 0 && /kind=attention/.test(document.getElementById('canvas').dataset.ready || '')
      && document.getElementById('canvas').dataset.ready === img.dataset.url && document.getElementById('legend').dataset.peak;
  });
  result.attention = await page.evaluate(async () => {
    const hp = window.heatpipe, img = document.getElementById('overlay');
    const depth = await hp.getJson(hp.api('scroll-depth', { page: new URLSearchParams(document.getElementById('canvas').dataset.ready.split('?')[1]).get('page') }));
    const seconds = depth.attention.seconds_per_view, band = depth.attention.band_px;
    const peakBand = seconds.indexOf(Math.max.apply(null, seconds));
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const rowAt = (band_index) => Array.from(ctx.getImageData(20, band_index * band + band / 2, 1, 1).data);
    return { legend: document.getElementById('legend').textContent, legend_peak: Number(document.getElementById('legend').dataset.peak),
             api_peak: depth.attention.peak_seconds_per_view, views: depth.attention.views, peak_band: peakBand,
             peak_rgba: rowAt(peakBand), below_rgba: seconds.length * band < img.naturalHeight ? rowAt(seconds.length) : null,
             height: img.naturalHeight, bands: seconds.length, palette: document.getElementById('palette').value };
  });
  await page.screenshot({ path: `${shots}/viewer-attention.png` });
  await page.selectOption('#kind', 'click');

  // The dashboard: figures, a trend drawn by uPlot, the top pages; a figure opens its sessions.
  await page.click('#tab-dashboard');
  await page.waitForFunction(() => window.heatpipe.analytics.dashboard && document.getElementById('dash-view').dataset.ready);
  await page.waitForSelector('#dash-chart canvas');
  result.dashboard = await page.evaluate(async () => {
    const hp = window.heatpipe;
    const api = await hp.getJson(hp.api('dashboard', { pages: 50 }));
    const cards = {};
    document.querySelectorAll('#dash-cards .card').forEach((c) => { cards[c.dataset.figure] = c.querySelector('strong').textContent; });
    const canvas = document.querySelector('#dash-chart canvas');
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let drawn = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2])) drawn++;
    return { api, cards, trend: hp.analytics.trend, coloured_chart_pixels: drawn,
             table_rows: document.querySelectorAll('#dash-pages tbody tr').length };
  });
  await page.screenshot({ path: `${shots}/viewer-dashboard.png` });
  await page.click('#dash-cards .card[data-figure="rage_click_share"]');
  await page.waitForFunction((url) => (document.getElementById('sessions').dataset.ready || '').startsWith(url),
    result.dashboard.api.links.rage_click_share);
  result.dashboard.rage_sessions = await page.evaluate(async (url) => ({
    listed: document.querySelectorAll('#sessions li').length,
    api: (await window.heatpipe.getJson(url + '&limit=200')).length,
  }), result.dashboard.api.links.rage_click_share);

  // The funnel: the landing page, then pricing; bars per step; a drop-off lists its sessions.
  await page.click('#tab-funnel');
  await page.waitForSelector('#funnel-steps li');
  await page.evaluate(() => {
    document.getElementById('funnel-steps').textContent = '';
    window.heatpipe.addFunnelStep('/demo/');
    window.heatpipe.addFunnelStep('/demo/pricing.html');
  });
  await page.click('#funnel-show');
  await page.waitForFunction(() => document.querySelectorAll('#funnel-bars .bar-row').length === 2 && document.querySelector('#funnel-bars .bar-row[data-step="2"]'));
  result.funnel = await page.evaluate(async () => {
    const hp = window.heatpipe;
    const api = await hp.getJson(hp.api('funnel', { steps: '/demo/,/demo/pricing.html' }));
    const widths = Array.from(document.querySelectorAll('#funnel-bars .bar')).map((b) => b.getBoundingClientRect().width);
    return { api, widths, drops: document.querySelectorAll('#funnel-bars .drop').length };
  });
  await page.screenshot({ path: `${shots}/viewer-funnel.png` });
  await page.click('#funnel-bars .drop');
  const dropped = result.funnel.api.steps[0].dropped_sessions_url;
  await page.waitForFunction((url) => (document.getElementById('sessions').dataset.ready || '').startsWith(url), dropped);
  result.funnel.dropped = await page.evaluate(async (url) => ({
    listed: Array.from(document.querySelectorAll('#sessions li')).map((li) => li.dataset.session).sort(),
    api: (await window.heatpipe.getJson(url + '&limit=200')).map((s) => s.id).sort(),
  }), dropped);

  await page.click('#tab-sessions');
  await page.waitForSelector('#sessions li');
  const sessions = await page.evaluate(() => window.heatpipe.getJson(window.heatpipe.api('sessions', { limit: 1000 })));
  const busiest = sessions.slice().sort((a, b) => b.clicks - a.clicks || a.id.localeCompare(b.id))[0];
  await page.locator(`#sessions li[data-session="${busiest.id}"]`).click();
  await page.waitForFunction(() => window.heatpipe.player.timeline && window.heatpipe.player.playing);
  await page.selectOption('#speed', '8');
  const t0 = await page.evaluate(() => window.heatpipe.player.t);
  await page.waitForTimeout(1500);
  const t1 = await page.evaluate(() => window.heatpipe.player.t);
  const click = await page.evaluate(() => {
    const p = window.heatpipe.player;
    p.pause();
    const c = p.timeline.events.find((e) => e.kind === 'click');
    p.seek(c.t + 100);
    const layer = document.getElementById('replay-layer').getContext('2d');
    // The ripple is a ring of radius about 12 px around the click, 100 ms after it.
    let ring = 0;
    for (let a = 0; a < 16; a++) {
      const px = Math.round(c.x + 12 * Math.cos(a * Math.PI / 8)), py = Math.round(c.y + 12 * Math.sin(a * Math.PI / 8));
      if (layer.getImageData(px, py, 1, 1).data[3] > 0) ring++;
    }
    const centre = layer.getImageData(Math.round(c.x), Math.round(c.y), 1, 1).data[3];
    return { t: c.t, x: c.x, y: c.y, ring_pixels: ring, centre_alpha: centre };
  });
  await page.screenshot({ path: `${shots}/viewer-replay.png` });
  const end = await page.evaluate(() => {
    const p = window.heatpipe.player;
    p.seek(p.timeline.duration_ms);
    return { shown: Number(document.getElementById('clicks-shown').dataset.count), clock: document.getElementById('clock').textContent,
             markers: p.timeline.markers.length, marker_items: document.querySelectorAll('#markers li').length };
  });
  result.replay = { session: busiest.id, listed_clicks: busiest.clicks, t0, t1, click, end };
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
