import { expect } from "vitest";

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: string;
}
export interface SeccompRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}
export interface SeccompProfile {
  defaultAction: string;
  syscalls: SeccompRule[];
}

function compare(arg: SeccompArg, actual: number): boolean {
  switch (arg.op) {
    case "SCMP_CMP_MASKED_EQ":
      return (actual & arg.value) === arg.valueTwo;
    case "SCMP_CMP_EQ":
      return actual === arg.value;
    default:
      throw new Error(`unexpected op ${arg.op}`);
  }
}

/** What the profile does to one call: "ALLOW" or "ERRNO n" (only the comparisons the profile uses). */
export function verdictFor(profile: SeccompProfile, name: string, args: number[] = []): string {
  const matching = profile.syscalls.filter(
    (rule) =>
      rule.names.includes(name) && (rule.args ?? []).every((arg) => compare(arg, args[arg.index] ?? 0)),
  );
  expect(matching.length).toBeLessThanOrEqual(1);
  const rule = matching[0];
  if (!rule) return profile.defaultAction === "SCMP_ACT_ALLOW" ? "ALLOW" : profile.defaultAction;
  return rule.action === "SCMP_ACT_ERRNO" ? `ERRNO ${rule.errnoRet}` : rule.action;
}
