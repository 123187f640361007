/**
 * PNG pictures without a font file or a native library: grids of grey-scale
 * images with captions, diverging heat maps (blue negative, white zero, red
 * positive), and labelled panels of both, like the figures of the saliency
 * papers. Every function returns the PNG file's bytes; writing them is the
 * caller's job, so this module needs no permissions and prints nothing.
 *
 * @example A grid of two 2×2 images, black to white
 * ```ts
 * import { imageGrid } from "@simple-nets/core/images";
 *
 * const png = await imageGrid(new Float32Array([0, 1, 1, 0, 1, 0, 0, 1]), {
 *   height: 2,
 *   width: 2,
 *   captions: ["a", "b"],
 * });
 * console.assert(png[1] === 0x50); // "PNG"
 * ```
 *
 * @module
 */
import { drawText, LINE_HEIGHT, textSize } from "./_font.ts";

export { drawText, textSize };

/** A colour as `[red, green, blue]` bytes, 0-255. */
export type Rgb = readonly [number, number, number];

/** An RGB picture in memory: `width × height` pixels, 3 bytes each, row by row. */
export interface Raster {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** The pixels, `(y * width + x) * 3` is the red byte of pixel (x, y). */
  readonly data: Uint8ClampedArray;
}

const WHITE: Rgb = [255, 255, 255];
const TEXT: Rgb = [20, 20, 20];
/** NaN pixels get a colour that neither the grey nor the diverging map uses. */
const NAN_COLOR: Rgb = [0, 170, 0];

/**
 * Makes a blank raster filled with one colour.
 *
 * @param width Width in pixels, a positive integer.
 * @param height Height in pixels, a positive integer.
 * @param background The fill colour.
 * @returns The new raster.
 * @throws {RangeError} When a size is not a positive integer.
 *
 * @example
 * ```ts
 * import { createRaster } from "@simple-nets/core/images";
 * const raster = createRaster(4, 3, [255, 0, 0]);
 * console.assert(raster.data.length === 36 && raster.data[3] === 255);
 * ```
 */
export function createRaster(width: number, height: number, background: Rgb = WHITE): Raster {
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Cannot create a raster: ${name} is ${value}, expected a positive integer`);
    }
  }
  const raster = { width, height, data: new Uint8ClampedArray(width * height * 3) };
  fillRect(raster, 0, 0, width, height, background);
  return raster;
}

/**
 * Fills a rectangle with one colour; the parts outside the raster are skipped.
 *
 * @param raster The raster to draw on.
 * @param x Left edge in pixels.
 * @param y Top edge in pixels.
 * @param width Width in pixels.
 * @param height Height in pixels.
 * @param color The colour.
 *
 * @example
 * ```ts
 * import { createRaster, fillRect } from "@simple-nets/core/images";
 * const raster = createRaster(4, 4);
 * fillRect(raster, 1, 1, 2, 2, [0, 0, 0]);
 * console.assert(raster.data[(1 * 4 + 1) * 3] === 0);
 * ```
 */
export function fillRect(
  raster: Raster,
  x: number,
  y: number,
  width: number,
  height: number,
  color: Rgb,
): void {
  const x0 = Math.max(0, Math.round(x)), x1 = Math.min(raster.width, Math.round(x + width));
  const y0 = Math.max(0, Math.round(y)), y1 = Math.min(raster.height, Math.round(y + height));
  const { data } = raster;
  for (let py = y0; py < y1; py++) {
    for (let i = (py * raster.width + x0) * 3, end = (py * raster.width + x1) * 3; i < end; i += 3) {
      data[i] = color[0];
      data[i + 1] = color[1];
      data[i + 2] = color[2];
    }
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/**
 * Encodes a raster as an 8-bit RGB PNG file. The same raster always gives
 * the same bytes (no time stamp is written). Compression uses the platform's
 * `CompressionStream`, so this works in Deno, Node.js and browsers alike.
 *
 * @param raster The picture.
 * @returns The PNG file's bytes.
 *
 * @example
 * ```ts
 * import { createRaster, encodePng } from "@simple-nets/core/images";
 * const png = await encodePng(createRaster(2, 2));
 * console.assert(String.fromCharCode(...png.subarray(1, 4)) === "PNG");
 * ```
 */
export async function encodePng(raster: Raster): Promise<Uint8Array> {
  const { width, height, data } = raster;
  const stride = width * 3;
  const raw = new Uint8Array((stride + 1) * height); // filter byte 0 (none) per row
  for (let y = 0; y < height; y++) {
    raw.set(data.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  const compressed = new Uint8Array(await new Response(stream).arrayBuffer());
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, adaptive filtering, no interlace
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", compressed),
    chunk("IEND", new Uint8Array(0)),
  ];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    png.set(part, offset);
    offset += part.length;
  }
  return png;
}

// ---------------------------------------------------------------------------
// Colour maps

/**
 * Colour for a grey-scale value: `lo` and below black, `hi` and above white.
 * NaN is drawn green.
 */
function greyColor(value: number, lo: number, hi: number): Rgb {
  if (Number.isNaN(value)) return NAN_COLOR;
  const t = Math.min(1, Math.max(0, (value - lo) / (hi - lo)));
  const v = Math.round(t * 255);
  return [v, v, v];
}

// ColorBrewer's RdBu, with pure white in the middle so that zero is white.
const REDS: readonly Rgb[] = [
  [255, 255, 255],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
  [103, 0, 31],
];
const BLUES: readonly Rgb[] = [
  [255, 255, 255],
  [209, 229, 240],
  [146, 197, 222],
  [67, 147, 195],
  [33, 102, 172],
  [5, 48, 97],
];

/**
 * The diverging colour of a value: blue for negative, white at zero, red
 * for positive, darkest at `±limit` and beyond (ColorBrewer's RdBu with a
 * pure white centre). NaN is green, a colour the map does not use.
 *
 * @param value The value.
 * @param limit The magnitude drawn with the darkest colour; positive.
 * @returns The colour as `[r, g, b]`.
 * @throws {RangeError} When `limit` is not a positive finite number.
 *
 * @example
 * ```ts
 * import { divergingColor } from "@simple-nets/core/images";
 * console.assert(divergingColor(0, 1).join() === "255,255,255");
 * const [r, , b] = divergingColor(0.5, 1);
 * console.assert(r > b);
 * ```
 */
export function divergingColor(value: number, limit: number): Rgb {
  if (!(limit > 0 && Number.isFinite(limit))) {
    throw new RangeError(
      `Cannot map ${value} to a colour: limit is ${limit}, expected a positive finite number`,
    );
  }
  if (Number.isNaN(value)) return NAN_COLOR;
  const t = Math.min(1, Math.abs(value) / limit) * (REDS.length - 1);
  const stops = value < 0 ? BLUES : REDS;
  const i = Math.min(Math.floor(t), stops.length - 2);
  const f = t - i;
  const a = stops[i], b = stops[i + 1];
  return [
    Math.round(a[0] + (b[0] - a[0]) * f),
    Math.round(a[1] + (b[1] - a[1]) * f),
    Math.round(a[2] + (b[2] - a[2]) * f),
  ];
}

/** The largest finite magnitude in `data`, or 1 when there is none above 0. */
function symmetricLimit(data: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const a = Math.abs(data[i]);
    if (a > max && a !== Infinity) max = a;
  }
  return max > 0 ? max : 1;
}

// ---------------------------------------------------------------------------
// Checks and drawing of one image

function checkPositiveInteger(where: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${where}: ${name} is ${value}, expected a positive integer`);
  }
}

function checkNonNegativeInteger(where: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${where}: ${name} is ${value}, expected an integer of at least 0`);
  }
}

function checkRange(where: string, range: readonly [number, number]): void {
  const [lo, hi] = range;
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
    throw new RangeError(`${where}: range is [${lo}, ${hi}], expected finite [lo, hi] with lo < hi`);
  }
}

/** Copies one image, each value through `color`, magnified `scale` times. */
function drawImage(
  raster: Raster,
  x: number,
  y: number,
  data: ArrayLike<number>,
  offset: number,
  height: number,
  width: number,
  scale: number,
  color: (value: number) => Rgb,
): void {
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      fillRect(raster, x + c * scale, y + r * scale, scale, scale, color(data[offset + r * width + c]));
    }
  }
}

/** Formats a number in at most about 7 characters: 0.0123, 1.5e-5, 1234. */
function shortNumber(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const a = Math.abs(value);
  if (a >= 1e5 || a < 1e-3) return value.toExponential(1).replace("e+", "e");
  return String(Number(value.toPrecision(3)));
}

// ---------------------------------------------------------------------------
// Grids

/** Options of {@linkcode imageGrid}. */
export interface ImageGridOptions {
  /** Number of images in `images`.
   * @default {images.length / (height × width)} */
  count?: number;
  /** Height of each image in values.
   * @default {28} */
  height?: number;
  /** Width of each image in values.
   * @default {28} */
  width?: number;
  /** Images per row.
   * @default {Math.ceil(Math.sqrt(count))} */
  columns?: number;
  /** Integer magnification: each value becomes `scale × scale` pixels.
   * @default {2} */
  scale?: number;
  /** Pixels between cells and around the grid.
   * @default {2} */
  padding?: number;
  /** Values mapped to black and white; values outside are clipped, NaN is green.
   * @default {[0, 1]} */
  range?: readonly [number, number];
  /** One caption per image, drawn under it (columns widen to fit). */
  captions?: readonly string[];
  /** A line of text above the grid. */
  title?: string;
  /** Colour between and around the cells.
   * @default {[255, 255, 255]} */
  background?: Rgb;
}

/**
 * Draws grey-scale images in a grid, optionally captioned, as a PNG.
 *
 * @param images `count` images of `height × width` values each, one after
 *   another, row by row (a tensor's `dataSync()` of shape `[count, height, width]`).
 * @param options Layout, value range, captions.
 * @returns The PNG file's bytes.
 * @throws {RangeError} When the length of `images` is not `count × height ×
 *   width`, a size is not a positive integer, or `range` is empty.
 *
 * @example Ten digits with their labels
 * ```ts
 * import { imageGrid } from "@simple-nets/core/images";
 * const digits = new Float32Array(10 * 28 * 28).fill(0.5);
 * const png = await imageGrid(digits, {
 *   columns: 10,
 *   captions: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
 * });
 * // await Deno.writeFile("digits.png", png);
 * ```
 */
export async function imageGrid(
  images: ArrayLike<number>,
  options: ImageGridOptions = {},
): Promise<Uint8Array> {
  const where = "imageGrid";
  const { height = 28, width = 28, scale = 2, padding = 2, range = [0, 1] } = options;
  checkPositiveInteger(where, "height", height);
  checkPositiveInteger(where, "width", width);
  const count = options.count ?? images.length / (height * width);
  if (!Number.isInteger(count) || count < 1 || count * height * width !== images.length) {
    throw new RangeError(
      `${where}: images has ${images.length} values, expected ` +
        (options.count === undefined
          ? `a positive multiple of height × width = ${height} × ${width} = ${height * width}`
          : `count × height × width = ${options.count} × ${height} × ${width} = ${
            options.count * height * width
          }`),
    );
  }
  const columns = options.columns ?? Math.ceil(Math.sqrt(count));
  checkPositiveInteger(where, "columns", columns);
  checkPositiveInteger(where, "scale", scale);
  checkNonNegativeInteger(where, "padding", padding);
  checkRange(where, range);
  const captions = options.captions;
  if (captions && captions.length !== count) {
    throw new RangeError(
      `${where}: captions has ${captions.length} entries, expected ${count}, one per image`,
    );
  }

  const rows = Math.ceil(count / columns);
  const cellWidth = width * scale, cellHeight = height * scale;
  const captionWidth = Math.max(0, ...(captions ?? []).map((c) => textSize(c)[0]));
  const captionHeight = captions ? Math.max(...captions.map((c) => textSize(c)[1])) : 0;
  const captionGap = captions ? 3 : 0;
  const slotWidth = Math.max(cellWidth, captionWidth);
  // With captions, each slot also keeps a gap under its text so that it reads
  // as belonging to the image above it, not to the one below.
  const slotHeight = cellHeight + (captions ? 2 * captionGap + captionHeight : 0);
  const [titleWidth, titleHeight] = textSize(options.title ?? "");
  const textMargin = Math.max(padding, 4);
  const top = options.title ? textMargin + titleHeight + textMargin : padding;
  const gridWidth = columns * slotWidth + (columns + 1) * padding;
  const raster = createRaster(
    options.title ? Math.max(gridWidth, titleWidth + 2 * textMargin) : gridWidth,
    top + rows * (slotHeight + padding),
    options.background ?? WHITE,
  );
  if (options.title) drawText(raster, textMargin, textMargin, options.title, TEXT);
  const [lo, hi] = range;
  for (let i = 0; i < count; i++) {
    const slotX = padding + (i % columns) * (slotWidth + padding);
    const slotY = top + Math.floor(i / columns) * (slotHeight + padding);
    const x = slotX + Math.floor((slotWidth - cellWidth) / 2);
    drawImage(
      raster,
      x,
      slotY,
      images,
      i * height * width,
      height,
      width,
      scale,
      (v) => greyColor(v, lo, hi),
    );
    if (captions) {
      const w = textSize(captions[i])[0];
      drawText(
        raster,
        slotX + Math.floor((slotWidth - w) / 2),
        slotY + cellHeight + captionGap,
        captions[i],
        TEXT,
      );
    }
  }
  return await encodePng(raster);
}

// ---------------------------------------------------------------------------
// Heat maps

/** Options of {@linkcode heatmap}. */
export interface HeatmapOptions {
  /** Height of the map in values.
   * @default {28} */
  height?: number;
  /** Width of the map in values.
   * @default {28} */
  width?: number;
  /** Magnitude drawn darkest; the map is symmetric around zero.
   * @default {the largest finite |value|, or 1 for an all-zero map} */
  limit?: number;
  /** Integer magnification: each value becomes `scale × scale` pixels.
   * @default {4} (a 28×28 map becomes 112×112, easy to see) */
  scale?: number;
}

/**
 * Draws one map in the diverging colours of {@linkcode divergingColor}
 * (blue negative, white zero, red positive) as a PNG of exactly
 * `width × scale` by `height × scale` pixels.
 *
 * @param map `height × width` values, row by row.
 * @param options Size, colour limit, magnification.
 * @returns The PNG file's bytes.
 * @throws {RangeError} When the length of `map` is not `height × width`, or
 *   `limit` is not positive.
 *
 * @example A gradient from -1 to 1
 * ```ts
 * import { heatmap } from "@simple-nets/core/images";
 * const map = Float32Array.from({ length: 9 }, (_, i) => (i - 4) / 4);
 * const png = await heatmap(map, { height: 3, width: 3, scale: 10 });
 * ```
 */
export async function heatmap(map: ArrayLike<number>, options: HeatmapOptions = {}): Promise<Uint8Array> {
  const where = "heatmap";
  const { height = 28, width = 28, scale = 4 } = options;
  checkPositiveInteger(where, "height", height);
  checkPositiveInteger(where, "width", width);
  checkPositiveInteger(where, "scale", scale);
  if (map.length !== height * width) {
    throw new RangeError(
      `${where}: map has ${map.length} values, expected height × width = ${height} × ${width} = ${
        height * width
      }`,
    );
  }
  const limit = options.limit ?? symmetricLimit(map);
  divergingColor(0, limit); // checks the limit
  const raster = createRaster(width * scale, height * scale);
  drawImage(raster, 0, 0, map, 0, height, width, scale, (v) => divergingColor(v, limit));
  return await encodePng(raster);
}

// ---------------------------------------------------------------------------
// Panels

/** A grey-scale image in a {@linkcode panel}. */
export interface GreyPanelCell {
  /** Drawn black (low) to white (high). */
  kind: "grey";
  /** `height × width` values, row by row. */
  data: ArrayLike<number>;
  /** Height in values. */
  height: number;
  /** Width in values. */
  width: number;
  /** Values mapped to black and white; values outside are clipped.
   * @default {[0, 1]} */
  range?: readonly [number, number];
  /** Text under the image. */
  caption?: string;
}

/** A signed map in a {@linkcode panel}, in the colours of {@linkcode divergingColor}. */
export interface DivergingPanelCell {
  /** Drawn blue (negative), white (zero), red (positive). */
  kind: "diverging";
  /** `height × width` values, row by row. */
  data: ArrayLike<number>;
  /** Height in values. */
  height: number;
  /** Width in values. */
  width: number;
  /** Magnitude drawn darkest.
   * @default {this cell's largest finite |value| (1 when all are 0)} */
  limit?: number;
  /** Text under the map. */
  caption?: string;
}

/** One image of a {@linkcode panel}. */
export type PanelCell = GreyPanelCell | DivergingPanelCell;

/** Options of {@linkcode panel}. */
export interface PanelOptions {
  /** Text above each column. */
  columnTitles?: readonly string[];
  /** Text left of each row, such as "pred 7 / true 7". */
  rowLabels?: readonly string[];
  /** A line of text above everything. */
  title?: string;
  /** Integer magnification: each value becomes `scale × scale` pixels.
   * @default {4} (a 28×28 map becomes 112×112, easy to see) */
  scale?: number;
  /** Pixels between cells and around the panel.
   * @default {6} */
  padding?: number;
  /** Write the colour limit ("±0.0123") under each diverging cell, so
   * that maps scaled one by one can still be compared.
   * @default {true} */
  showLimits?: boolean;
}

/**
 * Draws rows of grey images and diverging maps as one labelled PNG, like
 * the figures of the SmoothGrad and sanity-check papers: one row per input,
 * with the image, then its saliency maps. Each diverging map gets its own
 * symmetric limit unless the cell gives one. Rows may differ in length; a
 * `null` cell leaves its place empty.
 *
 * @param rows The cells, row by row.
 * @param options Titles, labels, magnification.
 * @returns The PNG file's bytes.
 * @throws {RangeError} When a cell's data length is not `height × width`,
 *   there are more titles or labels than columns or rows, or a size is bad.
 *
 * @example An image and its gradient map
 * ```ts
 * import { panel } from "@simple-nets/core/images";
 * const image = new Float32Array(28 * 28).fill(0.2);
 * const map = Float32Array.from({ length: 28 * 28 }, (_, i) => Math.sin(i));
 * const png = await panel([[
 *   { kind: "grey", data: image, height: 28, width: 28 },
 *   { kind: "diverging", data: map, height: 28, width: 28 },
 * ]], { columnTitles: ["image", "gradient"], rowLabels: ["pred 7 / true 7"] });
 * ```
 */
export async function panel(
  rows: readonly (readonly (PanelCell | null)[])[],
  options: PanelOptions = {},
): Promise<Uint8Array> {
  const where = "panel";
  const { scale = 4, padding = 6, showLimits = true, columnTitles = [], rowLabels = [] } = options;
  checkPositiveInteger(where, "scale", scale);
  checkNonNegativeInteger(where, "padding", padding);
  const columns = Math.max(0, ...rows.map((row) => row.length));
  if (rows.length === 0 || columns === 0) {
    throw new RangeError(
      `${where}: rows has ${rows.length} rows and ${columns} columns, expected at least one cell`,
    );
  }
  if (columnTitles.length > columns) {
    throw new RangeError(
      `${where}: columnTitles has ${columnTitles.length} entries, expected at most ${columns} (columns)`,
    );
  }
  if (rowLabels.length > rows.length) {
    throw new RangeError(
      `${where}: rowLabels has ${rowLabels.length} entries, expected at most ${rows.length} (rows)`,
    );
  }

  // Per cell: its limit and the text under it.
  const notes = rows.map((row, r) =>
    row.map((cell, c) => {
      if (!cell) return { limit: 0, text: "" };
      const at = `${where}: cell [${r}][${c}]`;
      checkPositiveInteger(at, "height", cell.height);
      checkPositiveInteger(at, "width", cell.width);
      if (cell.data.length !== cell.height * cell.width) {
        throw new RangeError(
          `${at} has ${cell.data.length} values, expected height × width = ${cell.height} × ${cell.width} = ${
            cell.height * cell.width
          }`,
        );
      }
      const lines = cell.caption ? [cell.caption] : [];
      let limit = 0;
      if (cell.kind === "diverging") {
        limit = cell.limit ?? symmetricLimit(cell.data);
        divergingColor(0, limit);
        if (showLimits) lines.push(`±${shortNumber(limit)}`);
      } else {
        checkRange(at, cell.range ?? [0, 1]);
      }
      return { limit, text: lines.join("\n") };
    })
  );

  const gap = 3; // between an image and its text
  const colWidths = Array.from({ length: columns }, (_, c) =>
    Math.max(
      textSize(columnTitles[c] ?? "")[0],
      ...rows.map((row, r) => row[c] ? Math.max(row[c]!.width * scale, textSize(notes[r][c].text)[0]) : 0),
    ));
  const imageHeights = rows.map((row) => Math.max(0, ...row.map((cell) => cell ? cell.height * scale : 0)));
  const textHeights = notes.map((row) => Math.max(0, ...row.map((n) => textSize(n.text)[1])));
  const rowHeights = imageHeights.map((h, r) => h + (textHeights[r] > 0 ? gap + textHeights[r] : 0));
  const labelWidth = Math.max(0, ...rowLabels.map((l) => textSize(l)[0]));
  const titleHeight = options.title ? textSize(options.title)[1] + padding : 0;
  const headHeight = Math.max(0, ...columnTitles.map((t) => textSize(t)[1]));

  const left = padding + (labelWidth > 0 ? labelWidth + padding : 0);
  const top = padding + titleHeight + (headHeight > 0 ? headHeight + gap + 1 : 0);
  const width = Math.max(
    left + colWidths.reduce((a, b) => a + b + padding, 0),
    2 * padding + textSize(options.title ?? "")[0],
  );
  const height = top + rowHeights.reduce((a, b) => a + b + padding, 0);
  const raster = createRaster(width, height);

  if (options.title) drawText(raster, padding, padding, options.title, TEXT);
  let x = left;
  const colX = colWidths.map((w) => {
    const at = x;
    x += w + padding;
    return at;
  });
  columnTitles.forEach((t, c) => {
    drawText(
      raster,
      colX[c] + Math.floor((colWidths[c] - textSize(t)[0]) / 2),
      padding + titleHeight,
      t,
      TEXT,
    );
  });
  let y = top;
  rows.forEach((row, r) => {
    const label = rowLabels[r];
    if (label) {
      drawText(raster, padding, y + Math.floor((imageHeights[r] - textSize(label)[1]) / 2), label, TEXT);
    }
    row.forEach((cell, c) => {
      if (!cell) return;
      const w = cell.width * scale;
      const cx = colX[c] + Math.floor((colWidths[c] - w) / 2);
      const cy = y + Math.floor((imageHeights[r] - cell.height * scale) / 2);
      const { limit, text } = notes[r][c];
      const color = cell.kind === "diverging"
        ? (v: number) => divergingColor(v, limit)
        : (v: number) => greyColor(v, (cell.range ?? [0, 1])[0], (cell.range ?? [0, 1])[1]);
      drawImage(raster, cx, cy, cell.data, 0, cell.height, cell.width, scale, color);
      frame(raster, cx, cy, w, cell.height * scale);
      if (text) {
        const lines = text.split("\n");
        lines.forEach((line, i) => {
          const lw = textSize(line)[0];
          drawText(
            raster,
            colX[c] + Math.floor((colWidths[c] - lw) / 2),
            y + imageHeights[r] + gap + i * LINE_HEIGHT,
            line,
            TEXT,
          );
        });
      }
    });
    y += rowHeights[r] + padding;
  });
  return await encodePng(raster);
}

/** A 1-pixel grey outline just outside a cell, so white parts stay visible. */
function frame(raster: Raster, x: number, y: number, w: number, h: number): void {
  const grey: Rgb = [200, 200, 200];
  fillRect(raster, x - 1, y - 1, w + 2, 1, grey);
  fillRect(raster, x - 1, y + h, w + 2, 1, grey);
  fillRect(raster, x - 1, y, 1, h, grey);
  fillRect(raster, x + w, y, 1, h, grey);
}
