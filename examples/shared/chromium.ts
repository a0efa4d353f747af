/**
 * Headless Chromium for the examples' page tools and the browser tests: where the browser is,
 * and the flags that give it software WebGL2 and WebGPU (SwiftShader) without reaching the
 * network. Driven by playwright-core; never downloads a browser.
 */
import * as fs from 'fs';

import {Browser, chromium} from 'playwright-core';

/** Software WebGL2 and WebGPU on SwiftShader; nothing that reaches the network. */
export const CHROMIUM_ARGS = [
  '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--enable-unsafe-webgpu',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic',
];

/** CHROMIUM_PATH when set (and only it), else the Debian locations; null when none exists. */
export function findChromium(): string|null {
  const override = process.env['CHROMIUM_PATH'];
  const candidates = override ? [override] : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find(p => fs.existsSync(p)) ?? null;
}

/** Launches headless Chromium with {@link CHROMIUM_ARGS} (and `--no-sandbox` as root). */
export async function launchChromium(executable = findChromium()): Promise<Browser> {
  if (executable == null) {
    throw new Error('No Chromium found (looked at CHROMIUM_PATH, /usr/bin/chromium, ' +
                    '/usr/bin/chromium-browser); install it with `apt-get install chromium`');
  }
  const runningAsRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({executablePath: executable, headless: true,
                          args: [...CHROMIUM_ARGS, ...(runningAsRoot ? ['--no-sandbox'] : [])]});
}
