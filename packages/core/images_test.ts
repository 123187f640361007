import assert from "node:assert/strict";
import { Image } from "imagescript";
import {
  createRaster,
  divergingColor,
  drawText,
  encodePng,
  heatmap,
  imageGrid,
  panel,
  type Rgb,
  textSize,
} from "./images.ts";

/** Decodes a PNG with imagescript, an independent decoder. */
async function decode(png: Uint8Array): Promise<Image> {
  return await Image.decode(png);
}

/** The colour at 0-based (x, y); imagescript counts from 1. */
function rgbAt(image: Image, x: number, y: number): Rgb {
  const [r, g, b] = image.getRGBAAt(x + 1, y + 1);
  return [r, g, b];
}

/** How many pixels in the 0-based box [x0, x1) × [y0, y1) are darker than 100. */
function darkPixels(image: Image, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const [r, g, b] = rgbAt(image, x, y);
      if (r + g + b < 300) n++;
    }
  }
  return n;
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

Deno.test("encodePng() round-trips every pixel through an independent decoder", async () => {
  const raster = createRaster(7, 5);
  for (let i = 0; i < raster.data.length; i++) raster.data[i] = (i * 37) % 256;
  const image = await decode(await encodePng(raster));
  assert.equal(image.width, 7);
  assert.equal(image.height, 5);
  for (let y = 0; y < 5; y++) {
    for (let x = 0; x < 7; x++) {
      const i = (y * 7 + x) * 3;
      assert.deepEqual(rgbAt(image, x, y), [raster.data[i], raster.data[i + 1], raster.data[i + 2]]);
    }
  }
});

Deno.test("encodePng() gives the same bytes for the same raster", async () => {
  const a = await encodePng(createRaster(30, 20, [1, 2, 3]));
  const b = await encodePng(createRaster(30, 20, [1, 2, 3]));
  assert.deepEqual(a, b);
});

Deno.test("createRaster() rejects a size that is not a positive integer", () => {
  assert.throws(() => createRaster(0, 3), { name: "RangeError", message: /width is 0/ });
  assert.throws(() => createRaster(3, 1.5), { name: "RangeError", message: /height is 1.5/ });
});

Deno.test("imageGrid() lays out cells row by row with padding around them", async () => {
  // Three 2×2 images at scale 2 with padding 2: 2 columns, 2 rows of 4×4 cells.
  const images = new Float32Array([0, 0, 0, 0, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]);
  const red: Rgb = [255, 0, 0];
  const image = await decode(await imageGrid(images, { height: 2, width: 2, background: red }));
  assert.equal(image.width, 2 * 4 + 3 * 2);
  assert.equal(image.height, 2 * 4 + 3 * 2);
  assert.deepEqual(rgbAt(image, 0, 0), red); // outer padding
  assert.deepEqual(rgbAt(image, 2, 2), BLACK); // image 0, top-left cell
  assert.deepEqual(rgbAt(image, 5, 5), BLACK);
  assert.deepEqual(rgbAt(image, 6, 2), red); // between the cells
  assert.deepEqual(rgbAt(image, 8, 2), WHITE); // image 1, top-right cell
  assert.deepEqual(rgbAt(image, 11, 5), WHITE);
  assert.deepEqual(rgbAt(image, 2, 8), [128, 128, 128]); // image 2, second row
  assert.deepEqual(rgbAt(image, 8, 8), red); // no fourth image
});

Deno.test("imageGrid() maps range to black..white and clips values outside it", async () => {
  const images = new Float32Array([-5, -1, 0, 7]);
  const image = await decode(
    await imageGrid(images, { height: 1, width: 4, scale: 1, padding: 0, range: [-1, 1] }),
  );
  assert.equal(image.width, 4);
  assert.equal(image.height, 1);
  assert.deepEqual(rgbAt(image, 0, 0), BLACK);
  assert.deepEqual(rgbAt(image, 1, 0), BLACK);
  assert.deepEqual(rgbAt(image, 2, 0), [128, 128, 128]);
  assert.deepEqual(rgbAt(image, 3, 0), WHITE);
});

Deno.test("imageGrid() honours columns and the default 28×28 size", async () => {
  const image = await decode(
    await imageGrid(new Float32Array(5 * 784), { columns: 5, scale: 1, padding: 1 }),
  );
  assert.equal(image.width, 5 * 28 + 6);
  assert.equal(image.height, 28 + 2);
});

Deno.test("imageGrid() draws each caption under its own cell", async () => {
  const images = new Float32Array(2 * 784).fill(1); // white cells: only text is dark
  const png = await imageGrid(images, { captions: ["7", ""], columns: 2 });
  const image = await decode(png);
  const cellBottom = 2 + 56;
  assert.ok(image.height > cellBottom + 8, `height ${image.height} leaves room for a caption`);
  const under0 = darkPixels(image, 2, cellBottom, 2 + 56, image.height);
  const under1 = darkPixels(image, 2 + 56 + 2, cellBottom, image.width, image.height);
  assert.ok(under0 >= 10, `caption "7" has ${under0} dark pixels`);
  assert.equal(under1, 0);
  // Nothing is drawn over the cell itself.
  assert.equal(darkPixels(image, 2, 2, 2 + 56, cellBottom), 0);
});

Deno.test("imageGrid() rejects a data length that does not match count × height × width", async () => {
  await assert.rejects(() => imageGrid(new Float32Array(100), { count: 2 }), {
    name: "RangeError",
    message: "imageGrid: images has 100 values, expected count × height × width = 2 × 28 × 28 = 1568",
  });
  await assert.rejects(() => imageGrid(new Float32Array(100)), {
    name: "RangeError",
    message:
      "imageGrid: images has 100 values, expected a positive multiple of height × width = 28 × 28 = 784",
  });
  await assert.rejects(() => imageGrid(new Float32Array(4), { height: 2, width: 2, captions: ["a", "b"] }), {
    name: "RangeError",
    message: /captions has 2 entries, expected 1/,
  });
  await assert.rejects(
    () => imageGrid(new Float32Array(4), { height: 2, width: 2, range: [1, 1] }),
    RangeError,
  );
  await assert.rejects(() => imageGrid(new Float32Array(4), { height: 2, width: 2, scale: 0 }), RangeError);
});

Deno.test("divergingColor() is white at zero, red above, blue below, darkest at the limit", () => {
  assert.deepEqual(divergingColor(0, 1), WHITE);
  const [r, g, b] = divergingColor(0.5, 1);
  assert.ok(r > g && r > b, `0.5 → ${[r, g, b]} is red`);
  const [r2, g2, b2] = divergingColor(-0.5, 1);
  assert.ok(b2 > r2 && b2 > g2, `-0.5 → ${[r2, g2, b2]} is blue`);
  assert.deepEqual(divergingColor(2, 2), [103, 0, 31]);
  assert.deepEqual(divergingColor(99, 2), [103, 0, 31]);
  assert.deepEqual(divergingColor(-2, 2), [5, 48, 97]);
  assert.deepEqual(divergingColor(-0, 2), WHITE);
  // Symmetric lightness: +v and -v are equally far from white.
  const sum = (c: Rgb) => c[0] + c[1] + c[2];
  assert.ok(Math.abs(sum(divergingColor(0.3, 1)) - sum(divergingColor(-0.3, 1))) < 40);
  assert.deepEqual(divergingColor(NaN, 1), [0, 170, 0]);
  assert.throws(() => divergingColor(1, 0), { name: "RangeError", message: /limit is 0/ });
});

Deno.test("heatmap() colours zero white, positives red and negatives blue", async () => {
  const map = new Float32Array([0, 0.5, -0.5, 1, -1, 0]);
  const image = await decode(await heatmap(map, { height: 2, width: 3, scale: 3 }));
  assert.equal(image.width, 9);
  assert.equal(image.height, 6);
  assert.deepEqual(rgbAt(image, 0, 0), WHITE);
  assert.deepEqual(rgbAt(image, 2, 2), WHITE); // the whole 3×3 block
  assert.deepEqual(rgbAt(image, 3, 0), divergingColor(0.5, 1));
  assert.deepEqual(rgbAt(image, 6, 0), divergingColor(-0.5, 1));
  assert.deepEqual(rgbAt(image, 0, 3), [103, 0, 31]); // 1 is the default limit
  assert.deepEqual(rgbAt(image, 3, 3), [5, 48, 97]);
});

Deno.test("heatmap() uses the given limit and survives all-zero and NaN maps", async () => {
  const faint = await decode(
    await heatmap(new Float32Array([0.5, -0.5]), { height: 1, width: 2, scale: 1, limit: 10 }),
  );
  assert.deepEqual(rgbAt(faint, 0, 0), divergingColor(0.5, 10));
  const zeros = await decode(await heatmap(new Float32Array(4), { height: 2, width: 2, scale: 1 }));
  assert.deepEqual(rgbAt(zeros, 1, 1), WHITE);
  const nan = await decode(await heatmap(new Float32Array([NaN, 1]), { height: 1, width: 2, scale: 1 }));
  assert.deepEqual(rgbAt(nan, 0, 0), [0, 170, 0]);
  assert.deepEqual(rgbAt(nan, 1, 0), [103, 0, 31]);
  await assert.rejects(() => heatmap(new Float32Array(10)), {
    name: "RangeError",
    message: "heatmap: map has 10 values, expected height × width = 28 × 28 = 784",
  });
  await assert.rejects(() => heatmap(new Float32Array(4), { height: 2, width: 2, limit: -1 }), RangeError);
});

Deno.test("panel() places labelled rows of grey images and per-cell scaled maps", async () => {
  const grey = new Float32Array(4).fill(1);
  const small = new Float32Array([0.01, -0.01, 0, 0]);
  const big = new Float32Array([100, -100, 0, 0]);
  const png = await panel([
    [{ kind: "grey", data: grey, height: 2, width: 2 }, {
      kind: "diverging",
      data: small,
      height: 2,
      width: 2,
    }],
    [{ kind: "grey", data: new Float32Array(4), height: 2, width: 2 }, {
      kind: "diverging",
      data: big,
      height: 2,
      width: 2,
      caption: "big",
    }],
  ], {
    scale: 20,
    padding: 6,
    rowLabels: ["pred 7 / true 7", "pred 1 / true 7"],
    columnTitles: ["image", "map"],
  });
  const image = await decode(png);
  // 40×40 cells, wider than every text, so they start at their column's left edge.
  const left = 6 + textSize("pred 7 / true 7")[0] + 6;
  const top = 6 + textSize("image")[1] + 4;
  const mapX = left + 40 + 6;
  // Row labels are dark text to the left of the cells, titles above them.
  assert.ok(darkPixels(image, 0, top, left - 1, top + 40) > 20);
  assert.ok(darkPixels(image, left, 0, image.width, top - 2) > 20);
  // Row 1: the white grey image, then red and blue at full strength, because
  // each map gets its own limit (0.01 here, 100 in row 2).
  assert.deepEqual(rgbAt(image, left + 5, top + 5), WHITE);
  assert.deepEqual(rgbAt(image, mapX + 5, top + 5), [103, 0, 31]);
  assert.deepEqual(rgbAt(image, mapX + 25, top + 5), [5, 48, 97]);
  assert.deepEqual(rgbAt(image, mapX + 5, top + 25), WHITE);
  // Row 2 starts after row 1's limit line ("±0.01") and the padding.
  const top2 = top + 40 + 3 + 8 + 6;
  assert.deepEqual(rgbAt(image, left + 5, top2 + 5), BLACK);
  assert.deepEqual(rgbAt(image, mapX + 5, top2 + 5), [103, 0, 31]);
  assert.ok(darkPixels(image, mapX, top + 43, mapX + 40, top + 51) > 5, "limit under the first map");
  assert.equal(darkPixels(image, left, top + 43, left + 40, top + 51), 0, "no text under a grey image");
  // Row 2's map has two lines under it: its caption and its limit.
  assert.equal(image.height, top2 + 40 + 3 + 17 + 6);
});

Deno.test("panel() rejects a cell whose data length does not match, naming the cell", async () => {
  await assert.rejects(
    () =>
      panel([[{ kind: "grey", data: new Float32Array(4), height: 2, width: 2 }, {
        kind: "diverging",
        data: new Float32Array(5),
        height: 2,
        width: 2,
      }]]),
    { name: "RangeError", message: "panel: cell [0][1] has 5 values, expected height × width = 2 × 2 = 4" },
  );
  await assert.rejects(() => panel([]), RangeError);
  await assert.rejects(
    () =>
      panel([[{ kind: "grey", data: new Float32Array(1), height: 1, width: 1 }]], { rowLabels: ["a", "b"] }),
    { name: "RangeError", message: /rowLabels has 2 entries, expected at most 1/ },
  );
});

Deno.test("drawText() draws only inside the box textSize() reports", () => {
  const raster = createRaster(80, 30);
  const text = "Hg_1\nok";
  drawText(raster, 5, 4, text, [0, 0, 0], 2);
  const [w, h] = textSize(text, 2);
  let inside = 0, outside = 0;
  for (let y = 0; y < 30; y++) {
    for (let x = 0; x < 80; x++) {
      if (raster.data[(y * 80 + x) * 3] !== 0) continue;
      if (x >= 5 && x < 5 + w && y >= 4 && y < 4 + h) inside++;
      else outside++;
    }
  }
  assert.ok(inside > 50);
  assert.equal(outside, 0);
  assert.deepEqual(textSize(""), [0, 0]);
  assert.deepEqual(textSize("ab"), [11, 8]);
});
