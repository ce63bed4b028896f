// Times transformers.js encoding a JSON Lines corpus ({"text": ...} per line) with a local
// tokenizer folder, and writes the ids ({"ids": [...]} per line) for comparison with
// `deepseek tokenize`. Usage: node bench.mjs <tokenizer dir> <corpus.jsonl> [ids_out.jsonl]
import fs from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';

const [dir, corpus, idsOut] = process.argv.slice(2);
env.allowRemoteModels = false;
env.localModelPath = path.dirname(path.resolve(dir)) + '/';

const t0 = performance.now();
const tokenizer = await AutoTokenizer.from_pretrained(path.basename(path.resolve(dir)));
const t1 = performance.now();
const texts = fs.readFileSync(corpus, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l).text);
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const t2 = performance.now();
const all = texts.map((t) => tokenizer.encode(t, { add_special_tokens: false }));
const t3 = performance.now();
const tokens = all.reduce((n, ids) => n + ids.length, 0);
if (idsOut) fs.writeFileSync(idsOut, all.map((ids) => JSON.stringify({ ids })).join('\n') + '\n');
const encodeMs = t3 - t2;
console.error(`transformers.js: load ${(t1 - t0).toFixed(1)} ms, encoded ${texts.length} lines ` +
  `(${bytes} bytes, ${tokens} tokens) in ${encodeMs.toFixed(1)} ms = ` +
  `${(bytes / 1e6 / (encodeMs / 1e3)).toFixed(2)} MB/s`);
