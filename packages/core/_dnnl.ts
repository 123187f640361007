/**
 * oneDNN (v2 C API, `libdnnl.so.2`) through `Deno.dlopen`: direct
 * convolutions, forward and both gradients, on NHWC float32 data where it
 * lies (the wasm heap), with TF.js's filter layout `[kh, kw, in, out]`.
 *
 * oneDNN's JIT kernels run these convolutions 3-4× faster than im2col and
 * one BLAS product (the saliency CNN's second convolution at batch 128:
 * about 2.6 ms each way against 8-11). They want the filter in their own
 * blocked layout, so each call reorders the (small) filter in and, for the
 * filter gradient, out. Primitives are built once per geometry and kept.
 *
 * Only `native.ts` imports this module.
 *
 * @module
 */

import type { PatchGeometry } from "./_im2col.ts";

const P = "pointer" as const, B = "buffer" as const;

const SYMBOLS = {
  dnnl_version: { parameters: [], result: P },
  dnnl_engine_create: { parameters: [B, "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: [B, P, "u32"], result: "i32" },
  dnnl_memory_desc_init_by_tag: { parameters: [B, "i32", B, "i32", "i32"], result: "i32" },
  dnnl_convolution_forward_desc_init: {
    parameters: [B, "i32", "i32", P, P, P, P, B, B, B],
    result: "i32",
  },
  dnnl_convolution_backward_data_desc_init: { parameters: [B, "i32", P, P, P, B, B, B], result: "i32" },
  dnnl_convolution_backward_weights_desc_init: {
    parameters: [B, "i32", P, P, P, P, B, B, B],
    result: "i32",
  },
  dnnl_reorder_primitive_desc_create: { parameters: [B, P, P, P, P, P], result: "i32" },
  dnnl_primitive_desc_create: { parameters: [B, B, P, P, P], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: [P, "i32", "i32"], result: P },
  dnnl_primitive_desc_destroy: { parameters: [P], result: "i32" },
  dnnl_primitive_create: { parameters: [B, P], result: "i32" },
  dnnl_memory_create: { parameters: [B, P, P, P], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: [P, P], result: "i32" },
  dnnl_memory_desc_equal: { parameters: [P, P], result: "i32" },
  dnnl_primitive_execute: { parameters: [P, P, "i32", B], result: "i32" },
  dnnl_stream_wait: { parameters: [P], result: "i32" },
} as const;

// values from oneDNN 2.x's dnnl_types.h
const CPU = 1, IN_ORDER = 1, F32 = 3;
const TAG_ANY = 1, TAG_NHWC = 20, TAG_HWIO = 30;
const FORWARD_TRAINING = 64, DIRECT = 1;
const QUERY_WEIGHTS_MD = 131, QUERY_DIFF_WEIGHTS_MD = 132;
const ARG_SRC = 1,
  ARG_DST = 17,
  ARG_WEIGHTS = 33,
  ARG_DIFF_SRC = 129,
  ARG_DIFF_DST = 145,
  ARG_DIFF_WEIGHTS = 161;
/** Generous upper bounds of `sizeof(dnnl_memory_desc_t)` (696) and of an op descriptor (5,976) in 2.x. */
const MD_BYTES = 2048, DESC_BYTES = 16384;
/** `DNNL_MEMORY_ALLOCATE`: the library allocates the buffer. */
const ALLOCATE = 0xffff_ffff_ffff_ffffn;

/** Libraries tried in order: the v2 API (Debian 12's `libdnnl2`, which `python3-torch` pulls in). */
export const DEFAULT_DNNL_LIBRARIES: readonly string[] = [
  "libdnnl.so.2",
  "/usr/lib/x86_64-linux-gnu/libdnnl.so.2",
];

/**
 * A 2-D convolution's shape, NHWC data and `[kh, kw, in, out]` filters,
 * dilation 1: im2col's geometry (`channels` being the input's) plus what
 * oneDNN needs besides.
 */
export interface ConvShape extends PatchGeometry {
  outChannels: number;
  /** Rows of zero padding below the image. */
  bottom: number;
  /** Columns of zero padding right of the image. */
  right: number;
}

/** Byte addresses of tensors (the wasm heap's base plus their offsets). */
type Address = Deno.PointerValue;

/** One geometry's convolution in each direction; every call overwrites its output. */
export interface DnnlConv {
  /** `y = conv(x, w)`. */
  forward(x: Address, w: Address, y: Address): void;
  /** `dx = conv_backward_data(dy, w)`. */
  backwardData(dy: Address, w: Address, dx: Address): void;
  /** `dw = conv_backward_weights(x, dy)`. */
  backwardWeights(x: Address, dy: Address, dw: Address): void;
}

/** The loaded library: convolutions by shape (`undefined` where oneDNN declines one). */
export interface Dnnl {
  library: string;
  conv(shape: ConvShape): DnnlConv | undefined;
}

type Lib = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

class DnnlError extends Error {}

/** Loads oneDNN 2.x; a reason instead when no library loads. */
export function loadDnnl(library?: string): Dnnl | string {
  const errors: string[] = [];
  for (const path of library ? [library] : DEFAULT_DNNL_LIBRARIES) {
    let lib: Lib;
    try {
      lib = Deno.dlopen(path, SYMBOLS).symbols;
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message.split("\n")[0]}`);
      continue;
    }
    const major = new Deno.UnsafePointerView(lib.dnnl_version()!).getInt32(0);
    if (major !== 2) {
      errors.push(`${path}: version ${major}, expected 2`);
      continue;
    }
    try {
      return new Library(lib, path);
    } catch (error) {
      errors.push(`${path}: ${(error as Error).message}`);
    }
  }
  return `no oneDNN 2 library found (${errors.join("; ")})`;
}

function handleOut(): BigUint64Array {
  return new BigUint64Array(1);
}

function pointerOf(out: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(out[0]);
}

function dims(values: number[]): BigInt64Array {
  return new BigInt64Array(values.map(BigInt));
}

class Library implements Dnnl {
  readonly library: string;
  readonly #lib: Lib;
  readonly #engine: Deno.PointerValue;
  readonly #stream: Deno.PointerValue;
  readonly #convs = new Map<string, DnnlConv | null>();

  constructor(lib: Lib, library: string) {
    this.#lib = lib;
    this.library = library;
    const engine = handleOut(), stream = handleOut();
    this.#check(lib.dnnl_engine_create(engine, CPU, 0n), "dnnl_engine_create");
    this.#engine = pointerOf(engine);
    this.#check(lib.dnnl_stream_create(stream, this.#engine, IN_ORDER), "dnnl_stream_create");
    this.#stream = pointerOf(stream);
  }

  #check(status: number, what: string): void {
    if (status !== 0) throw new DnnlError(`${what} failed with status ${status}`);
  }

  conv(shape: ConvShape): DnnlConv | undefined {
    const key = Object.values(shape).join();
    let conv = this.#convs.get(key);
    if (conv === undefined) {
      try {
        conv = this.#build(shape);
      } catch (error) {
        if (!(error instanceof DnnlError)) throw error;
        conv = null; // oneDNN declined this geometry: the caller's fallback runs it
      }
      if (this.#convs.size >= 64) this.#convs.clear(); // many batch sizes: rebuild rather than grow
      this.#convs.set(key, conv);
    }
    return conv ?? undefined;
  }

  #md(shape: number[], tag: number): Uint8Array {
    const md = new Uint8Array(MD_BYTES);
    this.#check(
      this.#lib.dnnl_memory_desc_init_by_tag(md, shape.length, dims(shape), F32, tag),
      "dnnl_memory_desc_init_by_tag",
    );
    return md;
  }

  #primitiveDesc(desc: Uint8Array, hint: Deno.PointerValue, what: string): Deno.PointerValue {
    const out = handleOut();
    this.#check(this.#lib.dnnl_primitive_desc_create(out, desc, null, this.#engine, hint), what);
    return pointerOf(out);
  }

  #primitive(pd: Deno.PointerValue): Deno.PointerValue {
    const out = handleOut();
    this.#check(this.#lib.dnnl_primitive_create(out, pd), "dnnl_primitive_create");
    return pointerOf(out);
  }

  /** A memory object of layout `md`: on a buffer set before each use, or `allocate`d by oneDNN. */
  #memory(md: Deno.PointerValue, allocate = false): Deno.PointerValue {
    const out = handleOut();
    const handle = allocate ? Deno.UnsafePointer.create(ALLOCATE) : null;
    this.#check(this.#lib.dnnl_memory_create(out, md, this.#engine, handle), "dnnl_memory_create");
    return pointerOf(out);
  }

  /** A reorder from layout `from` to `to`, with its two memory objects (`to`'s allocated when `allocateTo`). */
  #reorder(from: Deno.PointerValue, to: Deno.PointerValue, allocateTo: boolean) {
    const out = handleOut();
    this.#check(
      this.#lib.dnnl_reorder_primitive_desc_create(out, from, this.#engine, to, this.#engine, null),
      "dnnl_reorder_primitive_desc_create",
    );
    const pd = pointerOf(out);
    const primitive = this.#primitive(pd);
    this.#lib.dnnl_primitive_desc_destroy(pd);
    return {
      primitive,
      from: this.#memory(from, !allocateTo),
      to: this.#memory(to, allocateTo),
    };
  }

  #run(primitive: Deno.PointerValue, args: [number, Deno.PointerValue][]): void {
    const buffer = new BigUint64Array(args.length * 2); // dnnl_exec_arg_t: { int arg; dnnl_memory_t memory; }
    args.forEach(([arg, memory], i) => {
      buffer[2 * i] = BigInt(arg);
      buffer[2 * i + 1] = BigInt(Deno.UnsafePointer.value(memory));
    });
    this.#check(
      this.#lib.dnnl_primitive_execute(primitive, this.#stream, args.length, buffer),
      "dnnl_primitive_execute",
    );
    this.#check(this.#lib.dnnl_stream_wait(this.#stream), "dnnl_stream_wait");
  }

  #set(memory: Deno.PointerValue, address: Address): void {
    this.#check(this.#lib.dnnl_memory_set_data_handle(memory, address), "dnnl_memory_set_data_handle");
  }

  #build(s: ConvShape): DnnlConv {
    const lib = this.#lib, u = Deno.UnsafePointer.of;
    // oneDNN's logical dims are N, C, H, W and O, I, H, W; the tags give TF.js's physical layouts
    const src = this.#md([s.batch, s.channels, s.inHeight, s.inWidth], TAG_NHWC);
    const dst = this.#md([s.batch, s.outChannels, s.outHeight, s.outWidth], TAG_NHWC);
    const wShape = [s.outChannels, s.channels, s.kh, s.kw];
    const userW = this.#md(wShape, TAG_HWIO), anyW = this.#md(wShape, TAG_ANY);
    const strides = dims([s.sh, s.sw]), padL = dims([s.top, s.left]), padR = dims([s.bottom, s.right]);

    const desc = new Uint8Array(DESC_BYTES);
    this.#check(
      lib.dnnl_convolution_forward_desc_init(
        desc,
        FORWARD_TRAINING,
        DIRECT,
        u(src),
        u(anyW),
        null,
        u(dst),
        strides,
        padL,
        padR,
      ),
      "dnnl_convolution_forward_desc_init",
    );
    const forwardPd = this.#primitiveDesc(desc, null, "convolution forward");

    /** The weights memory a primitive reads or writes, with the reorder from or to the user's layout. */
    const weightsFor = (pd: Deno.PointerValue, query: number, into: boolean) => {
      const md = lib.dnnl_primitive_desc_query_md(pd, query, 0);
      if (lib.dnnl_memory_desc_equal(md, u(userW))) return { memory: this.#memory(md), reorder: undefined };
      const reorder = into ? this.#reorder(u(userW), md, true) : this.#reorder(md, u(userW), false);
      return { memory: into ? reorder.to : reorder.from, reorder };
    };

    const fw = weightsFor(forwardPd, QUERY_WEIGHTS_MD, true);
    const forward = {
      primitive: this.#primitive(forwardPd),
      src: this.#memory(u(src)),
      dst: this.#memory(u(dst)),
      ...fw,
    };

    /** A backward primitive from its op descriptor, with its weights (read, or written as a gradient). */
    const makeBackward = (desc: Uint8Array, what: string, weightsQuery: number, weightsIn: boolean) => {
      const pd = this.#primitiveDesc(desc, forwardPd, what);
      const result = {
        primitive: this.#primitive(pd),
        src: this.#memory(u(src)),
        dst: this.#memory(u(dst)),
        ...weightsFor(pd, weightsQuery, weightsIn),
      };
      lib.dnnl_primitive_desc_destroy(pd);
      return result;
    };
    const dataDesc = new Uint8Array(DESC_BYTES), weightsDesc = new Uint8Array(DESC_BYTES);
    this.#check(
      lib.dnnl_convolution_backward_data_desc_init(
        dataDesc,
        DIRECT,
        u(src),
        u(anyW),
        u(dst),
        strides,
        padL,
        padR,
      ),
      "dnnl_convolution_backward_data_desc_init",
    );
    this.#check(
      lib.dnnl_convolution_backward_weights_desc_init(
        weightsDesc,
        DIRECT,
        u(src),
        u(anyW),
        null,
        u(dst),
        strides,
        padL,
        padR,
      ),
      "dnnl_convolution_backward_weights_desc_init",
    );
    // the backward primitives need the forward one as a hint: build them now, while it lives
    const backwardData = makeBackward(dataDesc, "convolution backward data", QUERY_WEIGHTS_MD, true);
    const backwardWeights = makeBackward(
      weightsDesc,
      "convolution backward weights",
      QUERY_DIFF_WEIGHTS_MD,
      false,
    );
    lib.dnnl_primitive_desc_destroy(forwardPd);

    /** Points the weights at `w` (reordering into oneDNN's layout when it has its own). */
    const weightsIn = (p: typeof forward, w: Address) => {
      if (p.reorder) {
        this.#set(p.reorder.from, w);
        this.#run(p.reorder.primitive, [[ARG_SRC, p.reorder.from], [ARG_DST, p.reorder.to]]);
      } else {
        this.#set(p.memory, w);
      }
    };
    return {
      forward: (x, w, y) => {
        weightsIn(forward, w);
        this.#set(forward.src, x);
        this.#set(forward.dst, y);
        this.#run(forward.primitive, [[ARG_SRC, forward.src], [ARG_WEIGHTS, forward.memory], [
          ARG_DST,
          forward.dst,
        ]]);
      },
      backwardData: (dy, w, dx) => {
        const p = backwardData;
        weightsIn(p, w);
        this.#set(p.dst, dy);
        this.#set(p.src, dx);
        this.#run(p.primitive, [[ARG_DIFF_DST, p.dst], [ARG_WEIGHTS, p.memory], [ARG_DIFF_SRC, p.src]]);
      },
      backwardWeights: (x, dy, dw) => {
        const p = backwardWeights;
        this.#set(p.src, x);
        this.#set(p.dst, dy);
        if (p.reorder) {
          this.#run(p.primitive, [[ARG_SRC, p.src], [ARG_DIFF_DST, p.dst], [ARG_DIFF_WEIGHTS, p.memory]]);
          this.#set(p.reorder.to, dw);
          this.#run(p.reorder.primitive, [[ARG_SRC, p.reorder.from], [ARG_DST, p.reorder.to]]);
        } else {
          this.#set(p.memory, dw);
          this.#run(p.primitive, [[ARG_SRC, p.src], [ARG_DIFF_DST, p.dst], [ARG_DIFF_WEIGHTS, p.memory]]);
        }
      },
    };
  }
}
