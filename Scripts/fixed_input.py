"""The tests' deterministic input, shared by the fixture scripts (mirrored bit for bit by TestSupport.swift)."""
import numpy as np


def fixed_input(shape):
    """Values in [-1, 1): integer hash, then exact float32 steps."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.uint64)
    v = (i * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2**32)
    f = (v >> np.uint64(8)).astype(np.float32) / np.float32(2**24)
    return (f * np.float32(2) - np.float32(1)).astype(np.float32).reshape(shape)
