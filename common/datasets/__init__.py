"""Loaders for the real image quality and aesthetics databases, read as they are distributed.

Every database declares once its score scale, direction and splits (`DatabaseInfo`); every
loader returns scores normalised to [0, 1], higher is better. General databases give
`ImageScores` (image, score) per split; personal ones also give `PeopleRatings`, each person's
(image, rating) list per split. `catalog` names them all.
"""
