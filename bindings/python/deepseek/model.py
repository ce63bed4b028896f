"""deepseek.Model: load a checkpoint, tokenize, render chats, generate (streaming) and get logits."""
import array
import ctypes
import queue
import threading
from typing import Iterator, List, NamedTuple, Optional, Sequence, Tuple

from . import _lib
from ._lib import check, lib

CHANNELS = ("content", "reasoning")
FINISH_REASONS = ("stop", "length", "cancelled")


class Piece(NamedTuple):
    """A streamed piece of generated text and its channel: "reasoning" (R1's <think>) or "content"."""
    text: str
    channel: str


class MtpStats(NamedTuple):
    """Speculative decoding (MTP) statistics of one generation; all zero when no drafting ran."""
    used: bool                                 # at least one drafting step ran
    drafted_tokens: int                        # tokens the MTP module proposed
    accepted_tokens: int                       # of those, accepted by the model
    acceptance_rate: float                     # accepted_tokens / drafted_tokens
    acceptance_by_position: Tuple[float, ...]  # [j]: fraction of drafting steps accepting draft j


class GenerateResult(NamedTuple):
    """A finished generation: the answer, the reasoning ("" if none), counts and MTP statistics."""
    text: str
    reasoning: str
    finish_reason: str  # "stop", "length" or "cancelled"
    prompt_tokens: int
    completion_tokens: int
    prefill_tokens_per_second: float
    decode_tokens_per_second: float
    mtp: MtpStats


class ModelInfo(NamedTuple):
    model_type: str
    architecture: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    context_size: int
    total_params: int
    active_params: int
    has_tokenizer: bool
    bos_id: int
    eos_id: int
    mtp_modules: int  # multi-token-prediction modules loaded (0: none)
    weights_in_memory: bool  # read into memory (else memory-mapped)


def _take_string(ptr: Optional[int]) -> str:
    """Copies a library-owned C string and frees it."""
    if not ptr:
        return ""
    try:
        return ctypes.string_at(ptr).decode("utf-8")
    finally:
        lib.ds_free(ptr)


def _mtp_stats(r) -> MtpStats:
    """The MTP statistics of a ds_generate_result."""
    n = min(max(r.acceptance_by_position_count, 0), _lib.MAX_DRAFT_TOKENS)
    return MtpStats(bool(r.mtp_used), r.drafted_tokens, r.accepted_tokens, r.acceptance_rate,
                    tuple(r.acceptance_by_position[j] for j in range(n)))


def _messages(messages):
    """A ctypes array of ds_chat_message (plus the bytes it points at, kept alive by the caller)."""
    encoded = []
    for i, m in enumerate(messages):
        try:
            encoded.append((str(m["role"]).encode("utf-8"), str(m["content"]).encode("utf-8")))
        except (KeyError, TypeError):
            raise _lib.error_for(1, "message %d must be a mapping with 'role' and 'content'" % i) from None
    arr = (_lib.ChatMessage * max(len(encoded), 1))()
    for i, (role, content) in enumerate(encoded):
        arr[i].role = role
        arr[i].content = content
    return arr, encoded


class Model:
    """A loaded model (Hugging Face checkpoint folder) with its tokenizer and chat template.

    One Model may be shared by several threads; each generate/chat/logits call is independent.
    Errors raise deepseek.DeepseekError subclasses carrying the library's message.
    """

    def __init__(self, path, *, tokenizer=None, threads=0, context_size=0, kv_cache_bf16=False,
                 memory_limit_bytes=0, progress=None, load_mtp=True, weight_placement="auto"):
        """Loads `path`. `tokenizer`: a tokenizer.json or its folder (default: the model folder).
        `progress(fraction, stage)` is called during loading. `load_mtp`: load the
        multi-token-prediction module (if the checkpoint has one) for speculative decoding.
        `weight_placement`: "map" (memory-map the files), "memory" (read them into memory: faster
        decoding) or "auto" (memory when they take at most half the available memory)."""
        if weight_placement not in _lib.WEIGHT_PLACEMENTS:
            raise ValueError(f"weight_placement must be one of {_lib.WEIGHT_PLACEMENTS}, got {weight_placement!r}")
        self._handle = None
        p = lib.ds_model_default_params()
        p.threads = threads
        p.context_size = context_size
        p.kv_cache_bf16 = 1 if kv_cache_bf16 else 0
        p.memory_limit_bytes = memory_limit_bytes
        p.load_mtp = 1 if load_mtp else 0
        p.weight_placement = _lib.WEIGHT_PLACEMENTS.index(weight_placement)
        if tokenizer is not None:
            p.tokenizer_path = str(tokenizer).encode()
        callback = None
        if progress is not None:
            def on_progress(fraction, stage, _user):
                try:
                    progress(fraction, stage.decode() if stage else "")
                except Exception:  # an exception cannot cross the C boundary
                    pass
            callback = _lib.PROGRESS_FN(on_progress)
            p.progress = ctypes.cast(callback, ctypes.c_void_p)
        handle = ctypes.c_void_p()
        check(lib.ds_model_load(str(path).encode(), ctypes.byref(p), ctypes.byref(handle)))
        self._handle = handle

    def close(self):
        """Releases the model now (also done when it is garbage-collected)."""
        if self._handle is not None:
            lib.ds_model_free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()

    def _h(self):
        if self._handle is None:
            raise _lib.error_for(1, "the model is closed")
        return self._handle

    @property
    def info(self) -> ModelInfo:
        """Static facts about the model (vocab_size, context_size, parameter counts, ...)."""
        i = _lib.ModelInfoC()
        i.struct_size = ctypes.sizeof(i)
        check(lib.ds_model_info_get(self._h(), ctypes.byref(i)))
        return ModelInfo(i.model_type.decode(), i.architecture.decode(), i.vocab_size, i.hidden_size, i.num_layers,
                         i.context_size, i.total_params, i.active_params, bool(i.has_tokenizer), i.bos_id, i.eos_id,
                         i.mtp_modules, bool(i.weights_in_memory))

    def tokenize(self, text: str, add_special_tokens: bool = False) -> List[int]:
        """Token ids of `text`; with add_special_tokens, BOS/EOS as the tokenizer config asks."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        ids = ctypes.POINTER(ctypes.c_int32)()
        n = ctypes.c_size_t()
        check(lib.ds_tokenize(self._h(), data, len(data), int(add_special_tokens), ctypes.byref(ids), ctypes.byref(n)))
        try:
            return [ids[i] for i in range(n.value)]
        finally:
            lib.ds_free(ids)

    def detokenize(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        """Text of `ids`; incomplete UTF-8 becomes U+FFFD."""
        arr = (ctypes.c_int32 * max(len(ids), 1))(*ids)
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        check(lib.ds_detokenize(self._h(), arr, len(ids), int(skip_special_tokens), ctypes.byref(text),
                                ctypes.byref(n)))
        try:
            return ctypes.string_at(text.value, n.value).decode("utf-8")
        finally:
            lib.ds_free(text)

    def render_chat(self, messages, add_generation_prompt: bool = True) -> str:
        """The prompt for `messages` ([{"role": ..., "content": ...}]) under the model's chat template."""
        arr, _keep = _messages(messages)
        out = ctypes.c_void_p()
        check(lib.ds_chat_render(self._h(), arr, len(_keep), int(add_generation_prompt), ctypes.byref(out)))
        return _take_string(out.value)

    def logits(self, tokens: Sequence[int], numpy: Optional[bool] = None):
        """Teacher-forced logits: row t holds the next-token logits after tokens[0..t].
        Returns a numpy array [len(tokens), vocab_size] when numpy is available (or numpy=True),
        else a list of array('f') rows."""
        arr = (ctypes.c_int32 * max(len(tokens), 1))(*tokens)
        out = ctypes.POINTER(ctypes.c_float)()
        n = ctypes.c_size_t()
        check(lib.ds_logits(self._h(), arr, len(tokens), ctypes.byref(out), ctypes.byref(n)))
        try:
            rows = len(tokens)
            vocab = n.value // rows
            flat = (ctypes.c_float * n.value).from_address(ctypes.addressof(out.contents))
            if numpy is not False:
                try:
                    import numpy as np
                    return np.ctypeslib.as_array(flat).reshape(rows, vocab).copy()
                except ImportError:
                    if numpy:
                        raise
            values = array.array("f", bytes(flat))
            return [values[r * vocab:(r + 1) * vocab] for r in range(rows)]
        finally:
            lib.ds_free(out)

    # ---- generation ----------------------------------------------------------------------------

    def generate(self, prompt: str, *, stream: bool = False, **options):
        """Continues the raw text `prompt`. With stream=True, yields Piece(text, channel) as they are
        generated (closing the iterator cancels generation); otherwise returns a GenerateResult.
        Options: max_tokens, temperature, top_k, top_p, min_p, repetition_penalty,
        presence_penalty, frequency_penalty, seed, stop (list of str), split_reasoning,
        mtp ("auto", "on" or "off": speculative decoding with the MTP module; greedy output is
        identical either way, sampled output keeps the same distribution) and draft_tokens (0..16, default 3)."""
        data = prompt.encode("utf-8")
        return self._run(lambda p, r: lib.ds_generate(self._h(), data, p, r), stream, options)

    def chat(self, messages, *, stream: bool = False, **options):
        """Renders `messages` with the chat template and generates the assistant's reply; otherwise
        as generate()."""
        arr, keep = _messages(messages)
        return self._run(lambda p, r: lib.ds_chat(self._h(), arr, len(keep), p, r), stream, options)

    def _params(self, options, keep):
        p = lib.ds_generate_default_params()
        for key, value in options.items():
            if key == "stop":
                stops = [s.encode("utf-8") for s in ([value] if isinstance(value, str) else value)]
                keep.append(stops)
                p.stop = (ctypes.c_char_p * max(len(stops), 1))(*stops)
                keep.append(p.stop)
                p.n_stop = len(stops)
            elif key == "mtp":
                if value not in _lib.MTP_MODES:
                    raise _lib.error_for(1, "mtp must be one of %s, got %r" % (", ".join(_lib.MTP_MODES), value))
                p.mtp_mode = _lib.MTP_MODES.index(value)
            elif key == "split_reasoning":
                p.split_reasoning = 1 if value else 0
            elif key in ("max_tokens", "temperature", "top_k", "top_p", "min_p", "repetition_penalty",
                         "presence_penalty", "frequency_penalty", "seed", "draft_tokens"):
                setattr(p, key, value)
            else:
                raise TypeError("unknown generation option %r" % key)
        return p

    def _call(self, fn, options, on_piece=None):
        """Runs one ds_generate/ds_chat call; returns (status, message, GenerateResult or None)."""
        keep = []
        p = self._params(options, keep)
        callback = None
        if on_piece is not None:
            def trampoline(piece, length, channel, _user):
                try:
                    return 1 if on_piece(Piece(ctypes.string_at(piece, length).decode("utf-8"),
                                               CHANNELS[channel])) else 0
                except BaseException:  # never let an exception unwind through C: cancel instead
                    return 1
            callback = _lib.STREAM_FN(trampoline)
            p.on_piece = ctypes.cast(callback, ctypes.c_void_p)
        r = _lib.GenerateResultC()
        r.struct_size = ctypes.sizeof(r)
        status = fn(ctypes.byref(p), ctypes.byref(r))
        message = _lib.last_error() if status != 0 else ""
        result = None
        if status in (0, 6):
            try:
                result = GenerateResult(ctypes.string_at(r.text).decode("utf-8"),
                                        ctypes.string_at(r.reasoning).decode("utf-8"),
                                        FINISH_REASONS[r.finish_reason], r.prompt_tokens, r.completion_tokens,
                                        r.prefill_tokens_per_second, r.decode_tokens_per_second, _mtp_stats(r))
            finally:
                lib.ds_generate_result_free(ctypes.byref(r))
        return status, message, result

    def _run(self, fn, stream, options):
        if not stream:
            status, message, result = self._call(fn, options)
            if status != 0:
                raise _lib.error_for(status, message)
            return result
        return self._stream(fn, options)

    def _stream(self, fn, options) -> Iterator[Piece]:
        """Generation on a worker thread; pieces cross over a queue. Closing the iterator early
        makes the callback return non-zero, which stops generation."""
        pieces = queue.Queue()
        stop = threading.Event()
        done = object()
        outcome = {}

        def on_piece(piece):
            pieces.put(piece)
            return stop.is_set()

        def work():
            try:
                outcome["value"] = self._call(fn, options, on_piece)
            except BaseException as e:  # noqa: B902 - handed to the consumer
                outcome["error"] = e
            finally:
                pieces.put(done)

        worker = threading.Thread(target=work, name="deepseek-generate", daemon=True)
        worker.start()
        try:
            while True:
                item = pieces.get()
                if item is done:
                    break
                yield item
        finally:
            stop.set()
            worker.join()
        if "error" in outcome:
            raise outcome["error"]
        status, message, _ = outcome["value"]
        if status not in (0, 6) or (status == 6 and not stop.is_set()):
            raise _lib.error_for(status, message)
