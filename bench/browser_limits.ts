/**
 * The longest sequence each browser backend handles (forward + backward through the layer,
 * batch 1, one head, 4 features), and what happens beyond. Uses the device's own limits.
 *
 *   npm run bench:limits [-- --backends webgl,webgpu,wasm --lengths 1024,2048,4096,8192]
 */
import {Attempt} from '../test/helpers/browser/pages/limits_page';
import {buildPageModule, callInPage, findChromium, openBrowser} from '../test/helpers/browser/harness';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] != null ? process.argv[at + 1]! : fallback;
}

async function main(): Promise<void> {
  const executable = findChromium();
  if (executable == null) {
    throw new Error('no Chromium found (install it with `apt-get install chromium`)');
  }
  const backends = option('backends', 'webgl,webgpu,wasm').split(',');
  const lengths = option('lengths', '1024,2048,4096,8192').split(',').map(Number);
  const url = await buildPageModule('test/helpers/browser/pages/limits_page.ts', 'limits_page');
  const session = await openBrowser(executable);
  try {
    for (const backend of backends) {
      const page = await session.newPage();
      const info = await callInPage<{backend: string, maxTextureSize: number|null,
                                     maxStorageBufferBindingSize?: number, maxBufferSize?: number}>(
          page, url, 'start', backend, null);
      const tries = [...lengths];
      if (info.maxTextureSize != null) {
        tries.push(info.maxTextureSize, info.maxTextureSize + 1);
      }
      const sorted = [...new Set(tries)].sort((a, b) => a - b);
      console.log(`${info.backend}${info.maxTextureSize != null ?
          ` (WEBGL_MAX_TEXTURE_SIZE ${info.maxTextureSize})` : ''}${
          info.maxStorageBufferBindingSize != null ? ` (maxStorageBufferBindingSize ${
              info.maxStorageBufferBindingSize}, maxBufferSize ${info.maxBufferSize})` : ''}`);
      let longest = 0;
      for (const n of sorted) {
        const r = await callInPage<Attempt>(page, url, 'attempt', 'layer', n, 1, 1);
        console.log(`  n=${n}: ${r.ok ? (r.finite ? 'ok' : 'NON-FINITE') : `error: ${r.error}`} (${r.ms} ms)`);
        if (!r.ok || !r.finite) {
          break;
        }
        longest = n;
      }
      console.log(`  longest handled: ${longest}; page errors: ${page.errors.length ?
          page.errors.slice(0, 3).join(' | ') : 'none'}`);
      await page.close();
    }
  } finally {
    await session.close();
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
