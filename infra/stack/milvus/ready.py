"""Milvus readiness probe: one real gRPC call (ShowCollections) through pymilvus' stubs.

With --load-all it also loads every existing collection: milvus-lite forgets the load state on
restart (collections come back 'released' and search/query answer error 101), while a real Milvus
restores it. Collections without a vector index cannot be loaded and are skipped.
Usage: python ready.py [host] [port] [--load-all]
"""
import sys

import grpc
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

args = [a for a in sys.argv[1:] if not a.startswith("--")]
host = args[0] if args else "127.0.0.1"
port = args[1] if len(args) > 1 else "19530"
with grpc.insecure_channel(f"{host}:{port}") as ch:
    stub = milvus_pb2_grpc.MilvusServiceStub(ch)
    resp = stub.ShowCollections(milvus_pb2.ShowCollectionsRequest(), timeout=5)
    if resp.status.code != 0 or resp.status.error_code != 0:
        print(f"milvus not ready: {resp.status}", file=sys.stderr)
        sys.exit(1)
    names = list(resp.collection_names)
    print(f"milvus ready: {len(names)} collections")
    if "--load-all" in sys.argv:
        for name in names:
            st = stub.LoadCollection(milvus_pb2.LoadCollectionRequest(collection_name=name), timeout=60)
            ok = st.code == 0 and st.error_code == 0
            print(f"  load {name}: {'ok' if ok else 'skipped (' + st.reason + ')'}")
