// Runs a wasm32-wasip1 program under node's built-in WASI (preview 1), passing on its stdout,
// stderr and exit code: `node run.mjs FILE.wasm`.
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";

const file = process.argv[2];
const wasi = new WASI({ version: "preview1", args: [file], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
