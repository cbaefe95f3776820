"""GPTCache measured on the same job as LLM-Cache, for test/bench/gptcache-peer.ts.

GPTCache is set up as its documentation recommends for local use: SQLite scalar store and FAISS vector
store through get_data_manager, the api put/get functions with get_prompt, and the
SearchDistanceEvaluation that its docs pair with FAISS. Two things are changed so both caches are
measured on the same ground:

- the embedding function runs the same quantized all-MiniLM-L6-v2 ONNX file as LLM-Cache, tokenized by
  the same tokenizer.json (no padding, at most 128 tokens with [CLS] and [SEP]), one onnxruntime thread,
  mean pooling over the tokens and L2 normalization;
- the evaluation's max_distance is 2: FAISS returns the squared L2 distance d of unit vectors,
  d = 2 - 2 cos, so GPTCache's rank 2 - d over its range (0, 2) is exactly the cosine, and its
  similarity_threshold means what LLM-Cache's threshold means (negative cosines clip to 0 in both).

The eviction size is raised above the number of stored texts (its default of 1000 would evict during
the run); everything else keeps GPTCache's defaults, hit reports to SQLite included.

Job (JSON on stdin, or a file named by --job):
  {"modelDir": str, "dataDir": str, "entries": [{"question": str, "answer": str}],
   "lookups": [str], "threshold": float, "thresholds": [float], "warmup": int}
Result (JSON on stdout; progress on stderr):
  versions, the configuration, store time, a timed pass of get() at `threshold` (per-lookup latency in
  ms, the answer or null for a miss, and GPTCache's own mean time per step), and a quality pass at threshold 0 where every get() returns its nearest entry:
  per lookup the best score, the answer of that entry and hit or miss at each of `thresholds`.
"""

import argparse
import json
import os
import platform
import sys
import time
from importlib.metadata import version

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

import gptcache
from gptcache import Cache, Config
from gptcache.adapter.api import get, put
from gptcache.manager import CacheBase, VectorBase, get_data_manager
from gptcache.processor.pre import get_prompt
from gptcache.report import Report
from gptcache.similarity_evaluation.distance import SearchDistanceEvaluation

MODEL_FILE = "all-minilm-l6-v2-q.onnx"
TOKENIZER_FILE = "all-minilm-l6-v2-q-tokenizer.json"
MAX_TOKENS = 128
DIMENSIONS = 384


def log(message):
    sys.stderr.write(f"[gptcache] {message}\n")
    sys.stderr.flush()


class MiniLmOnnx:
    """Sentence embeddings from the ONNX model file LLM-Cache uses, computed the way LLM-Cache does."""

    def __init__(self, model_dir):
        self.tokenizer = Tokenizer.from_file(os.path.join(model_dir, TOKENIZER_FILE))
        # The file asks for padding to 128; LLM-Cache feeds only the real tokens, so do the same.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            os.path.join(model_dir, MODEL_FILE), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.dimension = DIMENSIONS

    def to_embeddings(self, data, **_):
        ids = np.array([self.tokenizer.encode(data).ids], dtype=np.int64)
        ones = np.ones_like(ids)
        (hidden,) = self.session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": ones, "token_type_ids": np.zeros_like(ids)},
        )
        vector = hidden[0].mean(axis=0)
        return (vector / np.linalg.norm(vector)).astype(np.float32)


def percentile(sorted_values, p):
    """Nearest-rank percentile, the same rule the TypeScript side uses."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def run(job):
    data_dir = job["dataDir"]
    os.makedirs(data_dir, exist_ok=True)
    entries = job["entries"]
    lookups = job["lookups"]
    threshold = float(job["threshold"])
    thresholds = [float(t) for t in job["thresholds"]]
    warmup = int(job.get("warmup", 20))

    embedder = MiniLmOnnx(job["modelDir"])
    data_manager = get_data_manager(
        CacheBase("sqlite", sql_url="sqlite:///" + os.path.join(data_dir, "sqlite.db")),
        VectorBase("faiss", dimension=embedder.dimension, index_path=os.path.join(data_dir, "faiss.index")),
        max_size=len(entries) + 1000,
    )
    evaluation = SearchDistanceEvaluation(max_distance=2.0)
    cache = Cache()
    cache.init(
        pre_embedding_func=get_prompt,
        embedding_func=embedder.to_embeddings,
        data_manager=data_manager,
        similarity_evaluation=evaluation,
        config=Config(similarity_threshold=threshold),
    )

    log(f"storing {len(entries)} texts (SQLite + FAISS in {data_dir})")
    started = time.perf_counter()
    for i, entry in enumerate(entries):
        put(entry["question"], entry["answer"], cache_obj=cache)
        if (i + 1) % 500 == 0:
            log(f"stored {i + 1}/{len(entries)}")
    cache.flush()
    store_seconds = time.perf_counter() - started
    stored = data_manager.v.count()
    log(f"stored {stored} vectors in {store_seconds:.1f}s")

    for text in lookups[:warmup]:
        get(text, cache_obj=cache)

    log(f"timed pass: {len(lookups)} get() calls at threshold {threshold}")
    cache.report = Report()
    latencies = []
    timed_answers = []
    started = time.perf_counter()
    for i, text in enumerate(lookups):
        t0 = time.perf_counter()
        answer = get(text, cache_obj=cache)
        latencies.append((time.perf_counter() - t0) * 1000)
        timed_answers.append(answer)
        if (i + 1) % 500 == 0:
            log(f"looked up {i + 1}/{len(lookups)}")
    timed_seconds = time.perf_counter() - started
    ordered = sorted(latencies)
    report = cache.report
    # GPTCache's own timing of each step over the timed pass: mean ms per call of that step.
    steps_ms = {
        name: (counter.total_time / counter.count * 1000 if counter.count else 0.0)
        for name, counter in [
            ("preprocess", report.op_pre),
            ("embedding", report.op_embedding),
            ("search", report.op_search),
            ("scalarFetch", report.op_data),
            ("evaluation", report.op_evaluation),
            ("postprocess", report.op_post),
        ]
    }

    log(f"quality pass: {len(lookups)} get() calls at threshold 0 (every lookup returns its nearest entry)")
    cache.config.similarity_threshold = 0.0
    quality = []
    for i, text in enumerate(lookups):
        seen = []
        answer = get(text, cache_obj=cache, hit_callback=seen.extend)
        # hit_callback gets (question, rank / (max - min)) best first: here rank / 2, the cosine.
        score = float(seen[0][1]) if seen else 0.0
        quality.append({"score": score, "answer": answer, "hits": [answer is not None and score >= t for t in thresholds]})
        if (i + 1) % 500 == 0:
            log(f"scored {i + 1}/{len(lookups)}")
    cache.config.similarity_threshold = threshold
    data_manager.close()

    return {
        "versions": {
            "python": platform.python_version(),
            "gptcache": gptcache.__version__,
            "faiss-cpu": version("faiss-cpu"),
            "onnxruntime": ort.__version__,
            "tokenizers": version("tokenizers"),
            "numpy": np.__version__,
            "sqlalchemy": version("sqlalchemy"),
        },
        "config": {
            "dataManager": "get_data_manager(CacheBase('sqlite'), VectorBase('faiss', dimension=384), max_size=stored+1000)",
            "vectorIndex": "FAISS IDMap,Flat (exact L2), top_k 1",
            "evaluation": "SearchDistanceEvaluation(max_distance=2.0): rank = 2 - squared L2 = 2 cos",
            "embedding": "all-MiniLM-L6-v2 quantized ONNX, mean pooling, L2 normalized, 1 onnxruntime thread",
            "preEmbedding": "get_prompt",
        },
        "stored": stored,
        "storeSeconds": store_seconds,
        "timed": {
            "threshold": threshold,
            "lookups": len(lookups),
            "seconds": timed_seconds,
            "lookupsPerSecond": len(lookups) / timed_seconds if timed_seconds > 0 else 0.0,
            "p50Ms": percentile(ordered, 50),
            "p99Ms": percentile(ordered, 99),
            "latenciesMs": latencies,
            "answers": timed_answers,
            "stepsMs": steps_ms,
        },
        "thresholds": thresholds,
        "quality": quality,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--job", help="job file (JSON); stdin when absent")
    args = parser.parse_args()
    if args.job:
        with open(args.job, encoding="utf-8") as f:
            job = json.load(f)
    else:
        job = json.load(sys.stdin)
    json.dump(run(job), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
