"""The scripted model's replies name the task they answer ({task})."""

from __future__ import annotations

from tests.engine.helpers import assistant, run, task, team, text

DJANGO = "How do I add a field to a Django model?"


async def test_a_reply_quotes_the_task_it_answers() -> None:
    config = team("round_robin", [assistant("a", "On “{task}”: add it, then migrate.")], max_turns=1)
    result = await run(config, [task(DJANGO)])
    reply = f"On “{DJANGO}”: add it, then migrate."
    assert result.contents() == [("a", "TextMessage", reply)]
    assert "".join(c.content for c in result.chunks) == reply  # the stream carries the filled text too
    assert result.result.usage.completion_tokens == len(reply.split())


async def test_a_long_task_is_quoted_short_and_on_one_line() -> None:
    long_task = "Please explain,\n\nin detail, " + "the migration framework " * 20
    config = team("round_robin", [assistant("a", "[{task}]")], max_turns=1)
    quoted = (await run(config, [task(long_task)])).messages[0].to_text()[1:-1]
    assert quoted.startswith("Please explain, in detail, the migration") and quoted.endswith("…")
    assert len(quoted) <= 121 and "\n" not in quoted and not quoted[:-1].endswith(" ")


async def test_other_agents_messages_are_not_the_task() -> None:
    config = team("round_robin", [assistant("a", "a speaks"), assistant("b", "b answers “{task}”")], max_turns=2)
    result = await run(config, [task(DJANGO)])
    assert result.messages[1].to_text() == f"b answers “{DJANGO}”"


async def test_the_humans_latest_answer_is_quoted_after_they_reply() -> None:
    human = {"kind": "user_proxy", "name": "user"}
    config = team("round_robin", [assistant("a", "Draft for “{task}”.", "Revised with “{task}”."), human])
    transcript = [task(DJANGO), text("a", f"Draft for “{DJANGO}”."), text("user", "Mention the admin too.")]
    result = await run(config, transcript)
    assert result.messages[0].to_text() == "Revised with “Mention the admin too”."


async def test_the_quote_leaves_the_full_stop_to_the_reply() -> None:
    config = team("round_robin", [assistant("a", "You asked for “{task}”.")], max_turns=1)
    result = await run(config, [task("Write a poem about the sea.")])
    assert result.messages[0].to_text() == "You asked for “Write a poem about the sea”."


async def test_replies_without_the_placeholder_are_unchanged() -> None:
    config = team("round_robin", [assistant("a", "Curly {braces} and {task stay")], max_turns=1)
    assert (await run(config, [task(DJANGO)])).messages[0].to_text() == "Curly {braces} and {task stay"
