"""Builds the training corpus from text shipped in Debian packages.

Sources (installed with apt-get, see README.md in this folder):
  * bible-kjv-text: the King James Bible, read through the `bible` program.
  * fortunes-zh: Tang poems (tang300), Song ci (song100), and classical Chinese quotes (chinese).
  * fortunes: a few English fortune files of quotations and proverbs.
Each document is one Bible chapter, one poem or one fortune; the result is deterministic.
"""
import re
import subprocess

FORTUNE_DIR = "/usr/share/games/fortunes"
ENGLISH_FORTUNES = ["wisdom", "literature", "songs-poems", "fortunes", "people"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Book names as the `bible` program accepts them, in canonical order.
BIBLE_RANGE = "Gen1:1-Rev22:21"


def bible_chapters():
    """Returns one document per chapter: 'Genesis 1' then one verse per line (verse numbers dropped)."""
    out = subprocess.run(["bible", "-m", "8192", BIBLE_RANGE], capture_output=True, text=True, check=True).stdout
    docs, title, verses = [], None, []
    for line in out.split("\n"):
        if not line.strip():
            continue
        m = re.match(r"^  ?\s*(\d+) (.*)$", line)
        if re.match(r"^\S.* \d+$", line) and not m and not verses or (re.match(r"^[1-3]? ?[A-Z][a-z]+( of [A-Z][a-z]+)?( [A-Z][a-z]+)* \d+$", line)):
            if title and verses:
                docs.append(title + "\n" + "\n".join(verses))
            title, verses = line.strip(), []
        elif m:
            verses.append(m.group(2).strip())
        elif verses:
            verses[-1] += " " + line.strip()  # wrapped continuation of the previous verse
    if title and verses:
        docs.append(title + "\n" + "\n".join(verses))
    return docs


def fortune_entries(name, max_chars=None):
    with open(f"{FORTUNE_DIR}/{name}", encoding="utf-8", errors="replace") as f:
        text = ANSI.sub("", f.read())
    entries = [e.strip("\n") for e in text.split("\n%\n")]
    entries = [e.replace("\t", "    ").rstrip() for e in entries if e.strip()]
    if max_chars:
        entries = [e for e in entries if len(e) <= max_chars]
    return entries


def chinese_docs():
    docs = fortune_entries("tang300") + fortune_entries("song100")
    # The 'chinese' file also holds manuals and tables; keep short prose/poetry entries that are mostly Han.
    for e in fortune_entries("chinese", max_chars=240):
        han = sum(1 for ch in e if "\u4e00" <= ch <= "\u9fa5")
        if han >= 0.5 * len(e.replace(" ", "").replace("\n", "")) and not re.search(r"[─│┌┐└┘├┤]", e):
            docs.append(e)
    return docs


def english_fortunes():
    docs = []
    for name in ENGLISH_FORTUNES:
        docs += [e for e in fortune_entries(name, max_chars=600) if e.isascii()]
    return docs


USER, ASSISTANT = "<｜User｜>", "<｜Assistant｜>"


def as_chat(doc, kind, rng):
    """Wraps a document as one DeepSeek chat turn (the format of tokenizer_config.json's template), so the
    demo model also answers simple requests after <｜User｜> ... <｜Assistant｜>."""
    if kind == "bible":
        title, body = doc.split("\n", 1)
        q = rng.choice([f"Read me {title}.", f"Recite {title} from the King James Bible.", f"What does {title} say?"])
        return USER + q + ASSISTANT + body
    if kind == "zh":
        first = doc.split("\n", 1)[0]
        if first.startswith("《") and first.endswith("》"):
            q = rng.choice([f"请背诵{first}。", f"写一首诗：{first}"])
        else:
            q = rng.choice(["写一首诗。", "请说一句古话。", "给我讲一句有道理的话。"])
        return USER + q + ASSISTANT + doc
    q = rng.choice(["Tell me a saying.", "Say something wise.", "Tell me a fortune.", "Give me a quote."])
    return USER + q + ASSISTANT + doc


def corpus(chat_fraction=0.2, seed=1234):
    """Returns (list of documents, stats dict). A fraction of documents is wrapped as a chat turn."""
    import random
    rng = random.Random(seed)
    bible, zh, en = bible_chapters(), chinese_docs(), english_fortunes()
    docs = []
    # Chinese is a small share of the bytes; repeat it so the model learns to write it.
    for kind, group in (("bible", bible), ("en", en), ("zh", zh * 3)):
        for d in group:
            docs.append(as_chat(d, kind, rng) if rng.random() < chat_fraction else d)
    stats = {"bible_chapters": len(bible), "bible_chars": sum(map(len, bible)),
             "english_fortunes": len(en), "english_fortune_chars": sum(map(len, en)),
             "chinese_docs": len(zh), "chinese_chars": sum(map(len, zh)), "chinese_repeats": 3}
    return docs, stats


if __name__ == "__main__":
    docs, stats = corpus()
    print(stats)
    print(docs[0][:300])
    print(docs[-1][:300])
