"""A project tool module, as settings would list it for `registry.register_module`."""

from agents_app.engine.tools import registry


@registry.register(description="Upper-case the text.")
def shout(text: str) -> str:
    return text.upper()
