// `npm run lint`: the type check (tsc) and these ESLint rules. Layout is clang-format's job
// (`npm run format`, style in .clang-format); ESLint looks for mistakes:
// - JavaScript's and typescript-eslint's recommended rules;
// - with type information, the promise mistakes that lose errors or leave work running
//   (a floating promise, a promise where a boolean or a callback's result is expected);
// - no test that is skipped, focused or left as a to-do (the project counts none as a pass).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const noParkedTests = ['it', 'test', 'describe'].flatMap(
    object => ['skip', 'only', 'todo'].map(
        property => ({
          object,
          property,
          message:
              `${object}.${property} parks or singles out tests; a test runs, and passes or fails.`,
        })));

export default tseslint.config(
    {ignores: ['dist/**', 'coverage/**', '.tmp/**', 'examples/**/build/**', 'docs/api/**']},
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
      files: ['**/*.ts'],
      languageOptions:
          {parserOptions: {projectService: true, tsconfigRootDir: import.meta.dirname}},
      rules: {
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/no-misused-promises': 'error',
        '@typescript-eslint/await-thenable': 'error',
        // A lazy require of an optional package says why, in an eslint-disable comment.
        '@typescript-eslint/no-require-imports': 'error',
      },
    },
    {
      files: ['test/**/*.ts'],
      rules: {
        'no-restricted-properties': ['error', ...noParkedTests],
        'no-restricted-globals': [
          'error',
          ...['xit', 'xtest', 'xdescribe', 'fit', 'fdescribe'].map(
              name => ({
                name,
                message: `${name} parks or singles out tests; a test runs, and passes or fails.`,
              }))
        ],
      },
    },
    {
      // Node scripts written as CommonJS.
      files: ['**/*.js'],
      languageOptions: {
        sourceType: 'commonjs',
        globals: {
          require: 'readonly',
          module: 'writable',
          __dirname: 'readonly',
          process: 'readonly',
          console: 'readonly'
        },
      },
      rules: {'@typescript-eslint/no-require-imports': 'off'},
    },
);
