// heatmap.js 2.0.5 in headless Chromium: draws the same points on a canvas of the same size and
// encodes it as PNG, the way a browser-side heatmap produces an image.
//   node heatmapjs.mjs POINTS.json ITERATIONS
// POINTS.json: {"width": W, "height": H, "radius": R, "max": M, "points": [[x, y], …]}.
// Prints {"p50_ms": …, "runs_ms": […], "png_bytes": …}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const [pointsFile, iterations = '7'] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(pointsFile, 'utf8'));
const library = createRequire(import.meta.url).resolve('heatmap.js/build/heatmap.min.js');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.setContent('<!doctype html><body style="margin:0"></body>');
  await page.addScriptTag({ path: library });
  await page.evaluate((s) => { window.spec = s; }, spec);
  const runs = [];
  let pngBytes = 0;
  for (let i = 0; i < Number(iterations); i++) {
    const run = await page.evaluate(() => {
      const { width, height, radius, max, points } = window.spec;
      document.body.textContent = '';
      const container = document.createElement('div');
      container.style.width = width + 'px';
      container.style.height = height + 'px';
      document.body.appendChild(container);
      const start = performance.now();
      const heatmap = h337.create({ container, radius, maxOpacity: 0.85 });
      heatmap.setData({ max, min: 0, data: points.map(([x, y]) => ({ x, y, value: 1 })) });
      const png = heatmap.getDataURL();
      return { ms: performance.now() - start, bytes: Math.round((png.length - 22) * 3 / 4) };
    });
    runs.push(run.ms);
    pngBytes = run.bytes;
  }
  const sorted = runs.slice().sort((a, b) => a - b);
  console.log(JSON.stringify({ p50_ms: sorted[Math.floor(sorted.length / 2)], runs_ms: runs, png_bytes: pngBytes }));
} finally {
  await browser.close();
}
