"""User-authored message templates cannot leave the sandbox or exhaust a worker: attribute walks
to `__class__`, `|attr`, format-string walks, and expressions that build a huge text or number
are each refused as a render error for that recipient, naming why."""

from __future__ import annotations

import pytest

from hub.campaigns.templates.rendering import MAX_BUILT, CompiledTemplate, RenderError, check_source

CONTEXT = {
    "contact": {"name": "Li", "email": "li@example.com"},
    "customer": {"name": "Acme"},
    "owner": {"name": "Wang"},
    "unsubscribe_url": "https://hub.example/u/1",
    "survey_url": "",
}


@pytest.mark.parametrize(
    "source, reason",
    [
        ("{{ contact.__class__ }}", "unsafe"),
        ("{{ contact.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
        ("{{ contact.name.__class__.__base__ }}", "unsafe"),
        ('{{ "{0.__class__}".format(contact) }}', "unsafe"),
        ('{{ "{x.__class__}".format_map({"x": contact}) }}', "unsafe"),
        ('{{ "ab" * 100000000 }}', "not allowed"),
        ("{{ [1] * 100000000 }}", "not allowed"),
        ("{{ 9 ** 999999 }}", "not allowed"),
        ('{{ contact.name|replace("i", "iiiiiiiiii")|replace("i", "iiiiiiiiii")'
         '|replace("i", "iiiiiiiiii")|replace("i", "iiiiiiiiii")|replace("i", "iiiiiiiiii") }}',
         "not allowed"),
    ],
)
def test_escapes_and_bombs_are_refused_for_the_recipient(source, reason):
    with pytest.raises(RenderError) as refused:
        CompiledTemplate(None, "Hi " + source, None).render(CONTEXT)
    assert reason in refused.value.reason


@pytest.mark.parametrize("source", ['{{ contact|attr("__class__") }}', "{{ range(10**9)|list }}",
                                    "{{ lipsum() }}", "{{ cycler }}"])
def test_filters_and_globals_outside_the_list_are_refused_when_saved(source):
    errors = check_source("body", source)
    assert errors and errors[0].field == "body"


def test_ordinary_templates_still_render():
    out = CompiledTemplate(
        "Hello {{ contact.name }}",
        "Dear {{ contact.name|upper }}, {{ '-' * 10 }} {{ 2 ** 10 }} {{ customer.name|replace('A', 'a') }}",
        "<p>{{ contact.name }}</p>",
    ).render(CONTEXT)
    assert out.subject == "Hello Li"
    assert out.body == "Dear LI, ---------- 1024 acme"
    assert len("-" * MAX_BUILT) == MAX_BUILT  # the bound leaves room for any real message
