// The layers of harness/, lowest first: a module may import its own layer and the ones below, never
// one above, and nothing may import in a circle. `npm run layers` checks it (CI runs it).
const layers = [
  "core",
  "engine",
  "targets",
  "parts",
  "scenario",
  "catalogue",
  "run",
  "campaigns",
  "report",
  "cli",
];

const above = (i) => `^harness/(${layers.slice(i + 1).join("|")})/`;

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A cycle makes the layers meaningless: split the shared part into the lower layer.",
      from: {},
      to: { circular: true },
    },
    ...layers.slice(0, -1).map((layer, i) => ({
      name: `${layer}-imports-up`,
      severity: "error",
      comment: `harness/${layer}/ is below ${layers.slice(i + 1).join(", ")}: it must not import from them.`,
      from: { path: `^harness/${layer}/` },
      to: { path: above(i) },
    })),
    {
      name: "layers-import-the-entry-points",
      severity: "error",
      comment: "index.ts, vitest.ts and cli.ts sit on top: nothing in a layer imports them.",
      from: { path: `^harness/(${layers.join("|")})/` },
      to: { path: "^harness/(index|vitest|cli)\\.ts$" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|node_modules)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
