import { describe, expect, it } from "vitest";
import {
  CEILING_COLOUR,
  chartGeometry,
  FORK_MARKER_RADIUS,
  MARKER_FILL,
  REFUSED_COLOUR,
  renderChart,
} from "../../harness/report/chart.js";
import type { RunResult } from "../../harness/run/result.js";
import { seedRun } from "../helpers/fixture.js";
import { drawnYAt, expectedYAt, hitsInPlot, near, rasterize, timesAcross } from "../helpers/raster.js";

const run = seedRun();
const svg = renderChart(run);
const g = chartGeometry(run);
const raster = rasterize(svg);
const [leaky, fixed] = g.series;
if (!leaky || !fixed) throw new Error("the seed fixture has two targets");

describe("the fd chart of the recorded seed run, rasterised by resvg", () => {
  it("gives each target its own colour and scales to the ceiling", () => {
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
    // Rings reach FORK_MARKER_RADIUS + stroke above the line; nothing else may.
    expect(Math.min(...hits.map((h) => h.y))).toBeGreaterThan(g.y(8) - FORK_MARKER_RADIUS - 2);
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

  it("marks every watched failed fork with a ring on its line", () => {
    expect(leaky.forks).toHaveLength(31);
    expect(fixed.forks).toHaveLength(30);
    for (const s of [leaky, fixed]) {
      const ringed = s.forks.filter((f) => {
        const cx = g.x(f.t);
        const cy = g.y(f.fds);
        const hollow = near(raster.rgb(cx, cy), MARKER_FILL, 30);
        const ring = [0, 90, 180, 270].some((deg) => {
          const a = (deg * Math.PI) / 180;
          return near(
            raster.rgb(cx + FORK_MARKER_RADIUS * Math.cos(a), cy + FORK_MARKER_RADIUS * Math.sin(a)),
            s.colour,
            60,
          );
        });
        return hollow && ring;
      });
      expect(ringed.length, s.target).toBe(s.forks.length);
    }
  });

  it("marks the refused fresh client on the 3.2.8 line only", () => {
    expect(leaky.refused).toHaveLength(1);
    expect(fixed.refused).toHaveLength(0);
    const p = leaky.refused[0];
    if (!p) throw new Error("no refused probe");
    expect(near(raster.rgb(g.x(p.t), g.y(p.fds)), REFUSED_COLOUR, 60)).toBe(true);
    expect(svg).toContain("3.2.8: fresh client refused");
  });

  it("the checks above fail on a chart whose 3.2.8 line does not climb", () => {
    const flat: RunResult = structuredClone(run);
    const first = flat.results[0];
    if (!first) throw new Error("no result");
    first.samples = first.samples.map((s) => ({ ...s, total: 8, maxFd: 7 }));
    const fg = chartGeometry(flat);
    const fr = rasterize(renderChart(flat));
    const series = fg.series[0];
    if (!series) throw new Error("no series");
    const top = hitsInPlot(fr, fg, series.colour).reduce((a, b) => (b.y < a.y ? b : a));
    expect(Math.abs(top.y - fg.y(192))).toBeGreaterThan(50);
  });

  it("names every target in the legend and escapes what XML would read", () => {
    expect(svg).toContain("3.2.8 — exhaustion · 31 failed forks · 6 fds per failed fork · 8 → 194 fds");
    expect(svg).toContain("3.2.8+fix-aof-pipe-leak — stable · 30 failed forks · 0 fds per failed fork");
    const odd: RunResult = structuredClone(run);
    if (odd.results[0]) odd.results[0].target = "image:<x>&y";
    const text = renderChart(odd);
    expect(text).toContain("image:&#60;x&#62;&#38;y");
    expect(() => rasterize(text)).not.toThrow();
  });

  it("renders a run without samples (a container that died) with a note, not NaN", () => {
    const empty: RunResult = structuredClone(run);
    for (const r of empty.results) {
      r.samples = [];
      r.probes = [];
    }
    const text = renderChart(empty);
    expect(text).not.toContain("NaN");
    expect(text).toContain("no fd samples were taken");
    expect(() => rasterize(text)).not.toThrow();
  });

  it("a long run's failed forks, too dense for one ring each, get one ring and a count", () => {
    const long: RunResult = structuredClone(run);
    const target = long.results[1];
    if (!target) throw new Error("no result");
    const line = "1:M # Can't rewrite append only file in background: fork: Cannot allocate memory";
    target.events = Array.from({ length: 600 }, (_, i) => ({
      t: 800 + i * 100,
      kind: "fork-failed" as const,
      line,
      errno: "Cannot allocate memory",
    }));
    target.samples = Array.from({ length: 301 }, (_, i) => ({
      ...(target.samples[0] ?? { pipe: 2, socket: 3, file: 2, eventpoll: 1, other: 0 }),
      t: 700 + i * 200,
      total: 8,
      maxFd: 7,
    }));
    target.probes = [{ t: 60_700, ok: true }];
    const lg = chartGeometry(long);
    // On a 60 s axis the 3 s climb of 3.2.8 is squeezed too.
    expect(lg.series.map((s) => s.forkMarks)).toEqual(["first", "first"]);
    const text = renderChart(long);
    expect(text).toContain(
      "3.2.8+fix-aof-pipe-leak — stable · 30 failed forks · 0 fds per failed fork · 8 → 8 fds · ring: the first failed fork",
    );
    const lr = rasterize(text);
    const series = lg.series[1];
    const first = series?.forks[0];
    if (!series || !first) throw new Error("no fork");
    expect(near(lr.rgb(lg.x(first.t), lg.y(first.fds)), MARKER_FILL, 30)).toBe(true);
    // Elsewhere the line shows through: no white band of merged rings.
    const later = lg.x(30_000);
    expect(near(lr.rgb(later, lg.y(8)), series.colour, 40)).toBe(true);
  });

  it("is deterministic: the same result gives the same bytes", () => {
    expect(renderChart(seedRun())).toBe(svg);
  });
});
