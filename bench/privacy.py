"""Privacy benchmark: how much buyer data the masker hides, how many ordinary words it leaves alone, what it costs.

Run `python -m bench.privacy [--corpus FILE] [--show-misses N] [--kiwi]`. Targets (issue 14): recall ≥ 99 % for
phones, emails, accounts and customs codes, ≥ 97 % for names and addresses; ≥ 98 % of decoy words intact.

The corpus (default tests/fixtures/privacy/corpus.txt) is one text per line, `\\n` for a line break inside a text,
`#` lines are comments, and personal data is marked inline: `{name:윤성민}/{phone:010-****-5845}`. Types: phone,
email, account, customs, name, address, id_number. A line with no mark is a decoy. `--corpus FILE.jsonl` takes JSON
lines instead: {"text": "...", "pii": [{"type": "name", "value": "윤성민"}, ...]} (every occurrence of a value is
labelled; "start"/"end" pick one).

Scoring, per labelled span: masked when every character the house style hides is inside what the masker replaces
(`core.masking.find_pii`, the spans `mask_pii` replaces): a name's syllables after the first, a phone's, account's or
customs code's digits before the last four, an email's local part, an address's digits. Decoy words: the
whitespace-separated words of decoy texts that no replaced span touches. Also shown: the same share for the words
of labelled texts outside their labels.

Cost: masking time per text over the corpus, and RSS of a fresh interpreter after importing the masker and masking
the corpus; with `--kiwi` (kiwipiepy installed), also the morphological analyser as a judge of names the rules
decide only on their looks, its load time and RSS, and the figures with it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._proc import machine_line, verdict
from core.masking import NameJudge, find_pii
from core.masking.spans import apply_masks

CORPUS = Path(__file__).parents[1] / "tests" / "fixtures" / "privacy" / "corpus.txt"
KINDS = ("phone", "email", "account", "customs", "id_number", "name", "address")
TARGETS = {"phone": 0.99, "email": 0.99, "account": 0.99, "customs": 0.99, "name": 0.97, "address": 0.97}
DECOY_TARGET = 0.98
_MARK = re.compile(r"\{(?P<kind>[a-z_]+):(?P<value>[^{}]+)\}")
_EMAIL_AT = re.compile(r"@|＠|\(at\)|\[at\]|골뱅이")


@dataclass(frozen=True, slots=True)
class Label:
    """One labelled piece of personal data: text[start:end]."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One text of the corpus and its labels (none: a decoy)."""

    text: str
    labels: tuple[Label, ...]


def parse_marked(line: str) -> Sample:
    """A corpus line with {kind:value} marks → the plain text and its labels."""
    line = line.replace("\\n", "\n")
    parts: list[str] = []
    labels: list[Label] = []
    cursor = length = 0
    for m in _MARK.finditer(line):
        if m["kind"] not in KINDS:
            raise ValueError(f"unknown kind {m['kind']!r} in {line!r}")
        parts.append(line[cursor : m.start()])
        length += m.start() - cursor
        labels.append(Label(length, length + len(m["value"]), m["kind"]))
        parts.append(m["value"])
        length += len(m["value"])
        cursor = m.end()
    parts.append(line[cursor:])
    return Sample("".join(parts), tuple(labels))


def _from_json(item: dict[str, Any]) -> Sample:
    text = str(item["text"])
    labels = []
    for pii in item.get("pii", []):
        kind = str(pii["type"])
        if "start" in pii:
            labels.append(Label(int(pii["start"]), int(pii["end"]), kind))
            continue
        value = str(pii["value"])
        labels += [Label(m.start(), m.end(), kind) for m in re.finditer(re.escape(value), text)]
    return Sample(text, tuple(labels))


def load_corpus(path: Path) -> list[Sample]:
    """The samples of a marked-up text corpus or a JSON-lines one (by the file's suffix)."""
    content = path.read_text(encoding="utf-8-sig")
    if path.suffix in (".jsonl", ".json"):
        items = json.loads(content) if path.suffix == ".json" else [json.loads(x) for x in content.splitlines() if x]
        return [_from_json(item) for item in items]
    return [parse_marked(line) for line in content.splitlines() if line.strip() and not line.startswith("#")]


def secret_positions(text: str, label: Label) -> list[int]:
    """The characters of a labelled span that the house style hides (kept ones, like a phone's last four, are not)."""
    span = range(label.start, label.end)
    if label.kind == "name":
        return [i for i in span[1:] if not text[i].isspace()]
    if label.kind == "email":
        at = _EMAIL_AT.search(text, label.start, label.end)
        return list(range(label.start, at.start() if at else label.end))
    digits = [i for i in span if text[i].isdigit() or "０" <= text[i] <= "９"]
    if label.kind in ("phone", "account", "customs"):
        return digits[:-4]
    return digits


@dataclass
class Score:
    """Recall per kind and words left intact."""

    labelled: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    masked: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    decoy_words: int = 0
    decoy_intact: int = 0
    other_words: int = 0
    other_intact: int = 0
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, masked text)
    decoy_hits: list[tuple[str, str]] = field(default_factory=list)  # (word, masked text)

    def recall(self, kind: str) -> float:
        """Masked / labelled for one kind (1.0 when none is labelled)."""
        return self.masked[kind] / self.labelled[kind] if self.labelled[kind] else 1.0

    @property
    def decoy_share(self) -> float:
        """Share of decoy words left intact."""
        return self.decoy_intact / self.decoy_words if self.decoy_words else 1.0

    @property
    def other_share(self) -> float:
        """Share of the words of labelled texts, outside the labels, left intact."""
        return self.other_intact / self.other_words if self.other_words else 1.0


def score(samples: Sequence[Sample], name_judge: NameJudge | None = None) -> Score:
    """Run the masker over every sample and count."""
    result = Score()
    for sample in samples:
        found = find_pii(sample.text, name_judge=name_judge)
        covered = {i for f in found for i in range(f.start, f.end)}
        masked_text = apply_masks(sample.text, found)
        for label in sample.labels:
            result.labelled[label.kind] += 1
            if all(i in covered for i in secret_positions(sample.text, label)):
                result.masked[label.kind] += 1
            else:
                result.misses.append((label.kind, sample.text[label.start : label.end], masked_text))
        for word in re.finditer(r"\S+", sample.text):
            touched = any(i in covered for i in range(word.start(), word.end()))
            if not sample.labels:
                result.decoy_words += 1
                result.decoy_intact += not touched
                if touched:
                    result.decoy_hits.append((word.group(), masked_text))
            elif not any(lab.start < word.end() and word.start() < lab.end for lab in sample.labels):
                result.other_words += 1
                result.other_intact += not touched
    return result


def kiwi_judge() -> tuple[NameJudge, float] | None:
    """kiwipiepy as a judge of look-only name candidates (NNP → name), and its load time; None if not installed."""
    try:
        kiwipiepy = importlib.import_module("kiwipiepy")
    except ImportError:
        return None
    started = time.perf_counter()
    kiwi = kiwipiepy.Kiwi(num_workers=-1)
    kiwi.tokenize("워밍업 문장입니다")
    load_s = time.perf_counter() - started
    cache: dict[str, list[Any]] = {}

    def judge(text: str, start: int, end: int) -> bool | None:
        tokens = cache.get(text)
        if tokens is None:
            tokens = cache[text] = list(kiwi.tokenize(text))
        tags = [t.tag for t in tokens if t.start < end and start < t.start + t.len]
        return "NNP" in tags if tags else None

    return judge, load_s


def rss_probe(corpus: Path, use_kiwi: bool) -> dict[str, float]:
    """In a fresh interpreter: RSS after import, after masking the corpus, and (with kiwi) after loading it."""
    code = (
        "import json,sys,time\n"
        "def rss():\n"
        "    return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS'))/1024\n"
        "out={'start':rss()}\n"
        "from core.masking import mask_pii\n"
        "out['imported']=rss()\n"
        "from bench.privacy import load_corpus, kiwi_judge\n"
        f"samples=load_corpus(__import__('pathlib').Path({str(corpus)!r}))\n"
        f"judge=kiwi_judge() if {use_kiwi!r} else None\n"
        "out['analyser_loaded']=rss()\n"
        "t=time.perf_counter()\n"
        "[mask_pii(s.text, name_judge=judge[0] if judge else None) for s in samples]\n"
        "out['masked']=rss(); out['seconds']=time.perf_counter()-t\n"
        "out['load_s']=judge[1] if judge else 0.0\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {k: float(v) for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def time_per_text(samples: Sequence[Sample], judge: NameJudge | None, rounds: int = 5) -> float:
    """Best-of-`rounds` seconds per text for `mask_pii` over the corpus."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for sample in samples:
            find_pii(sample.text, name_judge=judge)
        best = min(best, time.perf_counter() - started)
    return best / max(1, len(samples))


def report(title: str, result: Score, show: int, emit: Callable[[str], None] = print) -> bool:
    """Print the recall table and the decoy line; True when every target is met."""
    emit(f"\n{title}")
    emit(f"{'type':<10} {'labelled':>8} {'masked':>7} {'recall':>8} {'target':>7}")
    all_met = True
    for kind in KINDS:
        target = TARGETS.get(kind)
        if not result.labelled[kind] and target is None:
            continue
        met = target is None or result.recall(kind) >= target
        all_met &= met
        goal = f"≥ {target:.0%}" if target is not None else "-"
        emit(
            f"{kind:<10} {result.labelled[kind]:>8} {result.masked[kind]:>7} {result.recall(kind):>8.1%} {goal:>7}"
            f"  {verdict(met) if target is not None else ''}"
        )
    decoy_met = result.decoy_share >= DECOY_TARGET
    emit(
        f"decoy words intact: {result.decoy_intact}/{result.decoy_words} = {result.decoy_share:.1%}"
        f" (target ≥ {DECOY_TARGET:.0%}) {verdict(decoy_met)}"
    )
    emit(f"other words of labelled texts intact: {result.other_intact}/{result.other_words} = {result.other_share:.1%}")
    for kind, value, masked in result.misses[:show]:
        emit(f"  missed {kind}: {value!r} in {masked!r}")
    for word, masked in result.decoy_hits[:show]:
        emit(f"  decoy word masked: {word!r} in {masked!r}")
    return all_met and decoy_met


def main(argv: Sequence[str] | None = None) -> int:
    """Print the figures; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="marked-up .txt or .jsonl corpus")
    parser.add_argument("--show-misses", type=int, default=10, metavar="N", help="list up to N misses of each sort")
    parser.add_argument("--kiwi", action="store_true", help="also measure kiwipiepy as a name judge")
    args = parser.parse_args(argv)
    samples = load_corpus(args.corpus)
    decoys = sum(1 for s in samples if not s.labels)
    print(f"inqd privacy benchmark: {args.corpus} — {len(samples)} texts, {decoys} decoys")
    print(machine_line())
    ok = report("masker (rules and word lists)", score(samples), args.show_misses)
    per_text = time_per_text(samples, None)
    probe = rss_probe(args.corpus, use_kiwi=False)
    print(
        f"cost: {per_text * 1e6:.0f} µs per text ({1 / per_text:,.0f} texts/s); RSS {probe['start']:.1f} MiB bare,"
        f" {probe['imported']:.1f} MiB after `import core.masking`, {probe['masked']:.1f} MiB after masking the corpus"
    )
    if args.kiwi:
        loaded = kiwi_judge()
        if loaded is None:
            print("\nkiwipiepy is not installed: `pip install kiwipiepy` to measure it")
        else:
            judge, _ = loaded
            report("masker + kiwipiepy judging look-only names", score(samples, judge), args.show_misses)
            kiwi_probe = rss_probe(args.corpus, use_kiwi=True)
            per_text_kiwi = kiwi_probe["seconds"] / max(1, len(samples))
            print(
                f"cost with kiwipiepy: {per_text_kiwi * 1e6:.0f} µs per text (one pass, fresh process); load"
                f" {kiwi_probe['load_s']:.2f} s; RSS {kiwi_probe['analyser_loaded']:.1f} MiB after load,"
                f" {kiwi_probe['masked']:.1f} MiB after masking the corpus"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
