// Starts the Chromium every browser test uses: Debian's (or $CHROMIUM), headless, with the
// flags that keep it off the network and quiet on a CI machine.
import { chromium } from 'playwright-core';

export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
