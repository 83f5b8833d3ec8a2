// Builds the console into dist/web/ at the repository root; the XCS server serves it under /ui/.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // The server's Content-Security-Policy allows no inline code, so nothing may be inlined as a data: script.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    // `npx vite web` during development: the API comes from a running `bin/xcs serve`.
    proxy: { '/xapi': 'http://127.0.0.1:8080', '/data': 'http://127.0.0.1:8080' },
  },
});
