import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { errorText, firstIssue, UserError } from "../core/errors.js";
import { harnessVersion } from "../core/version.js";
import { REPORT_FORMAT, Report } from "./model.js";

/** Reads DIR/report.json back; anything a user can get wrong is a one-line UserError. */
export async function readReport(dir: string): Promise<Report> {
  const file = join(dir, "report.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR")
      throw new UserError(
        `no report.json in ${dir}: give the folder that \`redis-repro run --report DIR\` wrote`,
      );
    throw new UserError(`cannot read ${file} (${errorText(error)}): check its permissions`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`${file} is not JSON (${errorText(error)}): write the report again with --report`);
  }
  const format = (data as { format?: unknown } | null)?.format;
  if (typeof format === "string" && format !== REPORT_FORMAT)
    throw new UserError(
      `${file} is a ${format} report; redis-repro ${harnessVersion} reads ${REPORT_FORMAT}: use the redis-repro that wrote it`,
    );
  const parsed = Report.safeParse(data);
  if (!parsed.success) {
    throw new UserError(
      `${file} is not a redis-repro report: ${firstIssue(parsed.error)}; write it again with --report`,
    );
  }
  return parsed.data;
}
