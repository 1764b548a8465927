/** Progress goes to stderr so that `--json` output on stdout stays pure. */
let quiet = false;

export function setQuiet(value: boolean): void {
  quiet = value;
}

export function progress(line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}
