import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The client is served by the query service at the one origin, so every request it makes
// (/graphql over HTTP and graphql-ws, /auth/oidc/*) is same-origin. `npm run dev -w @chat/web`
// proxies those paths to a running `./chat up`.
const endpoint = process.env.CHAT_ENDPOINT ?? 'http://127.0.0.1:4002';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/graphql': { target: endpoint, ws: true },
      '/auth': endpoint,
    },
  },
});
