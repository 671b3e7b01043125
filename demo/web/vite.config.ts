import { defineConfig } from 'vite';

// Root: demo/web (`vite demo/web`). Relative asset paths so the built page can be served from any folder.
// The dev server logs at 'info' so that it prints the address to open; builds only warn.
export default defineConfig(({ command }) => ({
  base: './',
  build: { target: 'es2022', chunkSizeWarningLimit: 5000, reportCompressedSize: false },
  logLevel: command === 'serve' ? 'info' : 'warn',
}));
