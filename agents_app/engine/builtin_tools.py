"""Built-in tools. Each is self-contained (imports inside) so `source_code()` exports its real body."""

from __future__ import annotations

from agents_app.engine.tools import registry


@registry.register
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression: numbers, + - * / // % **, unary signs and parentheses.

    Args:
        expression: the expression to evaluate, e.g. "(2 + 3) * 4 ** 2"
    """
    import ast
    import operator
    from collections.abc import Callable

    max_length, max_exponent, max_magnitude = 1000, 10_000, 10**100
    if len(expression) > max_length:
        raise ValueError(f"expression longer than {max_length} characters")
    binary: dict[type[ast.AST], Callable[[int | float, int | float], int | float]] = {
        ast.Add: operator.add,
        ast.Sub: operator.sub,
        ast.Mult: operator.mul,
        ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv,
        ast.Mod: operator.mod,
        ast.Pow: operator.pow,
    }
    unary: dict[type[ast.AST], Callable[[int | float], int | float]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}

    def evaluate(node: ast.AST) -> int | float:
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and type(node.op) in unary:
            return unary[type(node.op)](evaluate(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in binary:
            left, right = evaluate(node.left), evaluate(node.right)
            # Limits keep one request from burning CPU or memory on a huge power.
            if isinstance(node.op, ast.Pow) and (abs(right) > max_exponent or abs(left) > max_magnitude):
                raise ValueError(f"exponent or base too large (limits: exponent {max_exponent})")
            if isinstance(node.op, ast.Mult | ast.Mod | ast.FloorDiv) and max(abs(left), abs(right)) > max_magnitude:
                raise ValueError("operand too large")
            return binary[type(node.op)](left, right)
        raise ValueError(f"unsupported syntax: {type(node).__name__}")

    tree = ast.parse(expression.strip(), mode="eval")
    result = evaluate(tree.body)
    if isinstance(result, int) and result.bit_length() > 4096:
        raise ValueError("result too large")
    return str(result)


@registry.register
def current_time(timezone: str = "UTC") -> str:
    """The current date and time in ISO 8601.

    Args:
        timezone: an IANA time zone name such as "Europe/Paris"
    """
    import datetime
    import zoneinfo

    return datetime.datetime.now(zoneinfo.ZoneInfo(timezone)).isoformat(timespec="seconds")
