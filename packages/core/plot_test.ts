import assert from "node:assert/strict";
import { Image } from "imagescript";
import type { Rgb } from "./images.ts";
import { linePlot, lossPlot } from "./plot.ts";

const BLUE: Rgb = [31, 119, 180]; // the palette's first colour
const ORANGE: Rgb = [255, 127, 14]; // and its second
const GREEN: Rgb = [44, 160, 44];

/** The pixels of exactly `color`: how many, and their mean position. */
function find(image: Image, color: Rgb): { count: number; x: number; y: number } {
  let count = 0, sx = 0, sy = 0;
  for (let y = 1; y <= image.height; y++) {
    for (let x = 1; x <= image.width; x++) {
      const [r, g, b] = image.getRGBAAt(x, y);
      if (r === color[0] && g === color[1] && b === color[2]) count++, sx += x - 1, sy += y - 1;
    }
  }
  return { count, x: sx / count, y: sy / count };
}

/** Pixels darker than mid-grey in the 0-based box [x0, x1) × [y0, y1). */
function darkPixels(image: Image, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const [r, g, b] = image.getRGBAAt(x + 1, y + 1);
      if (r + g + b < 300) n++;
    }
  }
  return n;
}

const records = Array.from({ length: 50 }, (_, i) => ({
  step: (i + 1) * 10,
  epoch: 0,
  kind: "train",
  loss: 2 / (i + 1),
  kl: -0.5 + i / 100,
}));

Deno.test("lossPlot() draws one line per numeric field in the palette's colours", async () => {
  const image = await Image.decode(await lossPlot(records, { title: "loss" }));
  assert.equal(image.width, 640);
  assert.equal(image.height, 400);
  assert.ok(find(image, BLUE).count > 200, "the loss line");
  assert.ok(find(image, ORANGE).count > 200, "the kl line");
  assert.equal(find(image, GREEN).count, 0, "step and epoch are not series");
  // Loss falls from 2 to 0.04 and kl stays between -0.5 and 0: the loss line is higher on average.
  assert.ok(find(image, BLUE).y < find(image, ORANGE).y);
});

Deno.test("lossPlot() picks fields with keys and kinds, and rejects an unknown key", async () => {
  const mixed = [
    ...records,
    { step: 250, epoch: 0, kind: "eval", loss: 0.3, kl: 0 },
    { step: 500, epoch: 0, kind: "epoch", loss: 0.2, kl: 0 },
  ];
  const onlyKl = await Image.decode(await lossPlot(mixed, { keys: ["kl"] }));
  assert.equal(find(onlyKl, BLUE).count > 0, true, "kl is the first series now");
  assert.equal(find(onlyKl, ORANGE).count, 0);
  // An eval-only plot still has the loss colour; an epoch series a darker shade of it.
  const evalOnly = await Image.decode(await lossPlot(mixed, { kinds: ["eval"], keys: ["loss"] }));
  assert.ok(find(evalOnly, BLUE).count > 10);
  const epochOnly = await Image.decode(await lossPlot(mixed, { kinds: ["epoch"], keys: ["loss"] }));
  assert.ok(find(epochOnly, [19, 71, 108]).count > 10);
  await assert.rejects(() => lossPlot(mixed, { keys: ["los"] }), {
    name: "RangeError",
    message: 'lossPlot: key "los" is numeric in no record; numeric fields are: step, epoch, loss, kl',
  });
});

Deno.test("lossPlot() copes with NaN, one point, constant, negative and no data", async () => {
  const cases: Record<string, number | string>[][] = [
    [{ step: 1, loss: NaN }, { step: 2, loss: 1 }, { step: 3, loss: Infinity }, { step: 4, loss: 2 }],
    [{ step: 7, loss: 3 }],
    [{ step: 1, loss: 5 }, { step: 2, loss: 5 }],
    [{ step: 1, loss: -3 }, { step: 2, loss: -1e-6 }],
    [{ step: 1, loss: NaN }],
    [],
  ];
  for (const [i, recs] of cases.entries()) {
    const image = await Image.decode(await lossPlot(recs, { width: 320, height: 200 }));
    assert.equal(image.width, 320, `case ${i}`);
    const drawn = find(image, BLUE).count;
    if (i < 4) assert.ok(drawn >= 9, `case ${i}: ${drawn} pixels of the line or marker`);
  }
  // Zero and negative values on a log axis are left out, not an error.
  const log = await Image.decode(
    await lossPlot([{ step: 1, loss: 0 }, { step: 2, loss: -1 }, { step: 3, loss: 4 }], {
      logY: true,
    }),
  );
  assert.ok(find(log, BLUE).count >= 9);
});

Deno.test("lossPlot() draws twenty thousand records", async () => {
  const many = Array.from({ length: 20_000 }, (_, i) => ({ step: i, loss: 1 + Math.sin(i) }));
  const image = await Image.decode(await lossPlot(many));
  assert.ok(find(image, BLUE).count > 10_000);
});

Deno.test("linePlot() maps y linearly, or in log10 with logY", async () => {
  // Three unnamed single points (no legend), one colour each, at y = 1, 10, 100.
  const points = [
    { name: "", x: [0], y: [1], color: BLUE },
    { name: "", x: [1], y: [10], color: ORANGE },
    { name: "", x: [2], y: [100], color: GREEN },
  ];
  const lin = await Image.decode(await linePlot(points));
  const [a, b, c] = [BLUE, ORANGE, GREEN].map((color) => find(lin, color));
  assert.ok(Math.abs((b.y - a.y) / (c.y - a.y) - 9 / 99) < 0.02, `linear: ${a.y}, ${b.y}, ${c.y}`);
  assert.ok(Math.abs((b.x - a.x) - (c.x - b.x)) <= 1, "x is linear");
  const log = await Image.decode(await linePlot(points, { logY: true }));
  const [la, lb, lc] = [BLUE, ORANGE, GREEN].map((color) => find(log, color));
  assert.ok(Math.abs((lb.y - la.y) / (lc.y - la.y) - 0.5) < 0.02, `log: ${la.y}, ${lb.y}, ${lc.y}`);
});

Deno.test("linePlot() clips points outside yRange at the frame", async () => {
  const image = await Image.decode(
    await linePlot(
      [{ name: "", x: [0, 1, 2], y: [0, 50, 0], color: BLUE }],
      { yRange: [-1, 1] },
    ),
  );
  const line = find(image, BLUE);
  assert.ok(line.count > 0);
  const [top] = [...Array(image.height).keys()].filter((y) => {
    const [r, g, b] = image.getRGBAAt(320, y + 1);
    return r === 110 && g === 110 && b === 110; // the frame's top edge
  });
  for (let y = 0; y <= top; y++) {
    for (let x = 0; x < image.width; x++) {
      const [r, g, bl] = image.getRGBAAt(x + 1, y + 1);
      assert.ok(!(r === BLUE[0] && g === BLUE[1] && bl === BLUE[2]), `blue at (${x}, ${y}) above the frame`);
    }
  }
});

Deno.test("linePlot() writes text tick labels under their x positions", async () => {
  const series = [{ name: "", x: [0, 1, 2, 3], y: [1, 0.2, 0.1, 0], markers: false }, {
    name: "",
    x: [1],
    y: [0.5],
    color: GREEN,
  }];
  const plot = (labels: string[]) => linePlot(series, { height: 200, xTickLabels: labels });
  const named = await Image.decode(await plot(["none", "output", "conv2", "conv1"]));
  const unnamed = await Image.decode(await plot(["none", "", "conv2", "conv1"]));
  const x = Math.round(find(named, GREEN).x); // where x = 1 is drawn
  const under = (image: Image) => darkPixels(image, x - 18, 200 - 20, x + 18, 200);
  assert.ok(under(named) > 30, `"output" under x = 1: ${under(named)} dark pixels`);
  assert.equal(under(unnamed), 0);
});

Deno.test("linePlot() rejects series of unequal lengths and sizes too small to plot", async () => {
  await assert.rejects(() => linePlot([{ name: "rho", x: [0, 1], y: [1] }]), {
    name: "RangeError",
    message: 'linePlot: series "rho" has 2 x values and 1 y values, expected as many of each',
  });
  await assert.rejects(() => linePlot([], { width: 100 }), { name: "RangeError", message: /width is 100/ });
  await assert.rejects(() => linePlot([], { yRange: [1, 0] }), {
    name: "RangeError",
    message: /yRange is \[1,0\]/,
  });
  await assert.rejects(() => linePlot([], { logY: true, yRange: [0, 1] }), RangeError);
});
