import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The client is served by the query service at the one origin, so every request it makes
// (/graphql over HTTP and graphql-ws, /auth/oidc/*) is same-origin. `npm run dev -w @chat/web`
// proxies those paths to a running `./chat up`.
const endpoint = process.env.CHAT_ENDPOINT ?? 'http://127.0.0.1:4002';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // One view needs all of it (React, Apollo Client, graphql, graphql-ws): about 520 kB,
    // 140 kB gzipped, in one request. Splitting it would add requests and save nothing on the
    // first load, so Vite's 500 kB warning, printed on every ./chat up, is raised past it.
    chunkSizeWarningLimit: 640,
  },
  server: {
    proxy: {
      '/graphql': { target: endpoint, ws: true },
      '/auth': endpoint,
    },
  },
});
