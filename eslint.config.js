import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.stack/', 'spark/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // node:test's describe/it register tests; the runner awaits them, so their promises are not dropped.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The traces preload is plain JavaScript (lib/platform/telemetryPreload.mjs says why), outside the TypeScript project.
  { files: ['eslint.config.js', 'lib/platform/telemetryPreload.mjs'], ...tseslint.configs.disableTypeChecked },
);
