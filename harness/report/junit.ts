/**
 * JUnit XML, the one writer for every campaign (matrix, sweep): a campaign maps its cells to cases,
 * this counts and escapes. The format is what CI systems read (Jenkins, GitLab, GitHub's reporters):
 * a testsuites root with counts, a testsuite per group, a testcase per cell with at most one of
 * failure / error / skipped, and the cell's details in system-out.
 */
export interface JunitCase {
  classname: string;
  name: string;
  seconds: number;
  result: "passed" | "failure" | "error" | "skipped";
  /** failure/error: what kind (expectation, leak, run). */
  type?: string;
  /** The one line a CI shows for a failure, an error or a skip. */
  message?: string;
  /** A failure's body. */
  detail?: string;
  /** Everything a reader needs to judge the case: figures, reason, rerun command. */
  out: string;
}

export interface JunitSuite {
  name: string;
  /** ISO time the campaign started (written without its fraction and zone, as JUnit wants). */
  timestamp: string;
  cases: JunitCase[];
}

export function xmlText(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function counts(cases: JunitCase[]) {
  const n = (r: JunitCase["result"]) => cases.filter((c) => c.result === r).length;
  return `tests="${cases.length}" failures="${n("failure")}" errors="${n("error")}" skipped="${n("skipped")}"`;
}

function testcase(c: JunitCase): string {
  const message = xmlText(c.message ?? "");
  const type = xmlText(c.type ?? c.result);
  const body =
    c.result === "failure"
      ? `<failure type="${type}" message="${message}">${xmlText(c.detail ?? "")}</failure>`
      : c.result === "error"
        ? `<error type="${type}" message="${message}"/>`
        : c.result === "skipped"
          ? `<skipped message="${message}"/>`
          : "";
  return `    <testcase classname="${xmlText(c.classname)}" name="${xmlText(c.name)}" time="${c.seconds.toFixed(3)}">${body}<system-out>${xmlText(c.out)}</system-out></testcase>`;
}

export function renderJunit(doc: { name: string; seconds: number; suites: JunitSuite[] }): string {
  const all = doc.suites.flatMap((s) => s.cases);
  const suites = doc.suites.map((s) => {
    const time = s.cases.reduce((sum, c) => sum + c.seconds, 0).toFixed(3);
    return [
      `  <testsuite name="${xmlText(s.name)}" ${counts(s.cases)} time="${time}" timestamp="${s.timestamp.slice(0, 19)}">`,
      ...s.cases.map(testcase),
      "  </testsuite>",
    ].join("\n");
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xmlText(doc.name)}" ${counts(all)} time="${doc.seconds.toFixed(3)}">`,
    ...suites,
    "</testsuites>",
    "",
  ].join("\n");
}
