import { defineConfig } from "vitest/config";
import preact from "@preact/preset-vite";

// `npm run dev` proxies the API and the hub to a local `chronicle serve` on :8000.
const api = "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  plugins: [preact()],
  build: {
    outDir: "../app/dashboard_assets",
    emptyOutDir: true,
    assetsDir: "assets",
  },
  server: {
    proxy: {
      "/chronicles": api,
      "/events": api,
      "/health": api,
      "/me": api,
      "/principals": api,
      "/ws": { target: api.replace("http", "ws"), ws: true },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
