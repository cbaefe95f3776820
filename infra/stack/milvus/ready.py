"""Milvus readiness probe: one real gRPC call (ShowCollections) through pymilvus' stubs.

Usage: python ready.py [host] [port]
"""
import sys

import grpc
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

host = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
port = sys.argv[2] if len(sys.argv) > 2 else "19530"
with grpc.insecure_channel(f"{host}:{port}") as ch:
    stub = milvus_pb2_grpc.MilvusServiceStub(ch)
    resp = stub.ShowCollections(milvus_pb2.ShowCollectionsRequest(), timeout=5)
    if resp.status.code != 0 or resp.status.error_code != 0:
        print(f"milvus not ready: {resp.status}", file=sys.stderr)
        sys.exit(1)
    print(f"milvus ready: {len(resp.collection_names)} collections")
