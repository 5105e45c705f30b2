#!/usr/bin/env python3
"""Makes the golden fixtures of Tests/AutoMixTests/Fixtures (run once; the outputs are committed).

  python3 -m venv /tmp/venv && /tmp/venv/bin/pip install onnx onnxruntime pillow numpy
  /tmp/venv/bin/python Scripts/make_golden.py

* logits/: onnxruntime outputs of every model in ../shared/datasets/models on a fixed input that the
  Swift tests regenerate bit for bit (`fixed_input`), plus small op-coverage models (ops/) made with
  onnx.helper and their onnxruntime outputs.
* preprocess/: JPEG/PNG files (RGB, grayscale, CMYK, odd sizes) and the tensors PIL + numpy make from
  them with torchvision's rules (Resize short side with int(size*long/short), CenterCrop with
  round-half-even offsets, /255, (x-mean)/std in float32).
"""
import json, os, sys
import numpy as np
from fixed_input import fixed_input
import onnx
from onnx import helper as oh, TensorProto as TP, numpy_helper as nh
import onnxruntime as ort
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "Tests", "AutoMixTests", "Fixtures")
MODELS = os.path.join(ROOT, "..", "shared", "datasets", "models")




def run(path, x, optimized=True):
    so = ort.SessionOptions()
    if not optimized:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})


def save_case(dirname, name, model_path, shape, optimized):
    x = fixed_input(shape)
    outs = run(model_path, x, optimized)
    os.makedirs(dirname, exist_ok=True)
    outs[0].astype("<f4").tofile(os.path.join(dirname, name + ".out.bin"))
    return {"name": name, "input_shape": list(shape), "output_shape": list(outs[0].shape)}


def op_models():
    """(name, opset, nodes, initializers, input shape, output name) of small single-purpose graphs."""
    r = np.random.RandomState(0)
    f = lambda *s: r.randn(*s).astype(np.float32)
    cases = []
    def add(name, nodes, inits, shape, opset=13, out="y", dyn=True):
        cases.append((name, opset, nodes, inits, shape, out, dyn))

    add("conv_groups_dilation_asympad", [oh.make_node("Conv", ["x", "w", "b"], ["y"], group=2, dilations=[2, 1],
        strides=[2, 1], pads=[1, 0, 2, 1])], {"w": f(6, 2, 3, 3), "b": f(6)}, [2, 4, 9, 11])
    add("conv_same_upper", [oh.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
        {"w": f(5, 3, 3, 2)}, [2, 3, 8, 7])
    add("conv_same_lower", [oh.make_node("Conv", ["x", "w"], ["y"], auto_pad="SAME_LOWER", strides=[2, 2])],
        {"w": f(5, 3, 4, 4)}, [2, 3, 9, 9])
    add("conv_depthwise_multiplier", [oh.make_node("Conv", ["x", "w", "b"], ["y"], group=4, strides=[2, 2], pads=[1, 1, 1, 1])],
        {"w": f(8, 1, 3, 3), "b": f(8)}, [3, 4, 10, 9])
    add("conv_depthwise_5x5_dilated", [oh.make_node("Conv", ["x", "w"], ["y"], group=6, dilations=[2, 2], pads=[4, 4, 4, 4])],
        {"w": f(6, 1, 5, 5)}, [2, 6, 12, 12])
    add("conv_1x1_relu", [oh.make_node("Conv", ["x", "w", "b"], ["t"]), oh.make_node("Relu", ["t"], ["y"])],
        {"w": f(7, 5, 1, 1), "b": f(7)}, [2, 5, 6, 6])
    add("conv_bn_fold", [oh.make_node("Conv", ["x", "w"], ["t"], pads=[1, 1, 1, 1]),
                         oh.make_node("BatchNormalization", ["t", "g", "be", "m", "v"], ["y"], epsilon=1e-3)],
        {"w": f(4, 3, 3, 3), "g": f(4), "be": f(4), "m": f(4), "v": np.abs(f(4)) + 0.5}, [2, 3, 8, 8])
    add("batchnorm_standalone", [oh.make_node("Add", ["x", "c"], ["t"]),
                                 oh.make_node("BatchNormalization", ["t", "g", "be", "m", "v"], ["y"])],
        {"c": f(1, 3, 1, 1), "g": f(3), "be": f(3), "m": f(3), "v": np.abs(f(3)) + 0.5}, [2, 3, 4, 5])
    add("gemm_trans_alpha_beta", [oh.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)],
        {"w": f(6, 10), "c": f(6)}, [3, 10])
    add("gemm_transA", [oh.make_node("Gemm", ["x", "w", "c"], ["y"], transA=1)], {"w": f(3, 4), "c": f(1, 4)}, [3, 5], dyn=False)
    add("gemm_bn_fold", [oh.make_node("Gemm", ["x", "w"], ["t"]),
                         oh.make_node("BatchNormalization", ["t", "g", "be", "m", "v"], ["y"])],
        {"w": f(8, 5), "g": f(5), "be": f(5), "m": f(5), "v": np.abs(f(5)) + 0.5}, [4, 8])
    add("matmul_add", [oh.make_node("MatMul", ["x", "w"], ["t"]), oh.make_node("Add", ["t", "b"], ["y"])],
        {"w": f(12, 7), "b": f(7)}, [3, 12])
    add("matmul_3d", [oh.make_node("MatMul", ["x", "w"], ["y"])], {"w": f(6, 4)}, [2, 5, 6])
    add("binary_broadcast", [oh.make_node("Add", ["x", "a"], ["t1"]), oh.make_node("Sub", ["t1", "s"], ["t2"]),
                             oh.make_node("Mul", ["t2", "m"], ["t3"]), oh.make_node("Div", ["t3", "d"], ["y"])],
        {"a": f(3, 1, 1), "s": f(1, 5), "m": np.array(1.5, np.float32), "d": np.abs(f(4, 1)) + 0.5}, [2, 3, 4, 5])
    add("binary_two_activations", [oh.make_node("Relu", ["x"], ["a"]), oh.make_node("Sigmoid", ["x"], ["b"]),
                                   oh.make_node("Mul", ["a", "b"], ["y"])], {}, [2, 3, 4, 5])
    add("clip_relu6_inputs", [oh.make_node("Clip", ["x", "lo", "hi"], ["y"])],
        {"lo": np.array(0, np.float32), "hi": np.array(0.6, np.float32)}, [2, 3, 4, 5])
    add("clip_min_only_is_relu", [oh.make_node("Clip", ["x", "lo"], ["y"])], {"lo": np.array(0, np.float32)}, [2, 7])
    add("clip_opset11_constant_nodes", [oh.make_node("Constant", [], ["lo"], value=nh.from_array(np.array(-0.3, np.float32))),
                                        oh.make_node("Constant", [], ["hi"], value=nh.from_array(np.array(0.4, np.float32))),
                                        oh.make_node("Clip", ["x", "lo", "hi"], ["y"])], {}, [2, 3, 4], opset=11)
    add("activations", [oh.make_node("LeakyRelu", ["x"], ["a"], alpha=0.2), oh.make_node("HardSigmoid", ["a"], ["b"], alpha=0.3, beta=0.4),
                        oh.make_node("Tanh", ["x"], ["c"]), oh.make_node("HardSwish", ["c"], ["d"]),
                        oh.make_node("Add", ["b", "d"], ["y"])], {}, [2, 3, 4, 5], opset=14)
    add("prelu_channel", [oh.make_node("PRelu", ["x", "s"], ["y"])], {"s": f(3, 1, 1)}, [2, 3, 4, 5])
    add("softmax_axis1_opset13", [oh.make_node("Softmax", ["x"], ["y"], axis=1)], {}, [2, 3, 4, 5])
    add("softmax_opset11_flatten", [oh.make_node("Softmax", ["x"], ["y"], axis=1)], {}, [2, 3, 4, 5], opset=11)
    add("maxpool_ceil_pads", [oh.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)],
        {}, [2, 3, 10, 9])
    add("avgpool_exclude_pad", [oh.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])],
        {}, [2, 3, 9, 8])
    add("avgpool_include_pad_ceil", [oh.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                                                  count_include_pad=1, ceil_mode=1)], {}, [2, 3, 10, 10])
    add("gap_flatten_axis2", [oh.make_node("GlobalAveragePool", ["x"], ["g"]), oh.make_node("Flatten", ["g"], ["y"], axis=1)], {}, [2, 6, 5, 4])
    add("flatten_axis2", [oh.make_node("Flatten", ["x"], ["y"], axis=2)], {}, [2, 3, 4, 5])
    add("reshape_shape_chain", [
        oh.make_node("Shape", ["x"], ["s"]),
        oh.make_node("Gather", ["s", "i0"], ["n"], axis=0),
        oh.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
        oh.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
        oh.make_node("Reshape", ["x", "shape"], ["y"])],
        {"i0": np.array(0, np.int64), "ax": np.array([0], np.int64), "m1": np.array([-1], np.int64)}, [2, 3, 4, 5])
    add("transpose_concat", [oh.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]), oh.make_node("Concat", ["t", "c"], ["y"], axis=-1)],
        {"c": f(2, 4, 5, 2)}, [2, 3, 4, 5], dyn=False)
    add("pad_into_conv", [oh.make_node("Pad", ["x", "p"], ["t"]), oh.make_node("Conv", ["t", "w"], ["y"], strides=[2, 2])],
        {"p": np.array([0, 0, 0, 1, 0, 0, 1, 2], np.int64), "w": f(4, 3, 3, 3)}, [2, 3, 9, 9])
    add("pad_constant_value", [oh.make_node("Pad", ["x", "p", "v"], ["y"])],
        {"p": np.array([0, 1, 2, 0, 0, 0, 1, 3], np.int64), "v": np.array(0.5, np.float32)}, [2, 3, 4, 5])
    add("squeeze_unsqueeze_opset13", [oh.make_node("Unsqueeze", ["x", "a"], ["t"]), oh.make_node("Squeeze", ["t", "a2"], ["y"])],
        {"a": np.array([1, -1], np.int64), "a2": np.array([1], np.int64)}, [2, 3, 4])
    add("squeeze_unsqueeze_opset11", [oh.make_node("Unsqueeze", ["x"], ["t"], axes=[0, 4]), oh.make_node("Squeeze", ["t"], ["y"], axes=[0])],
        {}, [2, 3, 4], opset=11)
    add("identity_dropout", [oh.make_node("Identity", ["x"], ["a"]), oh.make_node("Dropout", ["a"], ["b"]),
                             oh.make_node("Relu", ["b"], ["y"])], {}, [2, 5])
    add("resize_nearest_scales", [oh.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest",
                                               coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
        {"sc": np.array([1, 1, 2, 2], np.float32)}, [2, 3, 4, 5])
    add("resize_nearest_sizes_half_pixel", [oh.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest")],
        {"sz": np.array([2, 3, 7, 3], np.int64)}, [2, 3, 4, 5], dyn=False)
    add("resize_opset18", [oh.make_node("Resize", ["x", "", "sc"], ["y"], mode="nearest")],
        {"sc": np.array([1, 1, 1.5, 2], np.float32)}, [2, 3, 4, 5], opset=18)
    # one or two rows (a classifier on a sub-batch of one or two images) take AutoMix's sgemv path
    add("gemm_one_row_transB", [oh.make_node("Gemm", ["x", "w", "c"], ["y"], transB=1, alpha=0.5, beta=2.0)],
        {"w": f(9, 13), "c": f(9)}, [1, 13], dyn=False)
    add("gemm_two_rows_transA", [oh.make_node("Gemm", ["x", "w", "c"], ["y"], transA=1)], {"w": f(6, 5), "c": f(1, 5)},
        [6, 2], dyn=False)
    add("gemm_one_row_plain", [oh.make_node("Gemm", ["x", "w"], ["y"])], {"w": f(7, 3)}, [1, 7], dyn=False)
    return cases


def build(case, path):
    name, opset, nodes, inits, shape, out, dyn = case
    in_shape = (["N"] + shape[1:]) if dyn else shape
    g = oh.make_graph(nodes, name, [oh.make_tensor_value_info("x", TP.FLOAT, in_shape)],
                      [oh.make_value_info(out, oh.make_tensor_type_proto(TP.FLOAT, shape=None))],
                      [nh.from_array(v, k) for k, v in inits.items()])
    m = oh.make_model(g, opset_imports=[oh.make_opsetid("", opset)], producer_name="make_golden")
    m.ir_version = 8
    onnx.save(m, path)


def preprocess_fixtures():
    d = os.path.join(FIX, "preprocess")
    os.makedirs(d, exist_ok=True)
    r = np.random.RandomState(1)
    def smooth(h, w, c):
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([(np.sin(xx / (3 + k) + yy / (5 + 2 * k)) * 100 + 128) for k in range(c)], -1)
        return np.clip(base + r.randint(-30, 30, (h, w, c)), 0, 255).astype(np.uint8)
    images = {
        "rgb_q90_61x47.jpg": (Image.fromarray(smooth(47, 61, 3), "RGB"), dict(quality=90)),
        "gray_37x53.jpg": (Image.fromarray(smooth(53, 37, 1)[:, :, 0], "L"), dict(quality=85)),
        "cmyk_45x40.jpg": (Image.fromarray(smooth(40, 45, 4), "CMYK"), dict(quality=90)),
        "progressive_70x33.jpg": (Image.fromarray(smooth(33, 70, 3), "RGB"), dict(quality=80, progressive=True)),
        "rgba_29x31.png": (Image.fromarray(smooth(31, 29, 4), "RGBA"), {}),
        "gray_28x28.png": (Image.fromarray(smooth(28, 28, 1)[:, :, 0], "L"), {}),
    }
    # (resize short side or None, crop, mean, std, channels)
    settings = [("r32c24", 32, 24, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                ("r20c16", 20, 16, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25]),
                ("r64c56", 64, 56, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
                ("none_c24", None, 24, [0.0, 0.0, 0.0], [1.0, 1.0, 1.0])]
    manifest = []
    for fname, (img, kw) in images.items():
        img.save(os.path.join(d, fname), **kw)
        rgb = Image.open(os.path.join(d, fname)).convert("RGB")
        for tag, size, crop, mean, std in settings:
            for channels in (3, 1):
                im = rgb if channels == 3 else rgb.convert("L")
                if size is not None:
                    w, h = im.size
                    short, long = (w, h) if w <= h else (h, w)
                    if short != size:
                        new_long = int(size * long / short)
                        im = im.resize((size, new_long) if w <= h else (new_long, size), Image.BILINEAR)
                w, h = im.size
                if crop > w or crop > h:
                    continue
                top, left = int(round((h - crop) / 2.0)), int(round((w - crop) / 2.0))
                im = im.crop((left, top, left + crop, top + crop))
                a = np.asarray(im, dtype=np.uint8)
                if a.ndim == 2:
                    a = a[:, :, None]
                t = a.transpose(2, 0, 1).astype(np.float32) / np.float32(255)
                m = np.array(mean[:channels], np.float32)[:, None, None]
                s = np.array(std[:channels], np.float32)[:, None, None]
                t = ((t - m) / s).astype("<f4")
                out = f"{fname}.{tag}.c{channels}.bin"
                t.tofile(os.path.join(d, out))
                manifest.append({"image": fname, "tensor": out, "resize": size, "crop": crop,
                                 "mean": mean[:channels], "std": std[:channels], "channels": channels})
    with open(os.path.join(d, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)


def main():
    logits = os.path.join(FIX, "logits")
    ops_dir = os.path.join(FIX, "ops")
    os.makedirs(ops_dir, exist_ok=True)
    manifest = {"models": [], "ops": []}
    for fn in sorted(os.listdir(MODELS)):
        if not fn.endswith(".onnx"):
            continue
        path = os.path.join(MODELS, fn)
        dims = [d.dim_value for d in onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim]
        manifest["models"].append(save_case(logits, fn[:-5], path, [2] + dims[1:], True))
    for case in op_models():
        path = os.path.join(ops_dir, case[0] + ".onnx")
        build(case, path)
        manifest["ops"].append(save_case(ops_dir, case[0], path, case[4], False))
    # the same small net stored with external data
    ext = onnx.load(os.path.join(ops_dir, "conv_bn_fold.onnx"))
    # onnx appends to an existing data file, so start from none
    if os.path.exists(os.path.join(ops_dir, "external_data.bin")):
        os.remove(os.path.join(ops_dir, "external_data.bin"))
    onnx.save(ext, os.path.join(ops_dir, "external_data.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="external_data.bin", size_threshold=0)
    manifest["ops"].append(save_case(ops_dir, "external_data", os.path.join(ops_dir, "external_data.onnx"), [2, 3, 8, 8], False))
    with open(os.path.join(FIX, "golden.json"), "w") as fh:
        json.dump(manifest, fh, indent=1)
    preprocess_fixtures()
    print("wrote", FIX)


if __name__ == "__main__":
    main()
