"""The Python binding on tiny-v3 (DeepSeek reference outputs) and the DeepSeek-V3 tokenizer
(Hugging Face outputs)."""
import json
import threading

import pytest

import deepseek
from conftest import DATA, TINY, TOKENIZER


@pytest.fixture(scope="module")
def bare():
    with deepseek.Model(TINY, context_size=48) as m:
        yield m


@pytest.fixture(scope="module")
def hf():
    with deepseek.Model(TINY, tokenizer=TOKENIZER, context_size=48) as m:
        yield m


@pytest.fixture(scope="module")
def plain(plain_tokenizer):
    with deepseek.Model(TINY, tokenizer=plain_tokenizer, context_size=64) as m:
        yield m


def test_version_and_library():
    assert deepseek.version() == deepseek.__version__
    assert deepseek.library_path.endswith("libdeepseek.so") or "libdeepseek.so" in deepseek.library_path


def test_load_errors_carry_the_library_message(tmp_path):
    with pytest.raises(deepseek.NotFoundError, match="no/such/model"):
        deepseek.Model("no/such/model")
    (tmp_path / "config.json").write_text("{ not json")
    with pytest.raises(deepseek.InvalidFormatError, match="config.json"):
        deepseek.Model(tmp_path)
    config = (TINY / "config.json").read_text().replace('"deepseek_v3"', '"no_such_arch"')
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(deepseek.UnsupportedError, match="no_such_arch"):
        deepseek.Model(tmp_path)
    with pytest.raises(deepseek.InvalidArgumentError, match="threads"):
        deepseek.Model(TINY, threads=-2)
    with pytest.raises(deepseek.NotFoundError):
        deepseek.Model(TINY, tokenizer=tmp_path / "none")


def test_progress_and_info(expected):
    seen = []
    with deepseek.Model(TINY, progress=lambda f, stage: seen.append((f, stage))) as m:
        info = m.info
    assert seen and seen[-1][0] == 1.0
    assert info.model_type == "deepseek_v3"
    assert info.vocab_size == expected["logits"][1][1]
    assert not info.has_tokenizer and info.bos_id == -1
    assert info.weights_in_memory  # "auto" reads a small checkpoint into memory
    with deepseek.Model(TINY, weight_placement="map") as m:
        assert not m.info.weights_in_memory
    with pytest.raises(ValueError, match="weight_placement"):
        deepseek.Model(TINY, weight_placement="disk")


def test_logits_match_the_reference(bare, expected):
    tokens = expected["tokens"][0]
    want, shape = expected["logits"]
    got = bare.logits(tokens, numpy=False)
    assert len(got) == shape[0] and len(got[0]) == shape[1]
    flat = [v for row in got for v in row]
    assert max(abs(a - b) for a, b in zip(flat, want)) <= 1e-3
    np = pytest.importorskip("numpy")
    arr = bare.logits(tokens)
    assert isinstance(arr, np.ndarray) and arr.shape == tuple(shape)
    assert float(np.abs(arr - np.array(want, dtype=np.float32).reshape(shape)).max()) <= 1e-3
    with pytest.raises(deepseek.InvalidArgumentError, match="outside"):
        bare.logits([1, 5000])
    with pytest.raises(deepseek.InvalidArgumentError, match="count is 0"):
        bare.logits([])


def test_text_calls_need_a_tokenizer(bare):
    with pytest.raises(deepseek.NotFoundError, match="tokenizer"):
        bare.tokenize("a")
    with pytest.raises(deepseek.NotFoundError, match="tokenizer"):
        bare.generate("a")


def test_tokenize_and_detokenize_match_hugging_face(hf):
    rows = [json.loads(line) for line in open(TOKENIZER / "cases.jsonl", encoding="utf-8")][::11]
    assert len(rows) > 30
    for r in rows:
        assert hf.tokenize(r["text"]) == r["ids"], r["text"]
        assert hf.detokenize(r["ids"]) == r["decoded"]
    ids = hf.tokenize("Hello", add_special_tokens=True)
    assert ids[0] == hf.info.bos_id == 0
    assert hf.detokenize(ids, skip_special_tokens=True) == "Hello"
    with pytest.raises(deepseek.InvalidArgumentError, match="outside"):
        hf.detokenize([1 << 30])


def test_render_chat_matches_hugging_face(hf):
    cases = [json.loads(line) for line in open(TOKENIZER / "chat_cases.jsonl", encoding="utf-8")]
    plain = [c for c in cases if all(set(m) == {"role", "content"} and isinstance(m["content"], str)
                                     for m in c["messages"]) and not c.get("tools")]
    assert len(plain) >= 4
    for c in plain:
        assert hf.render_chat(c["messages"], c["add_generation_prompt"]) == c["rendered"], c["name"]
    with pytest.raises(deepseek.InvalidArgumentError, match="role"):
        hf.render_chat([{"content": "x"}])


def greedy_chain(model, ids, steps):
    out = []
    for _ in range(steps):
        row = model.logits(ids + out, numpy=False)[-1]
        out.append(max(range(len(row)), key=lambda v: (row[v], -v)))
    return out


def test_generate_streams_the_greedy_text(plain, expected):
    prompt = "1 2 3 4 5 6 7 8 9"  # byte-level tokens inside tiny-v3's 1000-token vocabulary
    ids = plain.tokenize(prompt, add_special_tokens=True)
    assert max(ids) < plain.info.vocab_size
    chain = greedy_chain(plain, ids, 8)  # logits() matches the reference (test above)
    result = plain.generate(prompt, temperature=0, max_tokens=8)
    assert result.text == plain.detokenize(chain)
    assert result.finish_reason == "length" and result.completion_tokens == 8
    assert result.prompt_tokens == len(ids)
    pieces = list(plain.generate(prompt, stream=True, temperature=0, max_tokens=8))
    assert len(pieces) > 1 and all(p.channel in ("content", "reasoning") for p in pieces)
    assert "".join(p.text for p in pieces) == result.text
    # chat() with this template renders the content verbatim: the same reply.
    chat = list(plain.chat([{"role": "user", "content": prompt}], stream=True, temperature=0, max_tokens=8))
    assert chat == pieces
    assert plain.chat([{"role": "user", "content": prompt}], temperature=0, max_tokens=8).text == result.text


def test_mtp_on_and_off_give_the_same_greedy_text(plain, plain_tokenizer):
    prompt = "1 2 3 4 5 6 7 8 9"
    assert plain.info.mtp_modules == 1  # tiny-v3 has num_nextn_predict_layers = 1
    chain = plain.detokenize(greedy_chain(plain, plain.tokenize(prompt, add_special_tokens=True), 12))
    off = plain.generate(prompt, temperature=0, max_tokens=12, mtp="off")
    on = plain.generate(prompt, temperature=0, max_tokens=12, mtp="on", draft_tokens=2)
    assert off.text == on.text == chain
    assert off.mtp == deepseek.MtpStats(False, 0, 0, 0.0, ())
    assert on.mtp.used and on.mtp.drafted_tokens > 0 and 0 <= on.mtp.accepted_tokens <= on.mtp.drafted_tokens
    assert on.mtp.acceptance_rate == pytest.approx(on.mtp.accepted_tokens / on.mtp.drafted_tokens)
    assert len(on.mtp.acceptance_by_position) == 2 and all(0 <= a <= 1 for a in on.mtp.acceptance_by_position)
    streamed = plain.generate(prompt, stream=True, temperature=0, max_tokens=12, mtp="on", draft_tokens=3)
    assert "".join(p.text for p in streamed) == chain
    with pytest.raises(deepseek.InvalidArgumentError, match="draft_tokens"):
        plain.generate(prompt, max_tokens=4, draft_tokens=17)
    with pytest.raises(deepseek.InvalidArgumentError, match="mtp must be one of"):
        plain.generate(prompt, max_tokens=4, mtp="sometimes")
    with deepseek.Model(TINY, tokenizer=plain_tokenizer, context_size=64, load_mtp=False) as m:
        assert m.info.mtp_modules == 0
        with pytest.raises(deepseek.InvalidArgumentError, match="multi-token-prediction"):
            m.generate(prompt, max_tokens=4, mtp="on")
        assert m.generate(prompt, temperature=0, max_tokens=12).text == chain


def test_stream_cancels_when_closed_early(plain):
    it = plain.generate("1 2 3", stream=True, temperature=0, max_tokens=30)
    first = next(it)
    assert isinstance(first, deepseek.Piece)
    it.close()  # stops the worker's generation through the callback


def test_seeds_reproduce_and_options_are_checked(plain):
    a = plain.generate("1 2 3", temperature=0.8, seed=3, max_tokens=10, stop=["\n\n"]).text
    b = plain.generate("1 2 3", temperature=0.8, seed=3, max_tokens=10, stop=["\n\n"]).text
    assert a == b
    with pytest.raises(deepseek.InvalidArgumentError, match="temperature"):
        plain.generate("1 2 3", temperature=-1)
    with pytest.raises(deepseek.InvalidArgumentError, match="temperature"):
        list(plain.chat([{"role": "user", "content": "1 2 3"}], stream=True, temperature=-1))
    with pytest.raises(TypeError):
        plain.generate("1 2 3", no_such_option=1)


def test_threads_share_one_model(plain):
    want = plain.generate("1 2 3", temperature=0.7, seed=11, max_tokens=6).text
    got = [None] * 3

    def run(i):
        got[i] = plain.generate("1 2 3", temperature=0.7, seed=11, max_tokens=6).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [want] * 3


def test_memory_limit_raises_out_of_memory(expected):
    # One sequence (KV cache + scratch) cannot fit 1 KiB: known from the config, so load fails.
    with pytest.raises(deepseek.OutOfMemoryError, match="over the memory limit"):
        deepseek.Model(TINY, memory_limit_bytes=1024)


def test_closed_model_is_an_error():
    m = deepseek.Model(TINY)
    m.close()
    m.close()
    with pytest.raises(deepseek.InvalidArgumentError, match="closed"):
        m.logits([1])
