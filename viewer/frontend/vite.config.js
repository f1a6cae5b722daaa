import { defineConfig } from 'vite'

// Built into viewer/static/, which the Starlette viewer serves (unknown paths fall back to index.html).
export default defineConfig({
  base: '/',
  build: {
    outDir: '../static',
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    // `npm run dev` next to a running viewer (ls-serve on :5001).
    proxy: { '/api': 'http://127.0.0.1:5001' },
  },
})
