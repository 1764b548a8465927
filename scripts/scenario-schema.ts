import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { projectRoot } from "../harness/core/paths.js";
import { scenarioJsonSchema } from "../harness/scenario/json-schema.js";

/** Writes schema/scenario.schema.json from the zod schema (`npm run schema`); a unit test keeps it current. */
export const schemaFile = join(projectRoot, "schema", "scenario.schema.json");

await writeFile(schemaFile, `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
process.stdout.write(`wrote ${schemaFile}\n`);
