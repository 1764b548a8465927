import { eventsOf, faultWindows, MARK, seriesOf } from "../core/history.js";
import { maxOf } from "../core/numbers.js";
import { decisionText } from "../core/outcome.js";
import type { RunResult, TargetResult } from "../run/result.js";

/**
 * The report's chart as SVG, drawn here rather than by a charting library: one kind of chart, what
 * the deciding checker asked for in its decision's `plot` (a series over time, the attempts as
 * rings, an optional dashed ceiling, its marks as crosses), with the history's fault windows shaded
 * and the scenario's marks as labelled ticks. It must render the same in a browser, a Markdown
 * viewer and a rasteriser, and its geometry is exported so a test can check the pixels where the
 * data says they are. A run whose decisions have no plot gets no chart.
 */

/** Okabe–Ito: tells lines apart for colour-blind readers too; the first (vermillion) reads as "bad". */
export const SERIES_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"] as const;
export const CEILING_COLOUR = "#444444";
export const CROSS_COLOUR = "#000000";
export const MARKER_FILL = "#FFFFFF";
export const FAULT_FILL = "#E8E8E8";
export const RING_RADIUS = 3.5;

const WIDTH = 820;
/** Characters of a legend line that fit beside its swatch at 12 px (about 6.6 px a character). */
const LEGEND_CHARS = 104;
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
const LEGEND_ROW = 18;

export interface Point {
  t: number;
  v: number;
}

/** A point with words: a decision's mark (a refused client) or a scenario's mark (phase: disk full). */
export interface Labelled extends Point {
  label: string;
}

export interface Series {
  target: string;
  colour: string;
  label: string;
  points: Point[];
  /** The attempts, on the line. */
  rings: Point[];
  /** "each" attempt gets a ring; where rings would overlap (a long run), only the first one does. */
  ringMarks: "each" | "first";
  /** The decision's marks, on the line. */
  crosses: Labelled[];
  /** The scenario's marks (`context.mark`), as ticks on the time axis. */
  ticks: Labelled[];
  /** Fault windows of this target's run, ms (heal null: it lasted to the end). */
  faults: { name: string; start: number; heal: number | null }[];
}

/** Rings closer than this (centre to centre) would merge into a band that hides the line. */
const MIN_RING_SPACING = 2 * RING_RADIUS + 2;

export interface ChartGeometry {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  title: string;
  axis: string;
  xMaxMs: number;
  yMax: number;
  xTicksMs: number[];
  yTicks: number[];
  x(tMs: number): number;
  y(v: number): number;
  series: Series[];
  ceilings: number[];
  /** What the dashed lines are ("ceiling", "baseline + tolerance"): the first plot's word. */
  ceilingLabel: string;
  /** Names of the faults shaded, for the key. */
  faultNames: string[];
}

/** The value at time t on the drawn (linear) line, so markers sit on it. */
export function lineAt(points: readonly Point[], t: number): number {
  const first = points[0];
  if (!first) return 0;
  if (t <= first.t) return first.v;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (!a || !b || t > b.t) continue;
    return b.t === a.t ? b.v : a.v + ((b.v - a.v) * (t - a.t)) / (b.t - a.t);
  }
  return points.at(-1)?.v ?? 0;
}

/** The smallest 1/2/5×10^k step that gives at most `most` intervals up to max. */
function niceStep(max: number, most: number): number {
  const raw = max / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

function ticks(max: number, step: number): number[] {
  const out: number[] = [];
  for (let v = 0; v <= max + step / 1000; v += step) out.push(Math.round(v * 1000) / 1000);
  return out;
}

/** The results whose decision asked for a chart. */
export function plotted(run: RunResult): TargetResult[] {
  return run.results.filter((r) => r.decision.plot !== undefined);
}

/** A mark's words: its name, and its value where it has one. */
function markLabel(name: string | undefined, value: unknown): string {
  const n = name ?? "mark";
  return value === undefined || value === null || value === "" ? n : `${n}: ${String(value)}`;
}

/** The chart's geometry, or undefined when no decision of the run has a plot. */
export function chartGeometry(run: RunResult): ChartGeometry | undefined {
  const results = plotted(run);
  const firstPlot = results[0]?.decision.plot;
  if (!firstPlot) return undefined;
  const series: Omit<Series, "ringMarks">[] = results.map((r, i) => {
    const plot = r.decision.plot ?? firstPlot;
    const points = seriesOf(r.history, plot.series).map((p) => ({ t: p.t, v: p.v }));
    const on = (t: number) => ({ t, v: lineAt(points, t) });
    // The log runs on while the container is torn down: attempts after the last reading were not
    // watched, and drawn at the line's last value they would claim a flat tail nobody measured.
    const watchedUntil = maxOf(
      points.map((p) => p.t),
      0,
    );
    return {
      target: r.target,
      colour: SERIES_COLOURS[i % SERIES_COLOURS.length] ?? "#000000",
      label: `${r.target} — ${decisionText(r.decision)}${r.decision.summary ? ` · ${r.decision.summary}` : ""}`,
      points,
      rings: r.history.attempts.filter((a) => a.t <= watchedUntil).map((a) => on(a.t)),
      crosses: plot.marks.map((m) => ({ ...on(m.t), label: m.label })),
      ticks: eventsOf(r.history, MARK).map((e) => ({ t: e.t, v: 0, label: markLabel(e.name, e.value) })),
      faults: faultWindows(r.history).map(({ name, node, start, heal }) => ({
        name: node === "main" ? name : `${name} on ${node}`,
        start,
        heal,
      })),
    };
  });
  const ceilings = [
    ...new Set(results.flatMap((r) => (r.decision.plot?.ceiling ? [r.decision.plot.ceiling] : []))),
  ].filter((c) => c > 0);
  const times = series.flatMap((s) => [
    ...[...s.points, ...s.rings, ...s.crosses, ...s.ticks].map((p) => p.t),
    ...s.faults.flatMap((f) => [f.start, f.heal ?? 0]),
  ]);
  const maxT = maxOf(times, 1_000);
  const xStep = niceStep(maxT, 8);
  const xMaxMs = Math.ceil(maxT / xStep) * xStep;
  const values = [...ceilings, ...series.flatMap((s) => s.points.map((p) => p.v))];
  // A status read as 0/1 (master_link_status, a fresh client's ok) on its own scale; counts from 10.
  const maxV = values.length > 0 && values.every((v) => v <= 1) ? 1 : maxOf(values, 10);
  const yStep = niceStep(maxV * 1.1, 6);
  const yMax = Math.ceil((maxV * 1.1) / yStep) * yStep;

  const top = 50 + (series.length + 1) * LEGEND_ROW + 14;
  const plotArea = { left: 62, top, right: WIDTH - 24, bottom: top + 300 };
  const x = (t: number) => plotArea.left + (t / xMaxMs) * (plotArea.right - plotArea.left);
  const y = (v: number) => plotArea.bottom - (v / yMax) * (plotArea.bottom - plotArea.top);
  // Typical distance between neighbouring rings: two log lines read in one chunk share a time, and
  // that alone must not turn off the rings of a whole series.
  const spacing = (rings: Point[]) => {
    const gaps = rings
      .slice(1)
      .map((f, i) => Math.hypot(x(f.t) - x(rings[i]?.t ?? 0), y(f.v) - y(rings[i]?.v ?? 0)))
      .sort((a, b) => a - b);
    return gaps[Math.floor(gaps.length / 2)] ?? Number.POSITIVE_INFINITY;
  };
  const hasTicks = series.some((s) => s.ticks.length > 0);
  return {
    width: WIDTH,
    height: plotArea.bottom + 52 + (hasTicks ? 16 : 0),
    plot: plotArea,
    title: firstPlot.title,
    axis: firstPlot.axis,
    xMaxMs,
    yMax,
    xTicksMs: ticks(xMaxMs, xStep),
    yTicks: ticks(yMax, yStep),
    x,
    y,
    series: series.map((s) => ({ ...s, ringMarks: spacing(s.rings) >= MIN_RING_SPACING ? "each" : "first" })),
    ceilings,
    ceilingLabel: results.find((r) => r.decision.plot?.ceiling)?.decision.plot?.ceilingLabel ?? "ceiling",
    faultNames: [...new Set(series.flatMap((s) => s.faults.map((f) => f.name)))],
  };
}

const n = (v: number) => String(Math.round(v * 10) / 10);

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function text(x: number, y: number, content: string, attrs = ""): string {
  return `<text x="${n(x)}" y="${n(y)}"${attrs ? ` ${attrs}` : ""}>${escapeXml(content)}</text>`;
}

function cross(cx: number, cy: number, size: number, colour: string): string {
  const d = `M${n(cx - size)},${n(cy - size)}L${n(cx + size)},${n(cy + size)}M${n(cx - size)},${n(cy + size)}L${n(cx + size)},${n(cy - size)}`;
  return `<path d="${d}" stroke="${colour}" stroke-width="2.5" stroke-linecap="round"/>`;
}

function ring(cx: number, cy: number, colour: string): string {
  return `<circle cx="${n(cx)}" cy="${n(cy)}" r="${RING_RADIUS}" fill="${MARKER_FILL}" stroke="${colour}" stroke-width="1.6"/>`;
}

/**
 * The chart of a run: one line per target whose decision has a plot, its attempts as rings, its
 * marks as crosses, the ceiling dashed, fault windows shaded and the scenario's marks as ticks under
 * the time axis. Undefined when no decision has a plot.
 */
export function renderChart(run: RunResult): string | undefined {
  const g = chartGeometry(run);
  if (!g) return undefined;
  const { plot } = g;
  const faults = [...new Set(run.results.flatMap((r) => r.faults))].join(", ") || "none";
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" font-family="${FONT}" font-size="12" role="img">`,
    `<title>${escapeXml(`${g.title}: ${g.series.map((s) => s.label).join("; ")}`)}</title>`,
    // Opaque: a transparent chart loses its black text on a dark-mode Markdown viewer.
    `<rect width="${g.width}" height="${g.height}" fill="#FFFFFF"/>`,
    text(plot.left, 24, g.title, `font-size="16" font-weight="bold" fill="#222222"`),
    text(plot.left, 42, `scenario ${run.scenario} · fault ${faults} · run ${run.runId}`, `fill="#555555"`),
  );

  // Legend: one row per target, then the keys of what the chart holds.
  g.series.forEach((s, i) => {
    const ly = 62 + i * LEGEND_ROW;
    out.push(
      `<line x1="${plot.left}" y1="${ly - 4}" x2="${plot.left + 26}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="3"/>`,
      text(
        plot.left + 34,
        ly,
        s.label.length > LEGEND_CHARS ? `${s.label.slice(0, LEGEND_CHARS - 1)}…` : s.label,
        `fill="#222222"`,
      ),
    );
  });
  const ky = 62 + g.series.length * LEGEND_ROW;
  let kx = plot.left;
  const key = (mark: string, words: string) => {
    out.push(mark, text(kx + 34, ky, words, `fill="#222222"`));
    kx += 34 + words.length * 6.6 + 18;
  };
  const ringed = g.series.filter((s) => s.rings.length);
  if (ringed.length)
    key(
      ring(kx + 13, ky - 4, "#555555"),
      ringed.every((s) => s.ringMarks === "each") ? "attempt" : "attempt (where too dense: the first only)",
    );
  const crossLabels = [...new Set(g.series.flatMap((s) => s.crosses.map((c) => c.label)))];
  if (crossLabels.length) key(cross(kx + 13, ky - 4, 4, CROSS_COLOUR), crossLabels.join(", "));
  if (g.ceilings.length)
    key(
      `<line x1="${kx}" y1="${ky - 4}" x2="${kx + 26}" y2="${ky - 4}" stroke="${CEILING_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      g.ceilingLabel,
    );
  if (g.faultNames.length)
    key(
      `<rect x="${kx}" y="${ky - 10}" width="26" height="12" fill="${FAULT_FILL}"/>`,
      `fault: ${g.faultNames.join(", ")}`,
    );

  // Fault windows under everything else: each fault's windows over every target, merged where they
  // overlap (each target's run has its own clock, on one axis), and named once per band.
  for (const name of g.faultNames) {
    const windows = g.series
      .flatMap((s) => s.faults.filter((f) => f.name === name))
      .map((f) => ({ start: f.start, end: f.heal ?? g.xMaxMs }))
      .sort((a, b) => a.start - b.start);
    const bands: { start: number; end: number }[] = [];
    for (const w of windows) {
      const last = bands.at(-1);
      if (last && w.start <= last.end) last.end = Math.max(last.end, w.end);
      else bands.push({ ...w });
    }
    for (const b of bands) {
      const [x1, x2] = [g.x(b.start), g.x(b.end)];
      out.push(
        `<rect x="${n(x1)}" y="${plot.top}" width="${n(Math.max(1, x2 - x1))}" height="${plot.bottom - plot.top}" fill="${FAULT_FILL}"/>`,
        text(x1 + 4, plot.top + 14, name, `fill="#555555"`),
      );
    }
  }

  // Grid and axes.
  for (const v of g.yTicks) {
    out.push(
      `<line x1="${plot.left}" y1="${n(g.y(v))}" x2="${plot.right}" y2="${n(g.y(v))}" stroke="#D6D6D6" stroke-opacity="0.6"/>`,
      text(plot.left - 8, g.y(v) + 4, String(v), `text-anchor="end" fill="#555555"`),
    );
  }
  for (const t of g.xTicksMs) {
    out.push(
      `<line x1="${n(g.x(t))}" y1="${plot.top}" x2="${n(g.x(t))}" y2="${plot.bottom}" stroke="#E0E0E0" stroke-opacity="0.6"/>`,
      text(g.x(t), plot.bottom + 18, `${t / 1000}`, `text-anchor="middle" fill="#555555"`),
    );
  }
  const tickRow = g.series.some((s) => s.ticks.length) ? 16 : 0;
  out.push(
    `<line x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}" stroke="#888888"/>`,
    `<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.bottom}" stroke="#888888"/>`,
    text(
      (plot.left + plot.right) / 2,
      plot.bottom + 40 + tickRow,
      "seconds since the target's run started",
      `text-anchor="middle" fill="#333333"`,
    ),
    text(
      0,
      0,
      g.axis,
      `text-anchor="middle" fill="#333333" transform="translate(18 ${n((plot.top + plot.bottom) / 2)}) rotate(-90)"`,
    ),
  );

  for (const c of g.ceilings) {
    out.push(
      `<line x1="${plot.left}" y1="${n(g.y(c))}" x2="${plot.right}" y2="${n(g.y(c))}" stroke="${CEILING_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      // Below the line at the left, where a climbing line has not arrived and no mark is labelled.
      text(plot.left + 6, g.y(c) + 15, `${g.ceilingLabel} ${c}`, `fill="${CEILING_COLOUR}"`),
    );
  }

  // Lines first, then every marker above every line, so no line hides an attempt.
  for (const s of g.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${n(g.x(p.t))},${n(g.y(p.v))}`).join("");
    out.push(
      `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  }
  for (const s of g.series) {
    if (s.points.length === 0) continue;
    const marked = s.ringMarks === "each" ? s.rings : s.rings.slice(0, 1);
    for (const f of marked) out.push(ring(g.x(f.t), g.y(f.v), s.colour));
  }
  for (const s of g.series) {
    if (s.points.length === 0) continue;
    for (const [i, p] of s.crosses.entries()) {
      out.push(cross(g.x(p.t), g.y(p.v), 5, CROSS_COLOUR));
      // The first of each label is named; left of the mark unless that runs off the plot.
      if (s.crosses.findIndex((q) => q.label === p.label) !== i) continue;
      const left = g.x(p.t) - 10 > plot.left + 220;
      out.push(
        text(
          g.x(p.t) + (left ? -10 : 10),
          g.y(p.v) - 12,
          `${s.target}: ${p.label}`,
          `text-anchor="${left ? "end" : "start"}" fill="#000000"`,
        ),
      );
    }
  }
  // The scenario's marks: a tick under the axis in the target's colour, and its words.
  for (const s of g.series) {
    for (const m of s.ticks) {
      const x = g.x(m.t);
      out.push(
        `<line x1="${n(x)}" y1="${plot.bottom}" x2="${n(x)}" y2="${plot.bottom + 8}" stroke="${s.colour}" stroke-width="2"/>`,
        text(x, plot.bottom + 32, m.label, `text-anchor="middle" fill="${s.colour}"`),
      );
    }
  }
  if (g.series.every((s) => s.points.length === 0))
    out.push(
      text(
        (plot.left + plot.right) / 2,
        (plot.top + plot.bottom) / 2,
        `no readings of ${[...new Set(plotted(run).map((r) => r.decision.plot?.series))].join(", ")} were taken`,
        `text-anchor="middle" fill="#555555"`,
      ),
    );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
