// ESLint with type-aware typescript-eslint rules; Prettier owns formatting.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // The consumer fixture imports the packed package, which only exists inside the package test.
  { ignores: ["node_modules/", "dist/", "plan/", "test/fixtures/consumer/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // `import x = require()` is how TypeScript imports an `export =` module (the Pulumi program).
      "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
      curly: ["error", "all"],
      eqeqeq: ["error", "always"],
    },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      // chai's property assertions (`.to.be.empty`) are expressions by design.
      "@typescript-eslint/no-unused-expressions": "off",
    },
  },
  {
    files: ["**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
