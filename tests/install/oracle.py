"""Prints tiny-v3's reference prompt ids and the reference's first greedy token (expected.safetensors).
Usage: python3 oracle.py <tests/data> tokens|greedy0"""
import json
import struct
import sys

raw = open(sys.argv[1] + "/fixtures/tiny-v3/expected.safetensors", "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])


def ints(name):
    a, b = header[name]["data_offsets"]
    return struct.unpack("<%di" % ((b - a) // 4), raw[8 + n + a:8 + n + b])


print(" ".join(map(str, ints("tokens"))) if sys.argv[2] == "tokens" else ints("greedy")[0])
