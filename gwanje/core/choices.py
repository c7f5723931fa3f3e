"""Choice sets whose values carry a translated label and a colour.

The same colour drives table badges, map markers and legends (DESIGN rule 4). Modelled on
NetBox's ChoiceSet: subclasses list CHOICES as (value, label, colour) and name constants.
"""

from __future__ import annotations

from typing import ClassVar

from django.utils.functional import Promise


class ChoiceSet:
    CHOICES: ClassVar[list[tuple[str, str | Promise, str]]] = []

    @classmethod
    def choices(cls) -> list[tuple[str, str | Promise]]:
        return [(value, label) for value, label, _colour in cls.CHOICES]

    @classmethod
    def values(cls) -> list[str]:
        return [value for value, _label, _colour in cls.CHOICES]

    @classmethod
    def label(cls, value: str) -> str:
        for v, label, _colour in cls.CHOICES:
            if v == value:
                return str(label)
        return value

    @classmethod
    def colour(cls, value: str) -> str:
        for v, _label, colour in cls.CHOICES:
            if v == value:
                return colour
        return "#9e9e9e"

    @classmethod
    def legend(cls) -> list[dict[str, str]]:
        """Value, label and colour of every choice, for templates and the map's JavaScript."""
        return [{"value": v, "label": str(label), "colour": c} for v, label, c in cls.CHOICES]
