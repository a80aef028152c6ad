"""Names of the synthetic faces' options, without dependencies: ``tiaug synth --help`` reads them without
loading NumPy (``tiaug.synth.conditions`` uses them)."""

#: Every real-world condition, by name (``tiaug synth --condition NAME`` draws one alone).
CONDITIONS = ("hot_room", "cold_room", "glasses", "hand", "cup", "fringe", "face_mask", "scarf")
