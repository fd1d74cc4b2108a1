"""A generated corpus of client frames (hypothesis), drawn from the frame classes' own JSON schemas.

Every frame type and every field is covered, including ones added later: the strategies read
runs.frames.ClientFrame, not a list kept here. `valid_frames` parse; `nul_frames` are valid frames
with a NUL put into one of their strings (a value or a key); `mistyped_frames` have one field
replaced by an arbitrary JSON value (the caller keeps those the parser refuses).
"""

from __future__ import annotations

from typing import Any, get_args

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from runs import frames

CLASSES: tuple[type[frames.Frame], ...] = get_args(get_args(frames.ClientFrame)[0])
SCHEMAS = {cls.model_fields["type"].default: cls.model_json_schema() for cls in CLASSES}
NUL = "\x00"

# Storable text: anything but NUL (hypothesis' default alphabet has it, and no surrogates).
_TEXT = st.characters(exclude_characters=NUL)
JSON_VALUES: SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=_TEXT, max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet=_TEXT, max_size=8), inner, max_size=3),
    max_leaves=8,
)


def from_schema(schema: dict[str, Any], defs: dict[str, Any]) -> SearchStrategy[Any]:
    """Values valid for a JSON schema, for the subset pydantic writes for our frames."""
    if "$ref" in schema:
        return from_schema(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in schema:
        return st.one_of(*(from_schema(option, defs) for option in schema["anyOf"]))
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        return st.text(
            alphabet=_TEXT, min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40)
        )
    if kind == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=schema.get("maximum"))
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema["items"], defs), max_size=3)
    if kind == "object":
        properties = schema.get("properties")
        if properties is None:  # dict[str, Any]: any JSON object
            return st.dictionaries(st.text(alphabet=_TEXT, max_size=8), JSON_VALUES, max_size=4)
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: from_schema(spec, defs) for name, spec in properties.items() if name in required},
            optional={name: from_schema(spec, defs) for name, spec in properties.items() if name not in required},
        )
    raise AssertionError(f"the corpus has no strategy for {schema}: extend from_schema")


def frames_of(kind: str) -> SearchStrategy[dict[str, Any]]:
    schema = SCHEMAS[kind]
    return from_schema(schema, schema.get("$defs", {})).map(lambda frame: {**frame, "type": kind})


# Where a string sits in a frame: its path, and whether it is a key of an object (else a value).
Place = tuple[tuple[Any, ...], bool]

valid_frames: SearchStrategy[dict[str, Any]] = st.sampled_from(sorted(SCHEMAS)).flatmap(frames_of)


def _strings(value: Any, schema: dict[str, Any], defs: dict[str, Any], path: tuple[Any, ...]) -> list[Place]:
    """Every string in a value that is data: a string value anywhere, a key of a free-form object
    (a team config), not a key of a model (that is a field name: a misspelt one is ignored)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    for option in schema.get("anyOf", []):
        if option.get("type") == {str: "string", dict: "object", list: "array"}.get(type(value)):
            schema = option
    if isinstance(value, str):
        return [] if "enum" in schema else [(path, False)]  # a choice among fixed words is not text
    found: list[Place] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        for key, item in value.items():
            if properties is None:
                found.append(((*path, key), True))
            found.extend(_strings(item, (properties or {}).get(key, {}), defs, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_strings(item, schema.get("items", {}), defs, (*path, index)))
    return found


def _field_strings(frame: dict[str, Any]) -> list[Place]:
    schema = SCHEMAS[frame["type"]]
    return [
        p
        for name, value in frame.items()
        if name != "type"
        for p in _strings(value, schema["properties"][name], schema.get("$defs", {}), (name,))
    ]


def _with_nul(value: Any, path: tuple[Any, ...], is_key: bool, position: int) -> Any:
    if not path:
        return value[:position] + NUL + value[position:]
    head, rest = path[0], path[1:]
    if isinstance(value, list):
        return [_with_nul(item, rest, is_key, position) if i == head else item for i, item in enumerate(value)]
    if is_key and not rest:
        key = head[:position] + NUL + head[position:]
        return {(key if k == head else k): v for k, v in value.items()}
    return {k: (_with_nul(v, rest, is_key, position) if k == head else v) for k, v in value.items()}


@st.composite
def nul_frames(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid frame with a NUL put into one of its strings, and the top-level field holding it."""
    frame = draw(valid_frames.filter(lambda f: len(_field_strings(f)) > 0))
    fields = {k: v for k, v in frame.items() if k != "type"}
    path, is_key = draw(st.sampled_from(_field_strings(frame)))
    text = path[-1] if is_key else _get(fields, path)
    position = draw(st.integers(0, len(text)))
    return {**_with_nul(fields, path, is_key, position), "type": frame["type"]}, path[0]


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


@st.composite
def mistyped_frames(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid frame with one field replaced by any JSON value (a number as a string among them)."""
    kind = draw(st.sampled_from([k for k, s in SCHEMAS.items() if set(s["properties"]) - {"type"}]))
    frame = draw(frames_of(kind))
    field = draw(st.sampled_from(sorted(set(SCHEMAS[kind]["properties"]) - {"type"})))
    current = frame.get(field)
    wrong = st.just(str(current)) if isinstance(current, int) and not isinstance(current, bool) else st.nothing()
    return {**frame, field: draw(wrong | JSON_VALUES)}, field
