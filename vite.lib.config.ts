/**
 * The browser build (`npm run build:browser`): the runtime-neutral core (src/index.ts) as ONE
 * self-contained ES module, dist-browser/webntk.js, with its dependency (ml-matrix) and the WGSL
 * shaders inlined. Load it with
 * `<script type="module">import { kernel } from './webntk.js'</script>` or import it as
 * `webntk/browser`. Nothing from Node may end up in it (test/packaging.test.ts checks).
 *
 * This is not vite.config.ts: that one configures vitest.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  envDir: false,
  publicDir: false,
  logLevel: 'warn',
  // Library mode leaves process.env alone; no dependency may need it in a browser.
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    lib: {
      entry: fileURLToPath(new URL('src/index.ts', import.meta.url)),
      formats: ['es'],
      fileName: () => 'webntk.js',
    },
    outDir: 'dist-browser',
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    sourcemap: true,
    copyPublicDir: false,
    reportCompressedSize: false,
    rolldownOptions: {
      // Everything in one file (no chunks): a page or a CDN imports exactly one module.
      output: { codeSplitting: false },
    },
  },
});
