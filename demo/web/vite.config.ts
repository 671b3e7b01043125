import { defineConfig } from 'vite';

// Root: demo/web (`vite demo/web`). Relative asset paths so the built page can be served from any folder.
export default defineConfig({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 5000, reportCompressedSize: false },
  logLevel: 'warn',
});
