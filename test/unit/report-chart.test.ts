import { describe, expect, it } from "vitest";
import { FAULT_HEAL, FAULT_START, MARK } from "../../harness/core/history.js";
import {
  CEILING_COLOUR,
  CROSS_COLOUR,
  chartGeometry,
  FAULT_FILL,
  MARKER_FILL,
  RING_RADIUS,
  renderChart,
} from "../../harness/report/chart.js";
import type { RunResult } from "../../harness/run/result.js";
import { loadScenario } from "../../harness/scenario/index.js";
import { decidedRun } from "../helpers/decided.js";
import { drawnYAt, expectedYAt, hitsInPlot, near, rasterize, timesAcross } from "../helpers/raster.js";

/** The recorded seed run decided by its own checker (fd-leak), whose plot is fds.total with the ceiling. */
const seed = await loadScenario("aof-auto-rewrite-enomem");
const run = decidedRun("seed-3.2.8-vs-fix.json", seed.checker);
const svg = renderChart(run) ?? "";
const geometry = chartGeometry(run);
if (!geometry) throw new Error("the fd-leak decisions have a plot");
const g = geometry;
const raster = rasterize(svg);
const [leaky, fixed] = g.series;
if (!leaky || !fixed) throw new Error("the seed fixture has two targets");

describe("the chart of the recorded seed run (the fd-leak decision's plot), rasterised by resvg", () => {
  it("draws what the decision asked for: its series, title, axis and ceiling", () => {
    expect(run.results[0]?.decision.plot).toMatchObject({ series: "fds.total", ceiling: 192 });
    expect(g.title).toBe("open fds of the main node");
    expect(g.axis).toBe("fds");
    expect(svg).toContain(">open fds of the main node</text>");
    expect(g.series.map((s) => s.target)).toEqual(["3.2.8", "3.2.8+fix-aof-pipe-leak"]);
    expect(leaky.colour).not.toBe(fixed.colour);
    expect(g.ceilings).toEqual([192]);
    expect(g.yMax).toBeGreaterThanOrEqual(194);
    expect(g.xMaxMs).toBeGreaterThanOrEqual(3789);
    expect(raster.width).toBe(g.width * 2);
  });

  it("draws the 3.2.8 line where its samples are, climbing across the plot", () => {
    const ys = timesAcross(leaky, 8).map((t) => {
      const drawn = drawnYAt(raster, g, leaky, t);
      expect(drawn, `3.2.8 drawn at ${t} ms`).toBeDefined();
      expect(Math.abs((drawn ?? 0) - expectedYAt(g, leaky, t))).toBeLessThanOrEqual(5);
      return drawn ?? 0;
    });
    // Higher on screen (smaller y) at every later time: a climb, not noise.
    for (let i = 1; i < ys.length; i++) expect(ys[i]).toBeLessThan(ys[i - 1] ?? 0);
  });

  it("the 3.2.8 line reaches the ceiling, late in the run", () => {
    const hits = hitsInPlot(raster, g, leaky.colour);
    const top = hits.reduce((a, b) => (b.y < a.y ? b : a));
    expect(Math.abs(top.y - g.y(192))).toBeLessThanOrEqual(6);
    expect(top.x).toBeGreaterThan(g.x(3_000));
  });

  it("the fix line stays flat at the bottom: nowhere above a few fds", () => {
    for (const t of timesAcross(fixed, 8)) {
      const drawn = drawnYAt(raster, g, fixed, t);
      expect(drawn, `fix drawn at ${t} ms`).toBeDefined();
      expect(Math.abs((drawn ?? 0) - g.y(8))).toBeLessThanOrEqual(4);
    }
    const hits = hitsInPlot(raster, g, fixed.colour);
    expect(hits.length).toBeGreaterThan(500);
    // Rings reach RING_RADIUS + stroke above the line; nothing else may.
    expect(Math.min(...hits.map((h) => h.y))).toBeGreaterThan(g.y(8) - RING_RADIUS - 2);
    expect(g.y(8)).toBeGreaterThan(g.plot.bottom - 20);
  });

  it("draws the ceiling as a dashed line across the plot", () => {
    const y = g.y(192);
    let on = 0;
    let total = 0;
    for (let x = g.plot.left + 180; x < g.plot.right - 10; x += 0.5) {
      total++;
      if ([-1, -0.5, 0, 0.5, 1].some((dy) => near(raster.rgb(x, y + dy), CEILING_COLOUR, 50))) on++;
    }
    expect(on / total).toBeGreaterThan(0.4);
    expect(on / total).toBeLessThan(0.9);
  });

  it("marks every watched attempt with a ring on its line", () => {
    // 3.2.8's 31 failed forks all came before its last sample; the fix's log ran on after it.
    expect(leaky.rings).toHaveLength(31);
    expect(fixed.rings.length).toBeGreaterThanOrEqual(30);
    for (const s of [leaky, fixed]) {
      const ringed = s.rings.filter((f) => {
        const cx = g.x(f.t);
        const cy = g.y(f.v);
        const hollow = near(raster.rgb(cx, cy), MARKER_FILL, 30);
        const ring = [0, 90, 180, 270].some((deg) => {
          const a = (deg * Math.PI) / 180;
          return near(
            raster.rgb(cx + RING_RADIUS * Math.cos(a), cy + RING_RADIUS * Math.sin(a)),
            s.colour,
            60,
          );
        });
        return hollow && ring;
      });
      expect(ringed.length, s.target).toBe(s.rings.length);
    }
  });

  it("draws the decision's mark (the refused client) as a labelled cross on the 3.2.8 line only", () => {
    expect(leaky.crosses).toEqual([{ t: 3489, v: expect.any(Number), label: "client refused" }]);
    expect(fixed.crosses).toHaveLength(0);
    const p = leaky.crosses[0];
    if (!p) throw new Error("no cross");
    expect(near(raster.rgb(g.x(p.t), g.y(p.v)), CROSS_COLOUR, 60)).toBe(true);
    expect(svg).toContain(">3.2.8: client refused</text>");
  });

  it("the checks above fail on a chart whose 3.2.8 line does not climb", () => {
    const flat: RunResult = structuredClone(run);
    const first = flat.results[0];
    if (!first) throw new Error("no result");
    first.history.series["fds.total"] = (first.history.series["fds.total"] ?? []).map((p) => ({
      ...p,
      v: 8,
    }));
    const fg = chartGeometry(flat);
    if (!fg) throw new Error("no chart");
    const fr = rasterize(renderChart(flat) ?? "");
    const series = fg.series[0];
    if (!series) throw new Error("no series");
    const top = hitsInPlot(fr, fg, series.colour).reduce((a, b) => (b.y < a.y ? b : a));
    expect(Math.abs(top.y - fg.y(192))).toBeGreaterThan(50);
  });

  it("names every target in the legend with its label, outcome and summary; escapes what XML would read", () => {
    expect(svg).toContain(
      "3.2.8 — exhaustion (bug) · 6 fd/failed fork, fds 8 → 194 (ceiling 192), 31 failed forks, client refused",
    );
    expect(svg).toContain("3.2.8+fix-aof-pipe-leak — stable (no-bug) · 0 fd/failed fork, fds 8 → 8");
    const odd: RunResult = structuredClone(run);
    if (odd.results[0]) odd.results[0].target = "image:<x>&y";
    const text = renderChart(odd) ?? "";
    expect(text).toContain("image:&#60;x&#62;&#38;y");
    expect(() => rasterize(text)).not.toThrow();
  });

  it("renders a run without readings of the plotted series (a container that died) with a note, not NaN", () => {
    const empty: RunResult = structuredClone(run);
    for (const r of empty.results) r.history.series["fds.total"] = [];
    const text = renderChart(empty) ?? "";
    expect(text).not.toContain("NaN");
    expect(text).toContain("no readings of fds.total were taken");
    expect(() => rasterize(text)).not.toThrow();
  });

  it("a long run's attempts, too dense for one ring each, get one ring", () => {
    const long: RunResult = structuredClone(run);
    const target = long.results[1];
    if (!target) throw new Error("no result");
    const line = "1:M # Can't rewrite append only file in background: fork: Cannot allocate memory";
    target.history.attempts = Array.from({ length: 600 }, (_, i) => ({ t: 800 + i * 100, line }));
    target.history.series["fds.total"] = Array.from({ length: 301 }, (_, i) => ({ t: 700 + i * 200, v: 8 }));
    const lg = chartGeometry(long);
    if (!lg) throw new Error("no chart");
    // On a 60 s axis the 3 s climb of 3.2.8 is squeezed too.
    expect(lg.series.map((s) => s.ringMarks)).toEqual(["first", "first"]);
    const text = renderChart(long) ?? "";
    expect(text).toContain(">attempt (where too dense: the first only)</text>");
    expect(svg).toContain(">attempt</text>");
    const lr = rasterize(text);
    const series = lg.series[1];
    const first = series?.rings[0];
    if (!series || !first) throw new Error("no ring");
    expect(near(lr.rgb(lg.x(first.t), lg.y(first.v)), MARKER_FILL, 30)).toBe(true);
    // Elsewhere the line shows through: no white band of merged rings.
    expect(near(lr.rgb(lg.x(30_000), lg.y(8)), series.colour, 40)).toBe(true);
  });

  it("a flood of attempts (a failed accept logged 100 000 times, seen in a sweep) draws, not overflows the stack", () => {
    const flood: RunResult = structuredClone(run);
    const target = flood.results[0];
    if (!target) throw new Error("no result");
    // Within the watched part of the line (each a ring to place), as the flood was.
    target.history.attempts = Array.from({ length: 500_000 }, (_, i) => ({ t: 800 + i / 500, line: null }));
    const geometry = chartGeometry(flood);
    expect(geometry?.series[0]?.ringMarks).toBe("first");
    expect(renderChart(flood)).toContain("<svg");
  });

  it("is deterministic: the same result gives the same bytes", () => {
    expect(renderChart(decidedRun("seed-3.2.8-vs-fix.json", seed.checker))).toBe(svg);
  });
});

describe("fault windows and marks from the history", () => {
  const marked: RunResult = structuredClone(run);
  const target = marked.results[0];
  if (!target) throw new Error("no result");
  target.history.events.push(
    { t: 1000, node: "main", kind: FAULT_START, name: "pids-limit", line: "pids.max 4" },
    { t: 2000, node: "main", kind: FAULT_HEAL, name: "pids-limit", line: "pids.max 64" },
    { t: 2500, node: "main", kind: MARK, name: "phase", value: "disk full" },
  );
  const mg = chartGeometry(marked);
  if (!mg) throw new Error("no chart");
  const text = renderChart(marked) ?? "";
  const mr = rasterize(text);

  it("shades a fault window from its start to its heal, names it in the key and on the band", () => {
    expect(mg.faultNames).toEqual(["pids-limit"]);
    expect(mg.series[0]?.faults).toEqual([{ name: "pids-limit", start: 1000, heal: 2000 }]);
    expect(text).toContain(">fault: pids-limit</text>");
    // Inside the window, away from the lines and grid: the shade; outside it: the background.
    const y = mg.plot.top + 40;
    expect(near(mr.rgb(mg.x(1500), y), FAULT_FILL, 6)).toBe(true);
    expect(near(mr.rgb(mg.x(2600), y), "#FFFFFF", 6)).toBe(true);
    expect(near(mr.rgb(mg.x(900), y), "#FFFFFF", 6)).toBe(true);
  });

  it("the same fault on two targets, overlapping on the axis, is one band named once", () => {
    const both: RunResult = structuredClone(run);
    for (const [i, r] of both.results.entries())
      r.history.events.push({
        t: 1000 + i * 300,
        node: "main",
        kind: FAULT_START,
        name: "seccomp-enomem",
        line: "on",
      });
    const text = renderChart(both) ?? "";
    expect(text.match(/>seccomp-enomem<\/text>/g)).toHaveLength(1);
    expect(text.match(new RegExp(`fill="${FAULT_FILL}"`, "g"))).toHaveLength(2); // the band and its key
  });

  it("a fault never healed is shaded to the end of the axis", () => {
    const open: RunResult = structuredClone(marked);
    const r = open.results[0];
    if (!r) throw new Error("no result");
    r.history.events = r.history.events.filter((e) => e.kind !== FAULT_HEAL);
    const og = chartGeometry(open);
    if (!og) throw new Error("no chart");
    const or = rasterize(renderChart(open) ?? "");
    expect(near(or.rgb(og.x(og.xMaxMs) - 3, og.plot.top + 40), FAULT_FILL, 6)).toBe(true);
  });

  it("draws a scenario's mark as a labelled tick under the time axis, in the target's colour", () => {
    const [series] = mg.series;
    if (!series) throw new Error("no series");
    expect(series.ticks).toEqual([{ t: 2500, v: 0, label: "phase: disk full" }]);
    expect(text).toContain(">phase: disk full</text>");
    expect(near(mr.rgb(mg.x(2500), mg.plot.bottom + 5), series.colour, 60)).toBe(true);
    expect(near(mr.rgb(mg.x(2500) + 12, mg.plot.bottom + 5), "#FFFFFF", 6)).toBe(true);
  });
});

describe("no plot, no chart", () => {
  it("a run whose decisions have no plot gives no chart and no geometry", () => {
    const bare: RunResult = structuredClone(run);
    for (const r of bare.results) delete r.decision.plot;
    expect(chartGeometry(bare)).toBeUndefined();
    expect(renderChart(bare)).toBeUndefined();
  });

  it("a target whose decision has no plot is left out; the others are drawn", () => {
    const half: RunResult = structuredClone(run);
    const second = half.results[1];
    if (second) delete second.decision.plot;
    expect(chartGeometry(half)?.series.map((s) => s.target)).toEqual(["3.2.8"]);
  });
});
