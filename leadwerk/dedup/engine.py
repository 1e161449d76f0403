"""Record matching: blocking, field comparison and Fellegi–Sunter scoring.

Plain Python, numpy and rapidfuzz; nothing here knows about Django, so the same code scores
one new record at intake, a whole database in the background job, and the FEBRL data sets in
``bench/dedup.py``.

How it works
------------
* Records are turned into *features* (normalised strings: transliterated names, e-mail local
  part, E.164 phone, company key, …), one numpy object array per feature.
* *Blocking rules* give each record keys (e.g. the Cologne phonetic code of the last name plus
  that of the first name); only records sharing a key are compared. Oversized blocks are
  cut into a sorted neighbourhood so one common key cannot explode the pair count.
* Each *comparison* puts a pair into one of a few levels (e.g. e-mail: identical / same
  local part at the same domain / …). A level has an m probability (how often true matches
  land there) and a u probability (how often non-matches do); its weight is log2(m/u).
  Missing values give no evidence (weight 0).
* The sum of the weights plus the prior gives the match probability, and the levels that
  contributed are the reasons shown to the reviewer.

m and u can be set by hand (the product's defaults in ``schemes.py``) or estimated from
unlabelled pairs with expectation maximisation (:func:`estimate_m_u`), as the FEBRL bench does.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

Features = dict[str, np.ndarray]

# --- phonetic key ------------------------------------------------------------------------

_KP_GROUPS = {
    **dict.fromkeys("AEIJOUY", "0"),
    **dict.fromkeys("FVW", "3"),
    **dict.fromkeys("GKQ", "4"),
    "L": "5",
    **dict.fromkeys("MN", "6"),
    "R": "7",
    **dict.fromkeys("SZ", "8"),
    "B": "1",
}


@lru_cache(maxsize=131072)
def cologne_phonetic(word: str) -> str:
    """The Cologne phonetic code (Kölner Phonetik, Postel 1969), the German counterpart of
    Soundex: 'Müller', 'Mueller' and 'Möller' all give '657'. Expects transliterated input."""
    letters = re.sub(r"[^A-Z]", "", word.upper())
    codes: list[str] = []
    for i, ch in enumerate(letters):
        prev = letters[i - 1] if i else ""
        nxt = letters[i + 1] if i + 1 < len(letters) else ""
        if ch == "H":
            continue
        if ch == "P":
            code = "3" if nxt == "H" else "1"
        elif ch in "DT":
            code = "8" if nxt in ("C", "S", "Z") and nxt else "2"
        elif ch == "C":
            if i == 0:
                code = "4" if nxt in ("A", "H", "K", "L", "O", "Q", "R", "U", "X") and nxt else "8"
            elif prev in ("S", "Z"):
                code = "8"
            else:
                code = "4" if nxt in ("A", "H", "K", "O", "Q", "U", "X") and nxt else "8"
        elif ch == "X":
            code = "8" if prev in ("C", "K", "Q") and prev else "48"
        else:
            code = _KP_GROUPS.get(ch, "")
        codes.append(code)
    collapsed: list[str] = []
    for code in "".join(codes):
        if not collapsed or collapsed[-1] != code:
            collapsed.append(code)
    if not collapsed:
        return ""
    return collapsed[0] + "".join(c for c in collapsed[1:] if c != "0")


# --- comparisons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One outcome of a comparison, with its m and u probabilities."""

    reason: str
    m: float
    u: float

    @property
    def weight(self) -> float:
        return math.log2(self.m / self.u)


MISSING = -1


def _derived(f: Features, name: str, kind: str, fn) -> np.ndarray:
    """A per-record array computed once from feature ``name`` and kept in ``f``."""
    key = f"~{kind}:{name}"
    found = f.get(key)
    if found is None:
        values = f[name]
        found = fn(values)
        f[key] = found
    return found


def _mask(f: Features, name: str) -> np.ndarray:
    """Which records have no value for feature ``name`` (computed once per feature)."""
    return _derived(
        f, name, "empty", lambda v: np.fromiter((not x for x in v), dtype=bool, count=len(v))
    )


def _missing(f: Features, name: str, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    mask = _mask(f, name)
    return mask[i] | mask[j]


def _jw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0, dtype=np.float32)
    return process.cpdist(
        a.tolist(), b.tolist(), scorer=JaroWinkler.normalized_similarity, workers=1
    )


@dataclass
class Comparison:
    """Base class: puts each pair (i, j) into a level index, or MISSING."""

    name: str
    levels: tuple[Level, ...]

    def compare(self, f: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def with_levels(self, levels: Sequence[Level]) -> Comparison:
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.levels = tuple(levels)
        return clone


@dataclass
class Exact(Comparison):
    """Levels: 0 equal, 1 different."""

    field: str = ""

    def compare(self, f, i, j):
        a, b = f[self.field][i], f[self.field][j]
        out = np.where(a == b, 0, 1).astype(np.int8)
        out[_missing(f, self.field, i, j)] = MISSING
        return out


@dataclass
class Fuzzy(Comparison):
    """Levels: 0 equal, then one level per Jaro–Winkler threshold, last: different."""

    field: str = ""
    thresholds: tuple[float, ...] = (0.92, 0.8)

    def compare(self, f, i, j):
        a, b = f[self.field][i], f[self.field][j]
        sim = _jw(a, b)
        out = np.full(len(a), len(self.thresholds) + 1, dtype=np.int8)
        for level, threshold in reversed(list(enumerate(self.thresholds, start=1))):
            out[sim >= threshold] = level
        out[a == b] = 0
        out[_missing(f, self.field, i, j)] = MISSING
        return out


@dataclass
class PersonName(Comparison):
    """First and last name together.

    Levels: 0 both equal; 1 last equal and first equal by initial ('J.' ~ 'Jürgen') or a
    short form ('Hans' ~ 'Hans-Peter'); 2 both similar; 3 first and last swapped;
    4 last similar, first different; 5 different.
    """

    first: str = "first"
    last: str = "last"

    def compare(self, f, i, j):
        f1, f2 = f[self.first][i], f[self.first][j]
        l1, l2 = f[self.last][i], f[self.last][j]
        sim_l = _jw(l1, l2)
        sim_f = _jw(f1, f2)
        swapped = (f1 == l2) & (l1 == f2)
        n = len(f1)
        first_missing = _missing(f, self.first, i, j)
        out = np.full(n, 5, dtype=np.int8)
        out[sim_l >= 0.9] = 4
        out[swapped & ~first_missing] = 3
        out[(sim_l >= 0.9) & (sim_f >= 0.88)] = 2
        same_last = l1 == l2
        same_first = f1 == f2
        check = np.nonzero(same_last & ~same_first & ~first_missing)[0]
        if len(check):
            compatible = np.fromiter(
                (_first_compatible(a, b) for a, b in zip(f1[check], f2[check], strict=True)),
                dtype=bool,
                count=len(check),
            )
            out[check[compatible]] = 1
        out[same_last & same_first] = 0
        out[_missing(f, self.last, i, j)] = MISSING
        return out


def _first_compatible(a: str, b: str) -> bool:
    if not a or not b or a == b:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) == 1:
        return long_.startswith(short)
    return long_.startswith(short + " ") or long_.startswith(short + "-")


@dataclass
class Email(Comparison):
    """Levels: 0 identical address; 1 same local part (dots, dashes, '+tags' and umlaut
    spelling ignored) at the same domain; 2 both local parts are usual patterns of the
    names ('j.mueller', 'mueller.juergen') at the same domain; 3 same local part at another
    domain; 4 different."""

    email: str = "email"
    local: str = "email_local"
    domain: str = "email_domain"
    name_variants: str = "name_variants"

    def compare(self, f, i, j):
        e1, e2 = f[self.email][i], f[self.email][j]
        lo1, lo2 = f[self.local][i], f[self.local][j]
        d1, d2 = f[self.domain][i], f[self.domain][j]
        out = np.full(len(e1), 4, dtype=np.int8)
        local_missing = _mask(f, self.local)
        same_local = (lo1 == lo2) & ~local_missing[i]
        same_domain = d1 == d2
        out[same_local] = 3
        candidates = np.nonzero(same_domain & ~same_local & ~(local_missing[i] | local_missing[j]))[
            0
        ]
        if len(candidates):
            v1, v2 = f[self.name_variants][i[candidates]], f[self.name_variants][j[candidates]]
            pairs = zip(lo1[candidates], lo2[candidates], v1, v2, strict=True)
            hit = np.fromiter(
                (
                    (f"|{a}|" in va or f"|{a}|" in vb) and (f"|{b}|" in va or f"|{b}|" in vb)
                    for a, b, va, vb in pairs
                ),
                dtype=bool,
                count=len(candidates),
            )
            out[candidates[hit]] = 2
        out[same_local & same_domain] = 1
        out[e1 == e2] = 0
        out[_missing(f, self.email, i, j)] = MISSING
        return out


@dataclass
class Phone(Comparison):
    """Levels: 0 same number; 1 same last seven digits (the same line written with a
    different prefix or a typo in the area code); 2 different."""

    field: str = "phone"

    def compare(self, f, i, j):
        a, b = f[self.field][i], f[self.field][j]
        tails = _derived(
            f, self.field, "tail", lambda v: np.array([x[-7:] for x in v], dtype=object)
        )
        out = np.where(a == b, 0, np.where(tails[i] == tails[j], 1, 2)).astype(np.int8)
        out[_missing(f, self.field, i, j)] = MISSING
        return out


@dataclass
class Company(Comparison):
    """Levels: 0 the same company record or web domain; 1 same company name (without legal
    form); 2 similar name; 3 different."""

    ident: str = "company_id"
    key: str = "company_key"
    domain: str = "company_domain"

    def compare(self, f, i, j):
        k1, k2 = f[self.key][i], f[self.key][j]
        id1, id2 = f[self.ident][i], f[self.ident][j]
        d1, d2 = f[self.domain][i], f[self.domain][j]
        sim = _jw(k1, k2)
        mk, mi, md = _mask(f, self.key), _mask(f, self.ident), _mask(f, self.domain)
        sim[mk[i] | mk[j]] = 0.0
        out = np.full(len(k1), 3, dtype=np.int8)
        out[sim >= 0.92] = 2
        out[(k1 == k2) & ~mk[i]] = 1
        out[((id1 == id2) & ~mi[i]) | ((d1 == d2) & ~md[i])] = 0
        out[(mk[i] & mi[i] & md[i]) | (mk[j] & mi[j] & md[j])] = MISSING
        return out


# --- blocking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockingRule:
    """Records that share a non-empty key are compared. ``key`` gives one record's key;
    ``keys`` (optional, faster) gives every record's key at once."""

    name: str
    key: Callable[[Features, int], str]
    keys: Callable[[Features], list[str]] | None = None
    # Whether the key is stored for the check of a single new record. Keys that only repeat
    # an exact match the caller does anyway (the same e-mail address) need not be.
    stored: bool = True

    def all_keys(self, features: Features) -> list[str]:
        if self.keys is not None:
            return self.keys(features)
        n = len(next(iter(features.values())))
        return [self.key(features, idx) for idx in range(n)]


def block_keys(features: Features, rules: Sequence[BlockingRule], index: int) -> list[str]:
    """The keys of one record, as stored for fast look-ups: 'rule:key' (``stored`` rules)."""
    keys = []
    for rule in rules:
        key = rule.key(features, index) if rule.stored else ""
        if key:
            keys.append(f"{rule.name}:{key}"[:120])
    return keys


def all_block_keys(features: Features, rules: Sequence[BlockingRule]) -> list[list[str]]:
    """The stored keys ('rule:key') of every record (rules with ``stored`` only)."""
    per_rule = [(rule.name, rule.all_keys(features)) for rule in rules if rule.stored]
    n = len(next(iter(features.values())))
    out: list[list[str]] = [[] for _ in range(n)]
    for name, keys in per_rule:
        for idx, key in enumerate(keys):
            if key:
                out[idx].append(f"{name}:{key}"[:120])
    return out


def candidate_pairs(
    features: Features,
    rules: Sequence[BlockingRule],
    *,
    max_block: int = 60,
    window: int = 12,
    sources: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i < j) of records that share a blocking key.

    A block larger than ``max_block`` is sorted by the records' features and compared only
    within a sliding ``window`` (sorted neighbourhood), so a very common key (think 'Müller')
    cannot blow up the number of pairs. With ``sources`` (linking two files) only pairs from
    different sources are kept.
    """
    n = len(next(iter(features.values())))
    rank = _neighbourhood_rank(features, n)
    chunks: list[np.ndarray] = []
    for rule in rules:
        left, right = _rule_pairs(rule.all_keys(features), rank, max_block, window)
        if len(left):
            chunks.append(np.minimum(left, right) * n + np.maximum(left, right))
    if not chunks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    codes = np.unique(np.concatenate(chunks))
    i, j = codes // n, codes % n
    keep = i != j
    if sources is not None:
        keep &= sources[i] != sources[j]
    return i[keep], j[keep]


def _neighbourhood_rank(features: Features, n: int) -> np.ndarray:
    """Each record's position when sorted by its first features (the order of the sorted
    neighbourhood inside an oversized block)."""
    names = sorted(k for k in features if not k.startswith("~"))[:4]
    text = ["\x1f".join(parts) for parts in zip(*(features[k] for k in names), strict=True)]
    rank = np.empty(n, dtype=np.int64)
    rank[sorted(range(n), key=text.__getitem__)] = np.arange(n)
    return rank


def _rule_pairs(
    keys: Sequence[str], rank: np.ndarray, max_block: int, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of one blocking rule, generated with numpy: records sorted by (key, rank),
    then every record paired with the following ones of the same key (all of them in a
    block up to ``max_block``, the next ``window - 1`` in a larger one)."""
    ids: dict[str, int] = {}
    codes = np.fromiter(
        (ids.setdefault(k, len(ids)) if k else -1 for k in keys), dtype=np.int64, count=len(keys)
    )
    present = np.nonzero(codes >= 0)[0]
    if len(present) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    order = present[np.lexsort((rank[present], codes[present]))]
    sorted_codes = codes[order]
    _, counts = np.unique(sorted_codes, return_counts=True)
    size = np.repeat(counts, counts)
    reach = np.where(size <= max_block, max_block, window)
    lefts, rights = [], []
    for d in range(1, max_block):
        if d >= len(order):
            break
        ok = (sorted_codes[:-d] == sorted_codes[d:]) & (d < reach[:-d])
        if not ok.any():
            break
        lefts.append(order[:-d][ok])
        rights.append(order[d:][ok])
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate(lefts), np.concatenate(rights)


# --- scoring -------------------------------------------------------------------------------


@dataclass
class Scheme:
    """What to compare and how much each outcome counts."""

    comparisons: list[Comparison]
    blocking: list[BlockingRule]
    prior: float = 1e-3  # probability that a blocked pair is a match, before the evidence
    max_block: int = 60
    window: int = 12

    @property
    def prior_logit(self) -> float:
        return math.log2(self.prior / (1 - self.prior))


@dataclass
class Scored:
    i: np.ndarray
    j: np.ndarray
    levels: np.ndarray  # (pairs, comparisons) level indices, MISSING where no data
    weight: np.ndarray  # log2 likelihood ratio
    probability: np.ndarray = field(default_factory=lambda: np.zeros(0))


def compare_pairs(scheme: Scheme, f: Features, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if len(i) == 0:
        return np.zeros((0, len(scheme.comparisons)), dtype=np.int8)
    return np.stack([c.compare(f, i, j) for c in scheme.comparisons], axis=1)


def score_levels(scheme: Scheme, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weight = np.full(len(levels), scheme.prior_logit, dtype=np.float64)
    for col, comparison in enumerate(scheme.comparisons):
        table = np.array([lv.weight for lv in comparison.levels] + [0.0])  # [-1] = missing
        weight += table[levels[:, col]]
    probability = 1.0 / (1.0 + np.exp2(-np.clip(weight, -60, 60)))
    return weight, probability


def score(scheme: Scheme, f: Features, i: np.ndarray, j: np.ndarray) -> Scored:
    levels = compare_pairs(scheme, f, i, j)
    weight, probability = score_levels(scheme, levels)
    return Scored(i, j, levels, weight, probability)


def reasons(scheme: Scheme, levels_row: Iterable[int]) -> list[dict]:
    """What spoke for and against one pair, strongest first."""
    out = []
    for comparison, level in zip(scheme.comparisons, levels_row, strict=True):
        if level == MISSING:
            continue
        lv = comparison.levels[int(level)]
        out.append({"field": comparison.name, "reason": lv.reason, "weight": round(lv.weight, 1)})
    return sorted(out, key=lambda r: -abs(r["weight"]))


def estimate_m_u(
    scheme: Scheme,
    levels: np.ndarray,
    *,
    iterations: int = 30,
    prior: float | None = None,
    tolerance: float = 1e-6,
) -> Scheme:
    """Expectation maximisation of m, u and the prior from unlabelled comparison levels
    (Fellegi–Sunter with conditional independence). Starts from the scheme's values and
    stops when the parameters no longer move."""
    comps = scheme.comparisons
    m = [np.array([lv.m for lv in c.levels]) for c in comps]
    u = [np.array([lv.u for lv in c.levels]) for c in comps]
    lam = prior if prior is not None else scheme.prior
    n = len(levels)
    if n == 0:
        return scheme
    # Level -1 (missing) indexes the extra last slot of each table, which contributes 0.
    shifted = [levels[:, col].astype(np.int64) + 1 for col in range(len(comps))]
    for _ in range(iterations):
        log_m = np.full(n, math.log(lam))
        log_u = np.full(n, math.log(1 - lam))
        for col in range(len(comps)):
            lv = levels[:, col]
            log_m += np.append(np.log(m[col]), 0.0)[lv]
            log_u += np.append(np.log(u[col]), 0.0)[lv]
        g = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        new_lam = float(np.clip(g.mean(), 1e-9, 1 - 1e-9))
        moved = abs(new_lam - lam)
        lam = new_lam
        for col in range(len(comps)):
            k = len(m[col])
            gm = np.bincount(shifted[col], weights=g, minlength=k + 1)[1:] + 1e-6
            gu = np.bincount(shifted[col], weights=1 - g, minlength=k + 1)[1:] + 1e-6
            new_m, new_u = gm / gm.sum(), gu / gu.sum()
            moved = max(
                moved, float(np.abs(new_m - m[col]).max()), float(np.abs(new_u - u[col]).max())
            )
            m[col], u[col] = new_m, new_u
        if moved < tolerance:
            break
    new = [
        c.with_levels(
            [
                Level(lv.reason, float(mm), float(uu))
                for lv, mm, uu in zip(c.levels, m[k], u[k], strict=True)
            ]
        )
        for k, c in enumerate(comps)
    ]
    return Scheme(new, scheme.blocking, lam, scheme.max_block, scheme.window)


def features_from_rows(rows: Sequence[dict], names: Sequence[str]) -> Features:
    """Column arrays from prepared rows (dicts of feature name -> string)."""
    return {
        name: np.array([row.get(name, "") or "" for row in rows], dtype=object) for name in names
    }


def clusters(n: int, i: np.ndarray, j: np.ndarray) -> list[list[int]]:
    """Connected components of the match graph (union–find), groups of two or more."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in range(n):
        groups[find(x)].append(x)
    return [g for g in groups.values() if len(g) > 1]
