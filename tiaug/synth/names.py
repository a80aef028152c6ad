"""The registry of real-world conditions of the synthetic faces, without dependencies: ``tiaug synth --help``
reads it without loading NumPy, and :mod:`tiaug.synth.conditions` derives the dataclass-free draw, the fallback
and the painting order from it.

Adding a condition is one :class:`Condition` entry here and one function of the same name in
:mod:`tiaug.synth.conditions` (``name(rng, t)`` for a room, ``name(rng, image, geometry, t) -> records`` for an
occluder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["room", "occluder"]
Stream = Literal["main", "cold"]


@dataclass(frozen=True)
class Condition:
    """One real-world condition of an unconstrained synthetic face.

    Attributes:
        name: ``tiaug synth --condition NAME``; also the name of its function in :mod:`tiaug.synth.conditions`.
        kind: "room" changes the face's temperatures before rendering; "occluder" paints over the rendered face.
        chance: probability that an unconstrained face gets it.
        draw: conditions sharing a draw are exclusive: one uniform number, consecutive intervals of their
            chances, in registry order (e.g. a hand or a cup, never both).
        stream: "main" conditions are drawn first, in registry order, and one of them is forced when none was
            drawn; a "cold" condition is drawn afterwards from its own random stream (so adding it left every
            other draw as it was).
        excluded_by: conditions whose presence rules this one out.
        layer: painting order of occluders (a higher layer covers a lower one).
    """

    name: str
    kind: Kind
    chance: float
    draw: str = ""
    stream: Stream = "main"
    excluded_by: tuple[str, ...] = ()
    layer: int = 0

    @property
    def draw_group(self) -> str:
        return self.draw or self.name


#: Every condition, in the order they are drawn and listed in a face's parameters.
REGISTRY: tuple[Condition, ...] = (
    Condition("hot_room", "room", 0.35),
    Condition("cold_room", "room", 0.25, stream="cold", excluded_by=("hot_room",)),
    Condition("glasses", "occluder", 0.35, layer=3),
    Condition("hand", "occluder", 0.2, draw="hand_or_cup", layer=5),
    Condition("cup", "occluder", 0.12, draw="hand_or_cup", layer=4),
    Condition("fringe", "occluder", 0.3, layer=0),
    Condition("face_mask", "occluder", 0.18, draw="mask_or_scarf", layer=1),
    Condition("scarf", "occluder", 0.12, draw="mask_or_scarf", layer=2),
)

#: Every real-world condition, by name (``tiaug synth --condition NAME`` draws one alone).
CONDITIONS: tuple[str, ...] = tuple(c.name for c in REGISTRY)
