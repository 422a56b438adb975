/**
 * The demo app (issue #7): `npm run demo` serves demo/ with vite's dev server, `npm run build:demo`
 * writes a static site to demo/dist. The app imports the library from ../src directly (the same code
 * as `webntk`), bundled with vega and vega-lite; the Fashion-MNIST slice ships as an asset, so the
 * built site loads nothing from the network. (The top-level vite.config.ts configures vitest.)
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  // Relative asset URLs: demo/dist works from any folder or static host.
  base: './',
  envDir: false,
  publicDir: false,
  logLevel: 'warn',
  server: { host: '127.0.0.1', fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
    // vega is large; one chunk is fine for an app that needs it on the first paint.
    chunkSizeWarningLimit: 4096,
  },
});
