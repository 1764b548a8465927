import { Resvg } from "@resvg/resvg-js";
import { type ChartGeometry, lineAt, type Series } from "../../harness/report/chart.js";

/**
 * The chart as pixels: rendered by resvg (a real SVG rasteriser, not our code) so that a test checks
 * what a reader sees. Coordinates in and out are SVG user units; the raster is `scale` times finer.
 */
export interface Raster {
  width: number;
  height: number;
  scale: number;
  rgb(x: number, y: number): [number, number, number];
}

export function rasterize(svg: string, scale = 2): Raster {
  const image = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true },
    logLevel: "off",
  }).render();
  const { width, height, pixels } = image;
  return {
    width,
    height,
    scale,
    rgb(x, y) {
      const px = Math.round(x * scale);
      const py = Math.round(y * scale);
      if (px < 0 || py < 0 || px >= width || py >= height) return [255, 255, 255];
      const i = (py * width + px) * 4;
      return [pixels[i] ?? 0, pixels[i + 1] ?? 0, pixels[i + 2] ?? 0];
    },
  };
}

export function near(rgb: [number, number, number], hex: string, tolerance = 40): boolean {
  const want = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return rgb.every((c, i) => Math.abs(c - (want[i] ?? 0)) <= tolerance);
}

/** SVG y of every raster row in the plot where column x has the colour. */
export function hitsInColumn(raster: Raster, g: ChartGeometry, x: number, hex: string): number[] {
  const out: number[] = [];
  for (let py = Math.ceil(g.plot.top * raster.scale); py <= g.plot.bottom * raster.scale; py++) {
    const y = py / raster.scale;
    if (near(raster.rgb(x, y), hex)) out.push(y);
  }
  return out;
}

/** Every pixel of the colour inside the plot, in SVG units. */
export function hitsInPlot(raster: Raster, g: ChartGeometry, hex: string): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  const s = raster.scale;
  for (let py = Math.ceil(g.plot.top * s); py <= g.plot.bottom * s; py++)
    for (let px = Math.ceil(g.plot.left * s); px <= g.plot.right * s; px++)
      if (near(raster.rgb(px / s, py / s), hex)) out.push({ x: px / s, y: py / s });
  return out;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Where the series' colour is drawn in the column of time t (median y), or undefined if nowhere. */
export function drawnYAt(raster: Raster, g: ChartGeometry, s: Series, t: number): number | undefined {
  return median(hitsInColumn(raster, g, g.x(t), s.colour));
}

/** Where the data says the series is at time t. */
export function expectedYAt(g: ChartGeometry, s: Series, t: number): number {
  return g.y(lineAt(s.points, t));
}

/** Times across a series' sampled span, away from its ends. */
export function timesAcross(s: Series, count: number): number[] {
  const first = s.points[0]?.t ?? 0;
  const last = s.points.at(-1)?.t ?? 0;
  return Array.from({ length: count }, (_, i) => first + ((last - first) * (i + 0.5)) / count);
}
