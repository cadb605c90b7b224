import type { CodegenConfig } from '@graphql-codegen/cli';

// Operation types come from the committed SDL of the one endpoint, never from a live server,
// so the client is typed against exactly what this commit serves.
const config: CodegenConfig = {
  schema: '../query-service/schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/generated/**'],
  generates: {
    'src/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false },
        nonOptionalTypename: true,
        skipTypeNameForRoot: true,
      },
    },
    // Which concrete types each union stands for, so the cache can match fragments on unions
    // (RoomResult, SendMessageResult, …) without guessing.
    'src/generated/possible-types.ts': { plugins: ['fragment-matcher'], config: { useExplicitTyping: true } },
  },
};

export default config;
