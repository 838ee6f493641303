"""The mapping rules engine in Python, for the Spark jobs: the same rules (mappings/default.json, described in
mappings/README.md) and the same results as lib/mapping/ in TypeScript, which the shared vectors in
test/vectors/mapping.json prove (spark/test_metasync_rules.py). Stdlib only, no pyspark, so plain python3 tests it.

Where Python and JavaScript differ by default, this follows what lib/mapping does: patterns compile with re.ASCII
(JavaScript's non-unicode regexes) and must match the whole text; numbers print as JavaScript prints them; names
are measured in code points; lists sort in code point order.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Optional, Union
from urllib.parse import quote

# Parsed JSON: the rule set (validated by lib/mapping/rules.ts before a run writes it) and raw records.
Json = Any
Scalar = Union[str, int, float, bool, None]

# "lineage" records are edges, never assets: no rule set has paths for them, so mapping refuses them as it does in
# TypeScript (and phaseOf keeps them out of the columns phase anyway).
RAW_KINDS = (
    "database", "schema", "table", "view", "materialized_view", "column", "dashboard", "foreign_key", "lineage"
)
UNMAPPED_TYPE_TAG = "type:unmapped"
INT32_MIN, INT32_MAX = -2_147_483_648, 2_147_483_647
# Deep enough for any real nesting, and a stop for a rule whose element group captures the whole text.
MAX_TYPE_DEPTH = 8
MAX_SAFE_INTEGER = 2**53
REQUIRED_FIELD = {
    "dataType": "sourceDataType",
    "nullable": "nullable",
    "defaultValue": "defaultValue",
    "ordinal": "ordinal",
    "comment": "comment",
}


# --- rules and patterns ---------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def _compiled(pattern: str, flags: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII | (re.IGNORECASE if flags == "i" else 0))


def full_match(rule: Json, text: str) -> Optional[re.Match[str]]:
    return _compiled(rule["pattern"], rule.get("flags", "")).fullmatch(text)


# Results of pure functions of a rule set, per rule set object (by identity, holding it so its id stays its own):
# a job maps millions of lines with one rule set, and their types, names and tags repeat.
_MEMOS: dict[tuple[int, str], tuple[object, dict[Any, Any]]] = {}
MAX_MEMO_ENTRIES = 100_000


def _memo(owner: object, name: str) -> dict[Any, Any]:
    found = _MEMOS.get((id(owner), name))
    if found is None or found[0] is not owner:
        if len(_MEMOS) > 64:
            _MEMOS.clear()
        found = _MEMOS[(id(owner), name)] = (owner, {})
    if len(found[1]) > MAX_MEMO_ENTRIES:
        found[1].clear()
    return found[1]


def load_rules(text: str) -> Json:
    """Parses a rule set and compiles every pattern, so a bad one fails here rather than mid-job."""
    rules = json.loads(text)
    if not isinstance(rules, dict) or rules.get("version") != 1:
        raise ValueError("not a version 1 mapping rule set")
    for type_rules in rules["types"].values():
        for rule in type_rules:
            groups = _compiled(rule["pattern"], rule.get("flags", "")).groups
            for index in [*rule.get("params", []), *([rule["element"]] if "element" in rule else [])]:
                if index > groups:
                    raise ValueError(f"group {index} does not exist in {rule['pattern']!r}")
    for rule in rules["enrichment"]:
        for condition in ("name", "dataType"):
            if condition in rule:
                full_match(rule[condition], "")
    return rules


# --- values ---------------------------------------------------------------------------------------------------


CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# json.loads joins an escaped pair into one code point, so any surrogate left is a lone one.
SURROGATE = re.compile("[\ud800-\udfff]")


def control_character(text: str) -> Optional[str]:
    """The first C0/C1 control, DEL or line/paragraph separator as U+XXXX, or None."""
    found = CONTROL.search(text)
    return f"U+{ord(found.group(0)):04X}" if found else None


def has_lone_surrogate(text: str) -> bool:
    return SURROGATE.search(text) is not None


BLANK = re.compile(r"[ \t\r\n]*")
WHITESPACE_RUN = re.compile(r"[ \t\r\n]+")
SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[()<>,\[\]])")
SPACE_AFTER_OPENING = re.compile(r"(?<=[(<,]) ")


def is_blank(text: str) -> bool:
    return BLANK.fullmatch(text) is not None


def type_text(text: str) -> str:
    """Whitespace runs become one space, trimmed, with no space next to brackets and commas."""
    text = WHITESPACE_RUN.sub(" ", text).strip(" ")
    text = SPACE_BEFORE_PUNCTUATION.sub("", text)
    return SPACE_AFTER_OPENING.sub("", text)


def js_number_text(number: Union[int, float]) -> str:
    """A number as JavaScript's String(number) prints it (ECMAScript Number::toString)."""
    if isinstance(number, int) and abs(number) <= MAX_SAFE_INTEGER:
        return str(number)
    value = float(number)  # JavaScript holds every number as a double
    if value == 0:
        return "0"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if value < 0 else ""
    # repr gives the shortest digits that round-trip, as JavaScript does; k digits, decimal point after n.
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k, n = len(digits), len(digits) + int(exponent)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def as_text(value: Scalar) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return js_number_text(value)


def as_ordinal(value: Scalar) -> Optional[int]:
    """A whole number (or its decimal text) that fits Cassandra's int; ValueError when it is not one."""
    if value is None:
        return None
    number: Optional[int] = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        number = int(value)
    if number is None or not INT32_MIN <= number <= INT32_MAX:
        raise ValueError(value)
    return number


def _is_finite_number(value: object) -> bool:
    try:
        return isinstance(value, (int, float)) and math.isfinite(float(value))  # type: ignore[arg-type]
    except OverflowError:  # an integer too large for a double is Infinity in JavaScript
        return False


# --- qualified names, types, tags, fingerprints ---------------------------------------------------------------


@lru_cache(maxsize=65_536)
def encode_segment(segment: str) -> str:
    """Every UTF-8 byte outside A-Z a-z 0-9 . _ ~ - as %XX (uppercase hex)."""
    return quote(segment, safe="")


def apply_name_case(name: str, name_case: str) -> str:
    if name_case == "lower":
        return re.sub("[A-Z]+", lambda letters: letters.group(0).lower(), name)
    if name_case == "upper":
        return re.sub("[a-z]+", lambda letters: letters.group(0).upper(), name)
    return name


def container_qualified_name(source_type: str, connection_id: str, path: list[str], name_case: str = "preserve") -> str:
    return _container_qualified_name(source_type, connection_id, tuple(path), name_case)


@lru_cache(maxsize=4_096)  # a table's columns come one after the other and share its name
def _container_qualified_name(source_type: str, connection_id: str, path: tuple[str, ...], name_case: str) -> str:
    segments = "/".join(encode_segment(apply_name_case(name, name_case)) for name in path)
    return f"{source_type}://{encode_segment(connection_id)}/{segments}"


def qualified_name(
    source_type: str, connection_id: str, kind: str, path: list[str], name_case: str = "preserve"
) -> str:
    if kind != "foreign_key":
        return container_qualified_name(source_type, connection_id, path, name_case)
    table = container_qualified_name(source_type, connection_id, path[:-1], name_case)
    return f"{table}#fk/{encode_segment(apply_name_case(path[-1], name_case))}"


def normalize_type(source_data_type: str, source: str, rules: Json, depth: int = 0) -> tuple[str, bool]:
    """(common type, whether every part matched a rule); the source's rules first, then the defaults."""
    memo = _memo(rules["types"], "normalize_type")
    key = (source_data_type, source, depth)
    if key not in memo:
        memo[key] = _normalize_type(source_data_type, source, rules, depth)
    return memo[key]  # type: ignore[no-any-return]


def _normalize_type(source_data_type: str, source: str, rules: Json, depth: int) -> tuple[str, bool]:
    text = type_text(source_data_type)
    if depth > MAX_TYPE_DEPTH:
        return "unknown", False
    for rule in [*rules["types"][source], *rules["types"]["default"]]:
        match = full_match(rule, text)
        if not match:
            continue
        if "element" in rule:
            element, mapped = normalize_type(match.group(rule["element"]) or "", source, rules, depth + 1)
            return f"{rule['type']}<{element}>", mapped
        params = [match.group(group) for group in rule.get("params", []) if match.group(group) is not None]
        return (f"{rule['type']}({','.join(params)})" if params else rule["type"]), True
    return "unknown", False


def _matches(rule: Json, asset: dict[str, Any], source_type: str) -> bool:
    if "kinds" in rule and asset["assetType"] not in rule["kinds"]:
        return False
    if "sources" in rule and source_type not in rule["sources"]:
        return False
    if "name" in rule and not full_match(rule["name"], asset["name"]):
        return False
    if "dataType" in rule and (asset["dataType"] is None or not full_match(rule["dataType"], asset["dataType"])):
        return False
    if "property" in rule:
        key, values = rule["property"]["key"], rule["property"].get("in")
        if key not in asset["properties"] or (values is not None and asset["properties"][key] not in values):
            return False
    return True


def derive_tags(asset: dict[str, Any], source_type: str, type_mapped: bool, enrichment: list[Json]) -> list[str]:
    memo = _memo(enrichment, "derive_tags")
    # Everything _matches reads of the asset.
    key = (
        asset["assetType"], asset["name"], asset["dataType"], tuple(sorted(asset["properties"].items())), source_type,
        type_mapped,
    )
    if key not in memo:
        memo[key] = _derive_tags(asset, source_type, type_mapped, enrichment)
    return list(memo[key])


def _derive_tags(asset: dict[str, Any], source_type: str, type_mapped: bool, enrichment: list[Json]) -> list[str]:
    tags = set() if type_mapped else {UNMAPPED_TYPE_TAG}
    tags.update(rule["tag"] for rule in enrichment if _matches(rule, asset, source_type))
    return sorted(tags)


def canonical_form(asset: dict[str, Any]) -> str:
    """The same bytes as lib/mapping/fingerprint.ts canonicalForm (JSON.stringify of the same array)."""
    fields = [
        asset["qualifiedName"],
        asset["assetType"],
        asset["name"],
        asset["parentQualifiedName"],
        asset["dataType"],
        asset["sourceDataType"],
        asset["nullable"],
        asset["defaultValue"],
        asset["ordinal"],
        asset["comment"],
        sorted(set(asset["tags"])),
        sorted(asset["properties"].items()),
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def fingerprint(asset: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_form(asset).encode("utf-8")).hexdigest()


# --- records --------------------------------------------------------------------------------------------------


def record_shape_problem(value: object) -> Optional[str]:
    """Why a parsed JSON value is not a RawRecord (the reasons lib/mapping gives), or None."""
    if not isinstance(value, dict):
        return "record is not a JSON object"
    kind, path, attributes = value.get("kind"), value.get("path"), value.get("attributes")
    if not isinstance(kind, str):
        return "record has no kind"
    if kind not in RAW_KINDS:
        return f'unknown kind "{kind}"'
    if not isinstance(path, list) or not 1 <= len(path) <= 6 or not all(isinstance(name, str) for name in path):
        return "path must be a list of 1 to 6 names"
    if not isinstance(attributes, dict):
        return "attributes must be an object"
    for key in sorted(attributes):
        attribute = attributes[key]
        if not (attribute is None or isinstance(attribute, (str, bool)) or _is_finite_number(attribute)):
            return f'attribute "{key}" must be text, a finite number, a boolean or null'
    return None


def _record_problem(record: dict[str, Any], source_type: str, source: Json, max_name_length: int) -> Optional[str]:
    strings = [*record["path"], *record["attributes"].keys(), *record["attributes"].values()]
    # One search over them all: Python strings are code points, so joining them cannot pair two lone surrogates.
    if has_lone_surrogate("".join(value for value in strings if isinstance(value, str))):
        return "record contains invalid Unicode (a lone surrogate)"
    kind, path = record["kind"], record["path"]
    expected = source["paths"].get(kind)
    if expected is None:
        return f"a {source_type} source has no {kind} assets"
    if len(path) != expected:
        return f"a {source_type} {kind} needs a path of {expected} names, got {len(path)}"
    for index, name in enumerate(path):
        if name == "":
            return f"path[{index}] is empty"
        control = control_character(name)
        if control:
            return f"path[{index}] contains a control character ({control})"
        if len(name) > max_name_length:
            return f"path[{index}] is {len(name)} characters long, over the limit of {max_name_length}"
    return None


def _pick(attributes: dict[str, Scalar], rule: Optional[Json]) -> Optional[tuple[str, Scalar]]:
    for attribute in (rule or {}).get("from", []):
        value = attributes.get(attribute)
        if value is None:
            continue
        if rule and rule.get("blankAsNull") and isinstance(value, str) and is_blank(value):
            continue
        return attribute, value
    return None


def _read_fields(attributes: dict[str, Scalar], fields: Json) -> Union[dict[str, Any], str]:
    data_type = _pick(attributes, fields.get("dataType"))
    source_data_type = as_text(data_type[1]) if data_type else None
    control = control_character(type_text(source_data_type)) if source_data_type is not None else None
    if data_type and control:
        return f"{data_type[0]} contains a control character ({control})"

    nullable = _pick(attributes, fields.get("nullable"))
    nullable_value: Optional[bool] = None
    if nullable and isinstance(nullable[1], bool):
        nullable_value = nullable[1]
    elif nullable:
        text = as_text(nullable[1]) or ""
        values = fields["nullable"].get("values", {})
        if text not in values:
            return f'nullable: unexpected value "{text}" in {nullable[0]}'
        nullable_value = values[text]

    ordinal = _pick(attributes, fields.get("ordinal"))
    try:
        ordinal_value = as_ordinal(ordinal[1]) if ordinal else None
    except ValueError:
        assert ordinal is not None
        return (
            f"ordinal: expected a whole number from -2147483648 to 2147483647 in {ordinal[0]},"
            f' got "{as_text(ordinal[1])}"'
        )

    default_value = _pick(attributes, fields.get("defaultValue"))
    comment = _pick(attributes, fields.get("comment"))
    return {
        "sourceDataType": source_data_type,
        "nullable": nullable_value,
        "defaultValue": as_text(default_value[1]) if default_value else None,
        "ordinal": ordinal_value,
        "comment": as_text(comment[1]) if comment else None,
    }


def map_record(record: object, source_type: str, connection_id: str, rules: Json) -> dict[str, Any]:
    """A parsed JSON line to {"ok": True, "asset", "fingerprint"} or {"ok": False, "reason"[, "qualifiedName"]}."""
    problem = record_shape_problem(record)
    if problem:
        return {"ok": False, "reason": problem}
    assert isinstance(record, dict)
    source = rules["sources"][source_type]
    problem = _record_problem(record, source_type, source, rules["validation"]["maxNameLength"])
    if problem:
        return {"ok": False, "reason": problem}
    kind, path, attributes = record["kind"], record["path"], record["attributes"]
    own_name = qualified_name(source_type, connection_id, kind, path, source["nameCase"])

    fields = _read_fields(attributes, source["fields"])
    if isinstance(fields, str):
        return {"ok": False, "reason": fields, "qualifiedName": own_name}
    for missing in rules["validation"]["required"].get(kind, []):
        if fields[REQUIRED_FIELD[missing]] is None:
            rule = source["fields"].get(missing)
            looked_in = ", ".join(rule["from"]) if rule else "no attribute: the source has no rule for it"
            reason = f"{kind} has no {missing} (looked in {looked_in})"
            return {"ok": False, "reason": reason, "qualifiedName": own_name}

    source_data_type = fields["sourceDataType"]
    data_type, type_mapped = (
        normalize_type(source_data_type, source_type, rules) if source_data_type is not None else (None, True)
    )
    properties = {
        prop: as_text(attributes[attribute])
        for attribute, prop in source["properties"].items()
        if attributes.get(attribute) is not None
    }
    parent = None
    if len(path) > 1:
        parent = container_qualified_name(source_type, connection_id, path[:-1], source["nameCase"])
    asset: dict[str, Any] = {
        "qualifiedName": own_name,
        "assetType": kind,
        "name": path[-1],
        "parentQualifiedName": parent,
        "dataType": data_type,
        **fields,
        "properties": properties,
    }
    asset["tags"] = derive_tags(asset, source_type, type_mapped, rules["enrichment"])
    return {"ok": True, "asset": asset, "fingerprint": fingerprint(asset)}
