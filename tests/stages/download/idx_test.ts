import { assertEquals } from "../../assert.ts";
import {
  checkPair,
  decodeIdxFile,
  parseIdx,
} from "../../../stages/download/idx.ts";
import {
  assertRejectsWith,
  assertThrowsWith,
  gzip,
  makeIdx,
} from "./_helpers.ts";

const pixels = Uint8Array.from({ length: 2 * 2 * 3 }, (_, i) => i * 10); // [2, 2, 3]

Deno.test("parseIdx() reads dims and data of a hand-made image file", () => {
  const file = parseIdx(makeIdx([2, 2, 3], pixels), "img");
  assertEquals(file.dims, [2, 2, 3]);
  assertEquals(Array.from(file.data), Array.from(pixels));
});

Deno.test("parseIdx() reads a label file", () => {
  const file = parseIdx(makeIdx([4], Uint8Array.of(5, 0, 4, 1)), "lbl");
  assertEquals(file.dims, [4]);
  assertEquals(Array.from(file.data), [5, 0, 4, 1]);
});

Deno.test("parseIdx() rejects a bad magic, naming the file", () => {
  assertThrowsWith(
    () => parseIdx(makeIdx([2, 2, 3], pixels, 0x00000d03), "bad.idx"),
    "IDX file 'bad.idx' has magic 0x00000d03",
  );
  // ubyte type but 2 dims: not an image or label file.
  assertThrowsWith(
    () => parseIdx(makeIdx([4, 3], pixels), "two-dims"),
    "'two-dims' has magic 0x00000802",
  );
});

Deno.test("parseIdx() rejects a truncated file and one too long", () => {
  const good = makeIdx([2, 2, 3], pixels);
  assertThrowsWith(
    () => parseIdx(good.subarray(0, good.length - 1), "short"),
    "IDX file 'short' is truncated: 27 bytes, dims [2, 2, 3] need exactly 28",
  );
  assertThrowsWith(
    () => parseIdx(good.subarray(0, 10), "hdr"),
    "header needs 16",
  );
  const long = new Uint8Array(good.length + 1);
  long.set(good);
  assertThrowsWith(
    () => parseIdx(long, "long"),
    "'long' is too long: 29 bytes",
  );
});

Deno.test("parseIdx() rejects wrong dims: a zero dim, or dims claiming more data", () => {
  assertThrowsWith(
    () => parseIdx(makeIdx([0, 2, 3], new Uint8Array(0)), "zero"),
    "zero dimension",
  );
  assertThrowsWith(
    () => parseIdx(makeIdx([3, 2, 3], pixels), "dims"),
    "truncated",
  );
});

Deno.test("parseIdx() names gzip input; decodeIdxFile() decompresses it", async () => {
  const zipped = await gzip(makeIdx([2, 2, 3], pixels));
  assertThrowsWith(() => parseIdx(zipped, "z.gz"), "'z.gz' is gzip-compressed");
  const file = await decodeIdxFile(zipped, "z.gz");
  assertEquals(Array.from(file.data), Array.from(pixels));
  await assertRejectsWith(
    () => decodeIdxFile(zipped.subarray(0, 20), "cut.gz"),
    "'cut.gz' is not valid gzip",
  );
});

Deno.test("checkPair() demands matching counts and image/label ranks", () => {
  const images = parseIdx(makeIdx([2, 2, 3], pixels), "i");
  const names = { images: "i", labels: "l" };
  assertEquals(
    checkPair(images, parseIdx(makeIdx([2], Uint8Array.of(1, 2)), "l"), names),
    {
      count: 2,
      rows: 2,
      cols: 3,
    },
  );
  assertThrowsWith(
    () =>
      checkPair(
        images,
        parseIdx(makeIdx([3], Uint8Array.of(1, 2, 3)), "l"),
        names,
      ),
    "'i' (2 images) and 'l' (3 labels) disagree",
  );
  assertThrowsWith(
    () => checkPair(images, images, names),
    "should hold labels [N]",
  );
});
