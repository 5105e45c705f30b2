#!/usr/bin/env bash
# Regenerates Sources/ONNXProto/onnx.pb.swift (committed; the build never runs protoc).
# Needs: apt-get install protobuf-compiler; pip install onnx==1.23.2; a built protoc-gen-swift 1.39.0
#   git clone --depth 1 --branch 1.39.0 https://github.com/apple/swift-protobuf && swift build -c release --product protoc-gen-swift
set -euo pipefail
plugin=${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the protoc-gen-swift binary}
proto_dir=$(python3 -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')
cd "$(dirname "$0")/.."
protoc --plugin=protoc-gen-swift="$plugin" --proto_path="$proto_dir" --swift_out=Sources/ONNXProto \
       --swift_opt=Visibility=Public "$proto_dir/onnx.proto"
