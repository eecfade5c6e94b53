// Type-aware linting: floating promises and `any` are errors in src/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Client methods that are connection lifecycle or events, not Redis commands. */
const REDIS_LIFECYCLE = new Set([
  'on',
  'once',
  'off',
  'addListener',
  'removeListener',
  'removeAllListeners',
  'connect',
  'disconnect',
  // QUIT at close is bounded by its own timer, then the socket is dropped (redis-backend.ts).
  'quit',
]);

/**
 * Every Redis command goes through the one CommandRunner (src/backends/redis/connection.ts),
 * which gives it a deadline and the offline rules: a call on an ioredis client is only allowed
 * inside a function handed to `runner.run(...)` / `runner.settleBy(...)`, or in connection.ts.
 */
const redisCommandsThroughRunner = {
  meta: {
    type: 'problem',
    docs: { description: 'Redis commands only inside CommandRunner callbacks' },
    messages: {
      raw: 'Redis command "{{name}}" outside the CommandRunner: call it inside runner.run(...) so it settles by a deadline.',
    },
    schema: [],
  },
  create(context) {
    const services = context.sourceCode.parserServices;
    if (services?.program === undefined || services.program === null) return {};
    const isRedisClient = (node) => {
      const type = services.getTypeAtLocation(node);
      const symbol = type.getSymbol() ?? type.aliasSymbol;
      return (
        symbol?.getName() === 'Redis' &&
        (symbol.getDeclarations() ?? []).some((d) =>
          d.getSourceFile().fileName.includes('/ioredis/'),
        )
      );
    };
    const insideRunner = (node) => {
      for (let child = node, parent = node.parent; parent; child = parent, parent = parent.parent) {
        if (
          (child.type === 'ArrowFunctionExpression' || child.type === 'FunctionExpression') &&
          parent.type === 'CallExpression' &&
          parent.arguments.includes(child) &&
          parent.callee.type === 'MemberExpression' &&
          parent.callee.property.type === 'Identifier' &&
          (parent.callee.property.name === 'run' || parent.callee.property.name === 'settleBy')
        )
          return true;
      }
      return false;
    };
    return {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier') return;
        const name = callee.property.name;
        if (REDIS_LIFECYCLE.has(name) || insideRunner(node) || !isRedisClient(callee.object))
          return;
        context.report({ node, messageId: 'raw', data: { name } });
      },
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tmp/**', 'examples/**/*.js', 'test/types/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      // Re-rejecting a caught value must keep it as it is, whatever was thrown.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/backends/redis/connection.ts'],
    plugins: {
      plugboard: { rules: { 'redis-commands-through-runner': redisCommandsThroughRunner } },
    },
    rules: { 'plugboard/redis-commands-through-runner': 'error' },
  },
  {
    files: ['test/**', 'bench/**', 'scripts/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: [
                'describe',
                'it',
                'test',
                'suite',
                'before',
                'after',
                'beforeEach',
                'afterEach',
              ],
            },
          ],
        },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
