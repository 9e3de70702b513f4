import { defineConfig } from 'vite';

// The console builds to static files the api serves (apps/api/src/console). Everything it loads is a
// file under /assets: the api's CSP allows no inline script or style, and no data: fonts.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // React's JSX without @vitejs/plugin-react: production builds need no Babel or fast refresh.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../../dist/apps/web',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
    rolldownOptions: {
      onwarn(warning, warn) {
        // TanStack Query marks its modules "use client" for React Server Components; a SPA has none.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:21114', ws: true } } },
});
