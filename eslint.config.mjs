// ESLint flat config: typescript-eslint's recommended rules, without type information
// (no parserOptions.project), so a full run stays fast. The layering rule lives in
// .dependency-cruiser.cjs; `npm run lint` runs both.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'bench/.build/**'],
  },
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts', 'migrations/**/*.ts', 'console/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    rules: {
      // A leading underscore marks a parameter or binding that is unused on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Small rooms (#12): no source file over 400 lines, no function over 80 (the console's pages too).
    files: ['src/**/*.ts', 'console/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80 }],
    },
  },
  {
    // Tests build hostile input on purpose (control characters) and may load a module lazily.
    files: ['test/**/*.ts'],
    rules: {
      'no-control-regex': 'off',
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
