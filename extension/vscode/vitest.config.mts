import { defineConfig } from "vitest/config";

// Unit tests of the extension's pure parts (no VS Code needed); e2e/ runs in real VS Code.
export default defineConfig({
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
