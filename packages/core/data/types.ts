/** A set of square grey-scale images with labels, pixels in [0, 1]. */
export interface ImageSet {
  /** `count × rows × cols` pixels, row-major, byte/255. */
  images: Float32Array;
  /** One label per image (0-9 for the MNIST family). */
  labels: Uint8Array;
  /** Number of images. */
  count: number;
  /** Image height in pixels. */
  rows: number;
  /** Image width in pixels. */
  cols: number;
}

/** A dataset with a training and a test part, as read from IDX files or the embedded digits. */
export interface ImageDataset {
  /** The training images (absent when only the test pair was read). */
  train?: ImageSet;
  /** The test images (absent when only the training pair was read). */
  test?: ImageSet;
  /** Where the data came from: a folder path, or `"embedded:mnist"`. */
  source: string;
}

/** Raised for a data file or folder that cannot be used; the message names the file. */
export class DataError extends Error {
  /** Creates the error with a message naming the file and the problem. */
  constructor(message: string) {
    super(message);
    this.name = "DataError";
  }
}
