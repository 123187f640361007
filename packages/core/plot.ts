/**
 * Line plots as PNG bytes, with axes, tick labels, a legend and a title, in
 * the built-in bitmap font: loss curves straight from `metrics.jsonl`
 * records, and any other curves. Nothing is printed or written; the caller
 * saves the bytes.
 *
 * @example A loss curve from training-loop records
 * ```ts
 * import { lossPlot } from "@simple-nets/core/plot";
 *
 * const records = [
 *   { step: 10, epoch: 0, kind: "train", loss: 2.1 },
 *   { step: 20, epoch: 0, kind: "train", loss: 1.4 },
 *   { step: 20, epoch: 0, kind: "eval", loss: 1.6 },
 * ];
 * const png = await lossPlot(records, { title: "training" });
 * // await Deno.writeFile("loss.png", png);
 * ```
 *
 * @module
 */
import { createRaster, drawText, encodePng, fillRect, type Raster, type Rgb, textSize } from "./images.ts";

/** One curve of a {@linkcode linePlot}. */
export interface LineSeries {
  /** The name in the legend. */
  name: string;
  /** The x values, one per point. */
  x: ArrayLike<number>;
  /** The y values, one per point; NaN and infinite values leave a gap. */
  y: ArrayLike<number>;
  /** Line colour.
   * @default {the next colour of a ten-colour palette (matplotlib's "tab10")} */
  color?: Rgb;
  /** Draw a dashed line.
   * @default {false} */
  dashed?: boolean;
  /** Mark each point with a small square.
   * @default {true when the series has at most 60 points} */
  markers?: boolean;
  /** Line thickness in pixels, 1 to 3.
   * @default {2, or 1 for a series of more than 500 points (noisy curves read better thin)} */
  thickness?: number;
}

/** Options of {@linkcode linePlot}. */
export interface LinePlotOptions {
  /** Text above the plot. */
  title?: string;
  /** Text under the x axis. */
  xLabel?: string;
  /** Text above the y axis. */
  yLabel?: string;
  /** Width of the PNG in pixels (at least 160).
   * @default {640} */
  width?: number;
  /** Height of the PNG in pixels (at least 120).
   * @default {400} */
  height?: number;
  /** Logarithmic y axis; values that are 0 or below are left out.
   * @default {false} */
  logY?: boolean;
  /** Fixed y axis limits, such as `[-1, 1]` for correlations; points
   * outside are clipped at the frame.
   * @default {the data's range with a 5% margin} */
  yRange?: readonly [number, number];
  /** Fixed x axis limits.
   * @default {the data's range with a 2% margin (5% with `xTickLabels`)} */
  xRange?: readonly [number, number];
  /** Text ticks instead of numbers: label `i` is drawn at `x = i`, for
   * curves over named steps such as `["none", "logits", "conv2", "conv1"]`. */
  xTickLabels?: readonly string[];
}

/** Options of {@linkcode lossPlot}: those of {@linkcode linePlot} and which series to draw. */
export interface LossPlotOptions extends Omit<LinePlotOptions, "xTickLabels"> {
  /** The numeric fields to draw.
   * @default {every numeric field except the x field, `step` and `epoch`} */
  keys?: readonly string[];
  /** The record kinds (`kind` field) to draw, such as `["train", "eval"]`.
   * @default {every kind present} */
  kinds?: readonly string[];
  /** The field giving x; records without it use their position in the list.
   * @default {"step"} */
  x?: string;
}

const PALETTE: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
  [227, 119, 194],
  [127, 127, 127],
  [188, 189, 34],
  [23, 190, 207],
];
const TEXT: Rgb = [20, 20, 20];
const AXIS: Rgb = [110, 110, 110];
const GRID: Rgb = [232, 232, 232];
const ZERO: Rgb = [180, 180, 180];

/**
 * Plots loss curves from training-loop records (the lines of
 * `metrics.jsonl`): x is the `step` field, and each numeric field of each
 * record kind becomes one line. Series of kind "train" (or of records
 * without a kind) are named after their field ("loss"); those of other
 * kinds get the kind in front ("eval loss", "epoch loss"). A field has the
 * same colour in every kind: train solid, eval dashed with markers, epoch a
 * darker shade with markers. Robust to NaN (gaps), single points, constant
 * and negative series and many thousands of records; with no data it draws
 * empty axes saying so.
 *
 * @param records The records, in the order written.
 * @param options Which series, axes, title, size.
 * @returns The PNG file's bytes.
 * @throws {RangeError} When a key in `keys` is numeric in no record, or an
 *   option is out of range.
 *
 * @example GAN losses on a log scale, eval records left out
 * ```ts
 * import { lossPlot } from "@simple-nets/core/plot";
 * const records = Array.from({ length: 100 }, (_, i) => ({
 *   step: i * 10, kind: "train", dLoss: 1.3 + Math.sin(i) / 10, gLoss: 0.8 + i / 100,
 * }));
 * const png = await lossPlot(records, { kinds: ["train"], logY: true, title: "GAN" });
 * ```
 */
export async function lossPlot(
  records: readonly Record<string, number | string>[],
  options: LossPlotOptions = {},
): Promise<Uint8Array> {
  const { keys, kinds, x: xField = "step", ...plotOptions } = options;
  const skip = new Set([xField, "step", "epoch", "kind"]);
  const keyOrder: string[] = [];
  const groups = new Map<string, { kind: string; key: string; x: number[]; y: number[] }>();
  records.forEach((record, index) => {
    const kind = typeof record.kind === "string" ? record.kind : "";
    if (kinds && !kinds.includes(kind)) return;
    const xv = typeof record[xField] === "number" ? record[xField] as number : index;
    for (const [key, value] of Object.entries(record)) {
      if (typeof value !== "number" || (keys ? !keys.includes(key) : skip.has(key))) continue;
      if (!keyOrder.includes(key)) keyOrder.push(key);
      const id = `${kind}\u0000${key}`;
      let group = groups.get(id);
      if (!group) groups.set(id, group = { kind, key, x: [], y: [] });
      group.x.push(xv);
      group.y.push(value);
    }
  });
  for (const key of keys ?? []) {
    if (!keyOrder.includes(key)) {
      const numeric = new Set(records.flatMap((r) => Object.keys(r).filter((k) => typeof r[k] === "number")));
      throw new RangeError(
        `lossPlot: key "${key}" is numeric in no record${kinds ? ` of kinds ${kinds.join(", ")}` : ""}; ` +
          `numeric fields are: ${[...numeric].join(", ") || "none"}`,
      );
    }
  }
  const kindRank = (kind: string) => kind === "" || kind === "train" ? 0 : kind === "epoch" ? 1 : 2;
  const series = [...groups.values()]
    .sort((a, b) => keyOrder.indexOf(a.key) - keyOrder.indexOf(b.key) || kindRank(a.kind) - kindRank(b.kind))
    .map((g): LineSeries => {
      const base = PALETTE[keyOrder.indexOf(g.key) % PALETTE.length];
      const order = g.x.map((_, i) => i).sort((i, j) => g.x[i] - g.x[j]);
      const line: LineSeries = {
        name: g.kind === "" || g.kind === "train" ? g.key : `${g.kind} ${g.key}`,
        x: order.map((i) => g.x[i]),
        y: order.map((i) => g.y[i]),
        color: base,
      };
      if (g.kind === "epoch") {
        line.color = [Math.round(base[0] * 0.6), Math.round(base[1] * 0.6), Math.round(base[2] * 0.6)];
        line.markers = true;
      } else if (g.kind !== "" && g.kind !== "train") {
        line.dashed = true;
        line.markers = true;
      }
      return line;
    });
  return await linePlot(series, { xLabel: xField, ...plotOptions });
}

/**
 * Plots curves as lines on shared axes, with tick labels, a legend and a
 * title. NaN and infinite values leave gaps; a lone point is drawn as a
 * marker; a constant series gets a y range around its value.
 *
 * @param series The curves; their x values need not be sorted or shared.
 * @param options Axes, labels, size.
 * @returns The PNG file's bytes.
 * @throws {RangeError} When a series has unequal numbers of x and y values,
 *   or an option is out of range.
 *
 * @example Correlation after each randomisation step, with named steps
 * ```ts
 * import { linePlot } from "@simple-nets/core/plot";
 * const png = await linePlot([
 *   { name: "vanilla", x: [0, 1, 2, 3], y: [1, 0.2, 0.1, 0.05] },
 *   { name: "SmoothGrad", x: [0, 1, 2, 3], y: [1, 0.4, 0.2, 0.1] },
 * ], {
 *   title: "Spearman rank correlation",
 *   xTickLabels: ["none", "output", "conv2", "conv1"],
 *   yRange: [-1, 1],
 * });
 * ```
 */
export async function linePlot(
  series: readonly LineSeries[],
  options: LinePlotOptions = {},
): Promise<Uint8Array> {
  const { width = 640, height = 400, logY = false, xTickLabels } = options;
  if (!Number.isInteger(width) || width < 160) {
    throw new RangeError(`linePlot: width is ${width}, expected an integer of at least 160`);
  }
  if (!Number.isInteger(height) || height < 120) {
    throw new RangeError(`linePlot: height is ${height}, expected an integer of at least 120`);
  }
  for (const s of series) {
    if (s.x.length !== s.y.length) {
      throw new RangeError(
        `linePlot: series "${s.name}" has ${s.x.length} x values and ${s.y.length} y values, expected as many of each`,
      );
    }
  }
  for (const [name, range] of [["xRange", options.xRange], ["yRange", options.yRange]] as const) {
    if (range && !(Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1])) {
      throw new RangeError(`linePlot: ${name} is [${range}], expected finite [lo, hi] with lo < hi`);
    }
  }
  if (logY && options.yRange && options.yRange[0] <= 0) {
    throw new RangeError(`linePlot: yRange is [${options.yRange}] with logY, expected lo > 0`);
  }

  // Data ranges over the points that can be drawn.
  const usable = (x: number, y: number) => Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0);
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      if (!usable(s.x[i], s.y[i])) continue;
      xlo = Math.min(xlo, s.x[i]), xhi = Math.max(xhi, s.x[i]);
      ylo = Math.min(ylo, s.y[i]), yhi = Math.max(yhi, s.y[i]);
    }
  }
  const empty = xlo > xhi;
  if (xTickLabels && xTickLabels.length > 0) {
    xlo = Math.min(xlo, 0), xhi = Math.max(xhi, xTickLabels.length - 1);
  }
  if (empty && !xTickLabels?.length) xlo = 0, xhi = 1;
  if (empty) [ylo, yhi] = logY ? [1, 10] : [0, 1];
  [xlo, xhi] = options.xRange ?? widen(xlo, xhi, false, xTickLabels?.length ? 0.05 : 0.02);
  const t = logY ? Math.log10 : (v: number) => v;
  const [tylo, tyhi] = options.yRange
    ? [t(options.yRange[0]), t(options.yRange[1])]
    : widen(t(ylo), t(yhi), logY, 0.05);

  // Ticks, then the margins they need.
  const yTicks = logY ? logTicks(tylo, tyhi) : linearTicks(tylo, tyhi, Math.max(4, Math.floor(height / 50)));
  const xTicks = xTickLabels?.length
    ? xTickLabels.map((label, i) => ({ value: i, label })).filter((tk) => tk.value >= xlo && tk.value <= xhi)
    : linearTicks(xlo, xhi, Math.max(3, Math.floor(width / 100)));
  const titleScale = 2;
  const [, titleH] = textSize(options.title ?? "", titleScale);
  const named = series.filter((s) => s.name !== "");
  const legendW = named.length > 0 ? 30 + Math.max(...named.map((s) => textSize(s.name)[0])) + 12 : 8;
  const yTickW = Math.max(...yTicks.map((tk) => textSize(tk.label)[0]));
  const left = 10 + yTickW + 6;
  const top = 10 + (titleH > 0 ? titleH + 8 : 0) + (options.yLabel ? 13 : 0);
  const right = width - legendW - 10;
  const xTickRows = staggerRows(xTicks, xlo, xhi, left, right);
  const bottom = height - (6 + 8 + (xTickRows > 1 ? 10 : 0) + (options.xLabel ? 14 : 0) + 8);
  if (right - left < 40 || bottom - top < 30) {
    throw new RangeError(`linePlot: ${width}×${height} pixels leave no room for the plot; make it larger`);
  }

  const px = (v: number) => left + (v - xlo) / (xhi - xlo) * (right - left);
  const py = (v: number) => bottom - (t(v) - tylo) / (tyhi - tylo) * (bottom - top);
  const raster = createRaster(width, height);

  // Grid, zero line, frame, ticks and their labels.
  for (const tk of yTicks) {
    const y = Math.round(bottom - (tk.value - tylo) / (tyhi - tylo) * (bottom - top));
    fillRect(raster, left, y, right - left, 1, GRID);
    fillRect(raster, left - 4, y, 4, 1, AXIS);
    const [w, h] = textSize(tk.label);
    drawText(raster, left - 6 - w, y - Math.floor(h / 2) + 1, tk.label, TEXT);
  }
  xTicks.forEach((tk, i) => {
    const x = Math.round(px(tk.value));
    fillRect(raster, x, top, 1, bottom - top, GRID);
    fillRect(raster, x, bottom, 1, 4, AXIS);
    const w = textSize(tk.label)[0];
    const row = xTickRows > 1 ? i % 2 : 0;
    drawText(
      raster,
      Math.min(width - w - 2, Math.max(2, x - Math.floor(w / 2))),
      bottom + 7 + row * 10,
      tk.label,
      TEXT,
    );
  });
  if (!logY && tylo < 0 && tyhi > 0) fillRect(raster, left, Math.round(py(0)), right - left, 1, ZERO);
  fillRect(raster, left, top, right - left + 1, 1, AXIS);
  fillRect(raster, left, bottom, right - left + 1, 1, AXIS);
  fillRect(raster, left, top, 1, bottom - top, AXIS);
  fillRect(raster, right, top, 1, bottom - top, AXIS);

  // Curves, clipped to the inside of the frame.
  const clip = { x0: left + 1, y0: top + 1, x1: right - 1, y1: bottom - 1 };
  series.forEach((s, index) => {
    const style = {
      color: s.color ?? PALETTE[index % PALETTE.length],
      dashed: s.dashed ?? false,
      thickness: Math.min(3, Math.max(1, Math.round(s.thickness ?? (s.x.length > 500 ? 1 : 2)))),
    };
    const markers = s.markers ?? s.x.length <= 60;
    const dash = { run: 0 };
    for (let i = 0; i < s.x.length; i++) {
      if (!usable(s.x[i], s.y[i])) continue;
      const x = px(s.x[i]), y = py(s.y[i]);
      const prev = i > 0 && usable(s.x[i - 1], s.y[i - 1]);
      const next = i + 1 < s.x.length && usable(s.x[i + 1], s.y[i + 1]);
      if (next) drawLine(raster, clip, x, y, px(s.x[i + 1]), py(s.y[i + 1]), style, dash);
      if (markers || (!prev && !next)) brush(raster, clip, x, y, style.thickness + 3, style.color);
    }
  });
  if (empty) {
    const [w, h] = textSize("no data");
    drawText(raster, Math.round((left + right - w) / 2), Math.round((top + bottom - h) / 2), "no data", AXIS);
  }

  // Legend right of the plot; title, axis labels.
  named.forEach((s, i) => {
    const y = top + 4 + i * 13;
    if (y + 8 > height) return;
    const color = s.color ?? PALETTE[series.indexOf(s) % PALETTE.length];
    const style = { color, dashed: s.dashed ?? false, thickness: 2 };
    drawLine(
      raster,
      { x0: 0, y0: 0, x1: width - 1, y1: height - 1 },
      right + 10,
      y + 4,
      right + 30,
      y + 4,
      style,
      {
        run: 0,
      },
    );
    if (s.markers ?? s.x.length <= 60) {
      brush(raster, { x0: 0, y0: 0, x1: width, y1: height }, right + 20, y + 4, 5, color);
    }
    drawText(raster, right + 36, y, s.name, TEXT);
  });
  if (options.title) {
    const w = textSize(options.title, titleScale)[0];
    drawText(raster, Math.max(4, Math.round((left + right - w) / 2)), 10, options.title, TEXT, titleScale);
  }
  if (options.yLabel) drawText(raster, Math.max(4, left - yTickW - 6), top - 13, options.yLabel, TEXT);
  if (options.xLabel) {
    const w = textSize(options.xLabel)[0];
    drawText(raster, Math.round((left + right - w) / 2), height - 8 - 8, options.xLabel, TEXT);
  }
  return await encodePng(raster);
}

// ---------------------------------------------------------------------------
// Axes

interface Tick {
  value: number;
  label: string;
}

/** Widens a range by `margin` of its span, or around a single value. */
function widen(lo: number, hi: number, log: boolean, margin: number): [number, number] {
  if (lo === hi) {
    const pad = log ? 0.5 : Math.abs(lo) * 0.1 || 1;
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * margin;
  return [lo - pad, hi + pad];
}

/** About `target` ticks, spaced 1, 2 or 5 times a power of ten, within [lo, hi]. */
function linearTicks(lo: number, hi: number, target: number): Tick[] {
  const raw = (hi - lo) / target;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power)
    .reduce((best, s) => Math.abs(Math.log(s / raw)) < Math.abs(Math.log(best / raw)) ? s : best);
  const ticks: Tick[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    const value = k * step;
    ticks.push({ value, label: formatTick(value, step) });
  }
  return ticks;
}

/** Ticks at powers of ten (and at 2 and 5 times them over short ranges), in log10 units. */
function logTicks(lo: number, hi: number): Tick[] {
  const decades = hi - lo;
  const multiples = decades < 1.2 ? [1, 2, 3, 5] : decades < 3 ? [1, 2, 5] : [1];
  const every = Math.max(1, Math.ceil(decades / 8));
  const ticks: Tick[] = [];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    if (e % every !== 0) continue;
    for (const m of multiples) {
      const value = Math.log10(m) + e;
      if (value < lo - 1e-9 || value > hi + 1e-9) continue;
      const v = m * 10 ** e;
      ticks.push({ value, label: e >= -3 && e <= 5 ? String(Number(v.toPrecision(3))) : `${m}e${e}` });
    }
  }
  if (ticks.length < 2) {
    return linearTicks(lo, hi, 3).map((tk) => ({ value: tk.value, label: formatLog(tk.value) }));
  }
  return ticks;
}

function formatLog(exponent: number): string {
  return String(Number((10 ** exponent).toPrecision(2)));
}

/** A tick label with as many decimals as the step needs: 0.25 → "0.25", 2000 → "2000". */
function formatTick(value: number, step: number): string {
  if (Math.abs(value) < step * 1e-6) return "0";
  const a = Math.abs(value);
  if (a >= 1e6 || a < 1e-4) {
    return value.toExponential(2).replace(/\.?0+e/, "e").replace("e+", "e");
  }
  return value.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
}

/** 2 when neighbouring x tick labels would overlap on one row, else 1. */
function staggerRows(ticks: Tick[], lo: number, hi: number, left: number, right: number): number {
  const centres = ticks.map((tk) => left + (tk.value - lo) / (hi - lo) * (right - left));
  for (let i = 1; i < ticks.length; i++) {
    const room = centres[i] - centres[i - 1];
    if ((textSize(ticks[i - 1].label)[0] + textSize(ticks[i].label)[0]) / 2 + 6 > room) return 2;
  }
  return 1;
}

// ---------------------------------------------------------------------------
// Lines

interface Clip {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A filled square of side `size` centred on (x, y), inside `clip`. */
function brush(raster: Raster, clip: Clip, x: number, y: number, size: number, color: Rgb): void {
  const x0 = Math.max(clip.x0, Math.round(x - (size - 1) / 2));
  const y0 = Math.max(clip.y0, Math.round(y - (size - 1) / 2));
  const x1 = Math.min(clip.x1 + 1, Math.round(x - (size - 1) / 2) + size);
  const y1 = Math.min(clip.y1 + 1, Math.round(y - (size - 1) / 2) + size);
  if (x1 > x0 && y1 > y0) fillRect(raster, x0, y0, x1 - x0, y1 - y0, color);
}

/** A straight line one pixel step at a time; dashes continue across calls through `dash`. */
function drawLine(
  raster: Raster,
  clip: Clip,
  xa: number,
  ya: number,
  xb: number,
  yb: number,
  style: { color: Rgb; dashed: boolean; thickness: number },
  dash: { run: number },
): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(xb - xa), Math.abs(yb - ya))));
  // Far outside the frame (a clipped yRange), only walk the part that can show.
  if (steps > 4 * (raster.width + raster.height)) {
    const [cxa, cya, cxb, cyb] = clipSegment(clip, xa, ya, xb, yb) ?? [];
    if (cxa === undefined) return;
    return drawLine(raster, clip, cxa, cya!, cxb!, cyb!, style, dash);
  }
  for (let i = 0; i <= steps; i++) {
    if (!style.dashed || dash.run % 10 < 6) {
      brush(
        raster,
        clip,
        xa + (xb - xa) * i / steps,
        ya + (yb - ya) * i / steps,
        style.thickness,
        style.color,
      );
    }
    if (i < steps) dash.run++;
  }
}

/** The part of a segment inside `clip` (Liang-Barsky), or undefined when none is. */
function clipSegment(clip: Clip, xa: number, ya: number, xb: number, yb: number): number[] | undefined {
  let t0 = 0, t1 = 1;
  const dx = xb - xa, dy = yb - ya;
  for (const [p, q] of [[-dx, xa - clip.x0], [dx, clip.x1 - xa], [-dy, ya - clip.y0], [dy, clip.y1 - ya]]) {
    if (p === 0) {
      if (q < 0) return undefined;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return undefined;
  }
  return [xa + t0 * dx, ya + t0 * dy, xa + t1 * dx, ya + t1 * dy];
}
