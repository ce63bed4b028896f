import os
import pathlib
import shutil
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the package from the source tree unless installed

DATA = pathlib.Path(os.environ.get("DS_TEST_DATA_DIR", HERE.parents[2] / "tests" / "data"))
TINY = DATA / "fixtures" / "tiny-v3"
TOKENIZER = DATA / "tokenizers" / "deepseek-v3"


@pytest.fixture(scope="session")
def plain_tokenizer(tmp_path_factory):
    """The DeepSeek-V3 tokenizer with no BOS and a template that writes the contents verbatim, so
    that prompts fit tiny-v3's 1000-token vocabulary."""
    d = tmp_path_factory.mktemp("tok")
    os.symlink(TOKENIZER / "tokenizer.json", d / "tokenizer.json")
    (d / "tokenizer_config.json").write_text(
        '{"add_bos_token": false, "bos_token": "<\uff5cbegin\u2581of\u2581sentence\uff5c>", '
        '"eos_token": "<\uff5cend\u2581of\u2581sentence\uff5c>", '
        '"chat_template": "{% for m in messages %}{{ m[\'content\'] }}{% endfor %}"}', encoding="utf-8")
    return d


@pytest.fixture(scope="session")
def expected():
    """tiny-v3's expected.safetensors (DeepSeek's reference outputs), read with the stdlib."""
    import json
    import struct
    raw = (TINY / "expected.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        fmt = {"I32": "i", "F32": "f"}[t["dtype"]]
        count = (b - a) // 4
        out[name] = (list(struct.unpack("<%d%s" % (count, fmt), raw[8 + n + a:8 + n + b])), t["shape"])
    return out
