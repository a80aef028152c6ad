"""Label conventions shared by tiaug and samcl: the class names of the Thermal Face Database and the ignore index.

Class ``k`` of a mask is ``DEFAULT_CLASSES[k]`` unless a file's ``classes`` attribute says otherwise; pixels
labelled ``IGNORE_INDEX`` (or a file's ``ignore_index`` attribute) are left out of losses and scores.
"""

from __future__ import annotations

#: Thermal Face Database classes, as used by the paper: 0 background, 1 skin/face, 2 mouth, 3 eyes, ...
DEFAULT_CLASSES = ("background", "skin", "mouth", "eyes", "eyebrows", "nose")
#: Label of pixels that no loss or score counts (TiAug's "ignore" mask policy writes it).
IGNORE_INDEX = 255
