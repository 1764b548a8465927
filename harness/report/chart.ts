import { aofView } from "../checkers/aof-dir.js";
import { seriesOf } from "../history.js";
import type { RunResult, TargetResult } from "../result.js";
import { programOf } from "../targets/server.js";

/**
 * The report's charts as SVG, drawn here rather than by a charting library: one kind of chart (a value
 * per target over time, failed forks as rings, crosses for one kind of event, an optional dashed
 * ceiling), it must render the same in a browser, a Markdown viewer and a rasteriser, and its geometry
 * is exported so a test can check the pixels where the data says they are. What is plotted is a
 * metric: the open fds (the seed's resource) or the files in the 7.x AOF directory.
 */

/** Okabe–Ito: tells lines apart for colour-blind readers too; the first (vermillion) reads as "bad". */
export const SERIES_COLOURS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"] as const;
export const CEILING_COLOUR = "#444444";
export const REFUSED_COLOUR = "#000000";
export const MARKER_FILL = "#FFFFFF";
export const FORK_MARKER_RADIUS = 3.5;

const WIDTH = 820;
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";
const LEGEND_ROW = 18;

export interface Point {
  t: number;
  /** The plotted value: open fds, or files in the AOF directory (the name is the first metric's). */
  fds: number;
}

/** What a chart plots and how its parts are named. */
export interface ChartMetric {
  title: string;
  axis: string;
  points(r: TargetResult): Point[];
  label(r: TargetResult): string;
  /** Times drawn as rings, and their name in the key: failed forks, or the scenario's attempts. */
  rings(r: TargetResult): number[];
  ringKey: string;
  /** Times of the events drawn as crosses, with the words for them ("": no crosses). */
  crosses(r: TargetResult): number[];
  crossKey: string;
  crossLabel: string;
  /** The dashed line: the event loop's size for fds, none for files. */
  ceilings(r: TargetResult): number[];
  ceilingKey: string | null;
  empty: string;
}

export interface Series {
  target: string;
  colour: string;
  label: string;
  points: Point[];
  forks: Point[];
  /** "each" failed fork gets a ring; where rings would overlap (a long run), only the first one does. */
  forkMarks: "each" | "first";
  refused: Point[];
}

/** Rings closer than this (centre to centre) would merge into a band that hides the line. */
const MIN_RING_SPACING = 2 * FORK_MARKER_RADIUS + 2;

export interface ChartGeometry {
  width: number;
  height: number;
  plot: { left: number; top: number; right: number; bottom: number };
  xMaxMs: number;
  yMax: number;
  xTicksMs: number[];
  yTicks: number[];
  x(tMs: number): number;
  y(fds: number): number;
  series: Series[];
  ceilings: number[];
}

/** fd count at time t on the drawn (linear) line, so markers sit on it. */
export function fdsAt(points: Point[], t: number): number {
  const first = points[0];
  if (!first) return 0;
  if (t <= first.t) return first.fds;
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (!a || !b || t > b.t) continue;
    return b.t === a.t ? b.fds : a.fds + ((b.fds - a.fds) * (t - a.t)) / (b.t - a.t);
  }
  return points.at(-1)?.fds ?? 0;
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

function seriesLabel(r: TargetResult): string {
  const e = r.decision.evidence;
  const parts = [`${r.target} — ${r.decision.verdict}`, `${e.attempts} failed forks`];
  if (e.fdsPerAttempt !== null) parts.push(`${e.fdsPerAttempt} fds per failed fork`);
  if (e.baseline !== null && e.peak !== null) parts.push(`${e.baseline} → ${e.peak} fds`);
  return parts.join(" · ");
}

export const FD_METRIC: ChartMetric = {
  title: "Open fds of redis-server over time",
  axis: "open fds",
  points: (r) => r.samples.map((s) => ({ t: s.t, fds: s.total })),
  label: seriesLabel,
  rings: (r) => r.events.filter((e) => e.kind === "fork-failed").map((e) => e.t),
  ringKey: "failed fork",
  crosses: (r) => r.probes.filter((p) => !p.ok).map((p) => p.t),
  crossKey: "fresh client refused",
  crossLabel: "fresh client refused",
  ceilings: (r) => [r.decision.evidence.ceiling],
  ceilingKey: "event loop ceiling",
  empty: "no fd samples were taken",
};

/** Any probe series over time (NAME.FIELD, see history.ts): no crosses, no ceiling. */
export function seriesMetric(series: string, title = `${series} over time`): ChartMetric {
  return {
    title,
    axis: series,
    points: (r) => seriesOf(r, series).map((p) => ({ t: p.t, fds: p.v })),
    label: (r) => `${r.target} — ${r.decision.verdict} · ${r.decision.evidence.attempts} attempts`,
    rings: (r) => r.attempts.map((a) => a.t),
    ringKey: "attempt",
    crosses: () => [],
    crossKey: "",
    crossLabel: "",
    ceilings: () => [],
    ceilingKey: null,
    empty: `no samples of ${series} were taken`,
  };
}

function aofLabel(r: TargetResult): string {
  const a = aofView(r.decision.evidence);
  const parts = [`${r.target} — ${r.decision.verdict}`, `${r.decision.evidence.attempts} failed forks`];
  if (a?.files?.before != null && a.files.after != null)
    parts.push(`${a.files.before} → ${a.files.after} files`);
  parts.push(a?.limiter.line ? "limiter engaged" : "no limiter line");
  return parts.join(" · ");
}

/**
 * The aof-dir probe's file count (base, incr, manifest in appendonlydir/); crosses: the limiter's
 * "triggered the limit" line.
 */
export function aofFilesMetric(series = "aofdir.files"): ChartMetric {
  return {
    ...seriesMetric(series, "Files in the AOF directory over time"),
    axis: "files in appendonlydir/",
    label: aofLabel,
    crosses: (r) => r.events.filter((e) => e.kind === "rewrite-limited").map((e) => e.t),
    crossKey: "rewrite limiter engaged",
    crossLabel: "limiter engaged",
    empty: "no AOF directory samples were taken",
  };
}

export const AOF_FILES_METRIC: ChartMetric = aofFilesMetric();

export function chartGeometry(run: RunResult, metric: ChartMetric = FD_METRIC): ChartGeometry {
  const series: Omit<Series, "forkMarks">[] = run.results.map((r, i) => {
    const points = metric.points(r);
    const at = (t: number) => ({ t, fds: fdsAt(points, t) });
    // The log runs on while the container is torn down: forks after the last sample or probe were
    // not watched, and drawn at the line's last value they would claim a flat tail nobody measured.
    const watchedUntil = Math.max(0, ...points.map((p) => p.t), ...r.probes.map((p) => p.t));
    return {
      target: r.target,
      colour: SERIES_COLOURS[i % SERIES_COLOURS.length] ?? "#000000",
      label: metric.label(r),
      points,
      forks: metric
        .rings(r)
        .filter((t) => t <= watchedUntil)
        .map(at),
      refused: metric.crosses(r).map(at),
    };
  });
  const ceilings = [...new Set(run.results.flatMap(metric.ceilings).filter((c) => c > 0))];
  const times = series.flatMap((s) => [...s.points, ...s.forks, ...s.refused].map((p) => p.t));
  const maxT = Math.max(1_000, ...times);
  const xStep = niceStep(maxT, 8);
  const xMaxMs = Math.ceil(maxT / xStep) * xStep;
  const maxFds = Math.max(10, ...ceilings, ...series.flatMap((s) => s.points.map((p) => p.fds)));
  const yStep = niceStep(maxFds * 1.1, 6);
  const yMax = Math.ceil((maxFds * 1.1) / yStep) * yStep;

  const top = 50 + (series.length + 1) * LEGEND_ROW + 14;
  const plot = { left: 62, top, right: WIDTH - 24, bottom: top + 300 };
  const x = (t: number) => plot.left + (t / xMaxMs) * (plot.right - plot.left);
  const y = (fds: number) => plot.bottom - (fds / yMax) * (plot.bottom - plot.top);
  // Typical distance between neighbouring rings: two log lines read in one chunk share a time, and
  // that alone must not turn off the rings of a whole series.
  const spacing = (forks: Point[]) => {
    const gaps = forks
      .slice(1)
      .map((f, i) => Math.hypot(x(f.t) - x(forks[i]?.t ?? 0), y(f.fds) - y(forks[i]?.fds ?? 0)))
      .sort((a, b) => a - b);
    return gaps[Math.floor(gaps.length / 2)] ?? Number.POSITIVE_INFINITY;
  };
  return {
    width: WIDTH,
    height: plot.bottom + 52,
    plot,
    xMaxMs,
    yMax,
    xTicksMs: ticks(xMaxMs, xStep),
    yTicks: ticks(yMax, yStep),
    x,
    y,
    series: series.map((s) => {
      const each = spacing(s.forks) >= MIN_RING_SPACING;
      return {
        ...s,
        label: each || s.forks.length === 0 ? s.label : `${s.label} · ring: the first ${metric.ringKey}`,
        forkMarks: each ? "each" : "first",
      };
    }),
    ceilings,
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

function forkMarker(cx: number, cy: number, colour: string): string {
  return `<circle cx="${n(cx)}" cy="${n(cy)}" r="${FORK_MARKER_RADIUS}" fill="${MARKER_FILL}" stroke="${colour}" stroke-width="1.6"/>`;
}

/** A metric over time: one line per target, the ceiling dashed, failed forks as rings. */
export function renderChart(run: RunResult, metric: ChartMetric = FD_METRIC): string {
  const g = chartGeometry(run, metric);
  const { plot } = g;
  const faults = [...new Set(run.results.map((r) => r.fault))].join(", ");
  // The fd chart names the program that ran (valkey-server for Valkey, "the server" when mixed).
  const title =
    metric === FD_METRIC
      ? metric.title.replace("redis-server", programOf(run.results.map((r) => r.server)))
      : metric.title;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" font-family="${FONT}" font-size="12" role="img">`,
    `<title>${escapeXml(`${title}: ${g.series.map((s) => s.label).join("; ")}`)}</title>`,
    // Opaque: a transparent chart loses its black text on a dark-mode Markdown viewer.
    `<rect width="${g.width}" height="${g.height}" fill="#FFFFFF"/>`,
    text(plot.left, 24, title, `font-size="16" font-weight="bold" fill="#222222"`),
    text(plot.left, 42, `scenario ${run.scenario} · fault ${faults} · run ${run.runId}`, `fill="#555555"`),
  );

  // Legend: one row per target, then the marker keys.
  g.series.forEach((s, i) => {
    const ly = 62 + i * LEGEND_ROW;
    out.push(
      `<line x1="${plot.left}" y1="${ly - 4}" x2="${plot.left + 26}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="3"/>`,
      text(plot.left + 34, ly, s.label, `fill="#222222"`),
    );
  });
  const ky = 62 + g.series.length * LEGEND_ROW;
  out.push(
    forkMarker(plot.left + 13, ky - 4, "#555555"),
    text(plot.left + 34, ky, metric.ringKey, `fill="#222222"`),
  );
  if (metric.crossKey)
    out.push(
      cross(plot.left + 133, ky - 4, 4, REFUSED_COLOUR),
      text(plot.left + 144, ky, metric.crossKey, `fill="#222222"`),
    );
  if (metric.ceilingKey)
    out.push(
      `<line x1="${plot.left + 290}" y1="${ky - 4}" x2="${plot.left + 316}" y2="${ky - 4}" stroke="${CEILING_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      text(plot.left + 324, ky, metric.ceilingKey, `fill="#222222"`),
    );

  // Grid and axes.
  for (const v of g.yTicks) {
    out.push(
      `<line x1="${plot.left}" y1="${n(g.y(v))}" x2="${plot.right}" y2="${n(g.y(v))}" stroke="#E6E6E6"/>`,
      text(plot.left - 8, g.y(v) + 4, String(v), `text-anchor="end" fill="#555555"`),
    );
  }
  for (const t of g.xTicksMs) {
    out.push(
      `<line x1="${n(g.x(t))}" y1="${plot.top}" x2="${n(g.x(t))}" y2="${plot.bottom}" stroke="#F0F0F0"/>`,
      text(g.x(t), plot.bottom + 18, `${t / 1000}`, `text-anchor="middle" fill="#555555"`),
    );
  }
  out.push(
    `<line x1="${plot.left}" y1="${plot.bottom}" x2="${plot.right}" y2="${plot.bottom}" stroke="#888888"/>`,
    `<line x1="${plot.left}" y1="${plot.top}" x2="${plot.left}" y2="${plot.bottom}" stroke="#888888"/>`,
    text(
      (plot.left + plot.right) / 2,
      plot.bottom + 40,
      "seconds since the target's run started",
      `text-anchor="middle" fill="#333333"`,
    ),
    text(
      0,
      0,
      metric.axis,
      `text-anchor="middle" fill="#333333" transform="translate(18 ${n((plot.top + plot.bottom) / 2)}) rotate(-90)"`,
    ),
  );

  for (const c of g.ceilings) {
    out.push(
      `<line x1="${plot.left}" y1="${n(g.y(c))}" x2="${plot.right}" y2="${n(g.y(c))}" stroke="${CEILING_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      // Below the line at the left, where a climbing line has not arrived and no refusal is labelled.
      text(plot.left + 6, g.y(c) + 15, `event loop ceiling ${c}`, `fill="${CEILING_COLOUR}"`),
    );
  }

  // Lines first, then every marker above every line, so no line hides a failed fork.
  for (const s of g.series) {
    if (s.points.length === 0) continue;
    const d = s.points.map((p, i) => `${i ? "L" : "M"}${n(g.x(p.t))},${n(g.y(p.fds))}`).join("");
    out.push(
      `<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round"/>`,
    );
  }
  for (const s of g.series) {
    if (s.points.length === 0) continue;
    const marked = s.forkMarks === "each" ? s.forks : s.forks.slice(0, 1);
    for (const f of marked) out.push(forkMarker(g.x(f.t), g.y(f.fds), s.colour));
  }
  for (const s of g.series) {
    const first = s.refused[0];
    if (!first || s.points.length === 0) continue;
    for (const p of s.refused) out.push(cross(g.x(p.t), g.y(p.fds), 5, REFUSED_COLOUR));
    // Left of the mark unless that runs off the plot (a refusal early in the run).
    const left = g.x(first.t) - 10 > plot.left + 220;
    out.push(
      text(
        g.x(first.t) + (left ? -10 : 10),
        g.y(first.fds) - 12,
        `${s.target}: ${metric.crossLabel}`,
        `text-anchor="${left ? "end" : "start"}" fill="#000000"`,
      ),
    );
  }
  if (g.series.every((s) => s.points.length === 0))
    out.push(
      text(
        (plot.left + plot.right) / 2,
        (plot.top + plot.bottom) / 2,
        metric.empty,
        `text-anchor="middle" fill="#555555"`,
      ),
    );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
