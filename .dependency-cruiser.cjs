// The layering rule of docs/architecture.md, checked by `npm run lint` (depcruise src).
// Type-only imports count: an `import type` across a boundary is still a dependency.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-no-layer',
      comment: 'src/domain/ imports nothing outside src/domain/: no other layer (scim, orm, extensions), no composition root (app, roster, ...).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/', dependencyTypes: ['local'] },
    },
    {
      name: 'domain-imports-no-framework',
      comment: 'src/domain/ uses no package (express, scimmy, MikroORM, pg, knex, passport, ...): only node: builtins.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { dependencyTypesNot: ['local', 'core'] },
    },
    {
      name: 'orm-imports-no-scim',
      comment: 'src/orm/ depends on the domain, never on the SCIM layer (or its extensions).',
      severity: 'error',
      from: { path: '^src/orm/' },
      to: { path: '^src/(scim|extensions)/' },
    },
    {
      name: 'scim-imports-no-orm',
      comment: 'src/scim/ depends on the domain, never on the persistence layer.',
      severity: 'error',
      from: { path: '^src/scim/' },
      to: { path: '^src/orm/' },
    },
    {
      name: 'extensions-import-no-orm',
      comment: 'src/extensions/ belongs to the SCIM side: it never imports src/orm/.',
      severity: 'error',
      from: { path: '^src/extensions/' },
      to: { path: '^src/orm/' },
    },
    {
      name: 'schema-imports-only-domain',
      comment: 'src/schema/ (the attribute registry) is read by scim/ and orm/ alike: it imports only the domain, and no package.',
      severity: 'error',
      from: { path: '^src/schema/' },
      to: { pathNot: '^src/(schema|domain)/' },
    },
    {
      name: 'orm-imports-no-events',
      comment: 'src/events/ (signing keys, SETs: jose) sits above the persistence layer: src/orm/ never imports it.',
      severity: 'error',
      from: { path: '^src/orm/' },
      to: { path: '^src/events/' },
    },
    {
      name: 'events-import-no-adapter',
      comment: 'src/events/ depends on the domain (its ports), never on src/orm/ or src/scim/: roster.ts wires the store in.',
      severity: 'error',
      from: { path: '^src/events/' },
      to: { path: '^src/(orm|scim|extensions)/' },
    },
    {
      name: 'requestlog-imports-only-domain',
      comment:
        'src/requestlog/ (the request log writer, redaction) depends on the domain (its ports), never on src/orm/ or src/scim/: roster.ts wires the store in.',
      severity: 'error',
      from: { path: '^src/requestlog/' },
      to: { path: '^src/(orm|scim|extensions|events)/' },
    },
    {
      name: 'orm-imports-no-requestlog',
      comment: 'src/orm/ stores the request log through the domain port; it never imports src/requestlog/.',
      severity: 'error',
      from: { path: '^src/orm/' },
      to: { path: '^src/requestlog/' },
    },
    {
      name: 'console-imports-no-orm',
      comment:
        "src/console/ (the web console's HTTP side) goes through the domain's services and policy like scim/: never src/orm/ or src/events/; app.ts and roster.ts wire the stores in.",
      severity: 'error',
      from: { path: '^src/console/' },
      to: { path: '^src/(orm|events|extensions)/' },
    },
    {
      name: 'console-imports-little-of-scim',
      comment: 'Of the SCIM layer, src/console/ uses only the filter parser (the same filter language) and the rate-limit counters and client address.',
      severity: 'error',
      from: { path: '^src/console/' },
      to: { path: '^src/scim/', pathNot: '^src/scim/(filter/filter-parser|filter/filter-lexer|http/rate-limit)\\.ts$' },
    },
    {
      name: 'domain-and-adapters-import-no-console',
      comment: 'Nothing below the console imports it: the domain, scim/, orm/ and events/ know nothing of src/console/.',
      severity: 'error',
      from: { path: '^src/(domain|scim|orm|events|schema)/' },
      to: { path: '^src/console/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
