"""Finds libdeepseek.so and declares the C ABI (deepseek/c_api.h) for ctypes."""
import ctypes
import ctypes.util
import os
import pathlib
import sys

from .errors import error_for

ABI_VERSION = 1
MAX_DRAFT_TOKENS = 16  # DS_MAX_DRAFT_TOKENS
MTP_MODES = ("auto", "on", "off")  # ds_mtp_mode's numbering
WEIGHT_PLACEMENTS = ("auto", "map", "memory")  # ds_model_params.weight_placement's numbering


class ModelParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("threads", ctypes.c_int32),
        ("context_size", ctypes.c_int64),
        ("kv_cache_bf16", ctypes.c_int32),
        ("memory_limit_bytes", ctypes.c_int64),
        ("tokenizer_path", ctypes.c_char_p),
        ("progress", ctypes.c_void_p),
        ("progress_user_data", ctypes.c_void_p),
        ("load_mtp", ctypes.c_int32),
        ("weight_placement", ctypes.c_int32),
    ]


class ModelInfoC(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("model_type", ctypes.c_char_p),
        ("architecture", ctypes.c_char_p),
        ("vocab_size", ctypes.c_int64),
        ("hidden_size", ctypes.c_int64),
        ("num_layers", ctypes.c_int64),
        ("context_size", ctypes.c_int64),
        ("total_params", ctypes.c_int64),
        ("active_params", ctypes.c_int64),
        ("has_tokenizer", ctypes.c_int32),
        ("bos_id", ctypes.c_int32),
        ("eos_id", ctypes.c_int32),
        ("mtp_modules", ctypes.c_int64),
        ("weights_in_memory", ctypes.c_int32),
    ]


class ChatMessage(ctypes.Structure):
    _fields_ = [("role", ctypes.c_char_p), ("content", ctypes.c_char_p)]


class GenerateParams(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("max_tokens", ctypes.c_int64),
        ("temperature", ctypes.c_float),
        ("top_k", ctypes.c_int32),
        ("top_p", ctypes.c_float),
        ("min_p", ctypes.c_float),
        ("repetition_penalty", ctypes.c_float),
        ("presence_penalty", ctypes.c_float),
        ("frequency_penalty", ctypes.c_float),
        ("seed", ctypes.c_uint64),
        ("stop", ctypes.POINTER(ctypes.c_char_p)),
        ("n_stop", ctypes.c_size_t),
        ("split_reasoning", ctypes.c_int32),
        ("on_piece", ctypes.c_void_p),
        ("user_data", ctypes.c_void_p),
        ("mtp_mode", ctypes.c_int32),
        ("draft_tokens", ctypes.c_int32),
    ]


class GenerateResultC(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("text", ctypes.c_void_p),
        ("reasoning", ctypes.c_void_p),
        ("finish_reason", ctypes.c_int),
        ("prompt_tokens", ctypes.c_int64),
        ("completion_tokens", ctypes.c_int64),
        ("prefill_tokens_per_second", ctypes.c_double),
        ("decode_tokens_per_second", ctypes.c_double),
        ("mtp_used", ctypes.c_int32),
        ("acceptance_by_position_count", ctypes.c_int32),
        ("drafted_tokens", ctypes.c_int64),
        ("accepted_tokens", ctypes.c_int64),
        ("acceptance_rate", ctypes.c_double),
        ("acceptance_by_position", ctypes.c_double * MAX_DRAFT_TOKENS),
    ]


PROGRESS_FN = ctypes.CFUNCTYPE(None, ctypes.c_double, ctypes.c_char_p, ctypes.c_void_p)
STREAM_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t, ctypes.c_int,
                             ctypes.c_void_p)


def _candidates():
    """Where libdeepseek.so may be, in order of preference."""
    env = os.environ.get("DEEPSEEK_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libdeepseek.so"  # a copy bundled into the package
    for up in list(here.parents)[:4]:  # bindings/python/deepseek -> repository root -> build/lib
        yield up / "build" / "lib" / "libdeepseek.so"
    for prefix in {os.environ.get("CMAKE_PREFIX_PATH", ""), sys.prefix, "/usr/local"}:
        if prefix:
            yield pathlib.Path(prefix) / "lib" / "libdeepseek.so"
    found = ctypes.util.find_library("deepseek")
    if found:
        yield pathlib.Path(found)
    yield pathlib.Path("libdeepseek.so")  # LD_LIBRARY_PATH and the loader's defaults


def _load():
    tried = []
    for c in _candidates():
        if c.is_absolute() and not c.exists():
            tried.append(str(c))
            continue
        try:
            return ctypes.CDLL(str(c)), str(c)
        except OSError as e:
            tried.append("%s (%s)" % (c, e))
    raise ImportError("deepseek: cannot find libdeepseek.so; set DEEPSEEK_LIBRARY to its path. Tried: " +
                      "; ".join(tried))


lib, library_path = _load()


def _declare(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_P = ctypes.c_void_p
_declare("ds_version", ctypes.c_char_p)
_declare("ds_last_error", ctypes.c_char_p)
_declare("ds_status_name", ctypes.c_char_p, ctypes.c_int)
_declare("ds_free", None, _P)
_declare("ds_model_default_params", ModelParams)
_declare("ds_model_load", ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ModelParams), ctypes.POINTER(_P))
_declare("ds_model_free", None, _P)
_declare("ds_model_info_get", ctypes.c_int, _P, ctypes.POINTER(ModelInfoC))
_declare("ds_tokenize", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int,
         ctypes.POINTER(ctypes.POINTER(ctypes.c_int32)), ctypes.POINTER(ctypes.c_size_t))
_declare("ds_detokenize", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t, ctypes.c_int,
         ctypes.POINTER(_P), ctypes.POINTER(ctypes.c_size_t))
_declare("ds_chat_render", ctypes.c_int, _P, ctypes.POINTER(ChatMessage), ctypes.c_size_t, ctypes.c_int,
         ctypes.POINTER(_P))
_declare("ds_generate_default_params", GenerateParams)
_declare("ds_generate_result_free", None, ctypes.POINTER(GenerateResultC))
_declare("ds_generate", ctypes.c_int, _P, ctypes.c_char_p, ctypes.POINTER(GenerateParams),
         ctypes.POINTER(GenerateResultC))
_declare("ds_chat", ctypes.c_int, _P, ctypes.POINTER(ChatMessage), ctypes.c_size_t, ctypes.POINTER(GenerateParams),
         ctypes.POINTER(GenerateResultC))
_declare("ds_logits", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_int32), ctypes.c_size_t,
         ctypes.POINTER(ctypes.POINTER(ctypes.c_float)), ctypes.POINTER(ctypes.c_size_t))


def last_error():
    """The calling thread's last library error message."""
    return (lib.ds_last_error() or b"").decode("utf-8", "replace")


def check(status):
    """Raises the exception for a non-zero ds_status with the library's message (same thread)."""
    if status != 0:
        raise error_for(status, last_error())


def version():
    """The library's version string, e.g. "0.1.0"."""
    return lib.ds_version().decode()
