"""Words that name no topic. A label built from them ("Genus · used", "Manner · good", "Ball · upward") tells a
reader nothing, even where a cluster happens to use them more than the rest does; scikit-learn's English stop words
leave them in because they are content words. Candidate phrases may not start or end with one."""

from __future__ import annotations

GENERIC_WORDS = frozenset(
    """
    able about above according actually add added adds additional almost already also although always among another
    any anything appear apply approach around away back bad based basic become becoming began begin being better big
    bit certain clear close come comes coming common completely consider considered contain contained containing
    contains current currently different difficult done easily easy either else enough entire especially even ever
    every example except fact far few find first follow following general generally get gets getting give given
    gives giving go goes going gone good got great having help helps highly however important include included
    includes including instead itself just keep large larger last later least less let like likely little look lot
    lots made main mainly make makes making manner many may maybe mean means might more most mostly much must near
    nearly need needed needs new next nice non often one ones only other others over own part particular
    particularly per perhaps place possible possibly probably provide provided provides providing put quality quite
    rather really related relating relatively right said same say see seem seems several should show shown similar
    simple simply since small so some something sometimes specific still such sure take taken takes thing things
    through together too took toward towards true try turn typically upon upward upwards use used useful uses using
    usually various very want way ways well whole widely within without would yes yet
    does doesn don didn isn aren wasn won wouldn couldn shouldn ll ve know knows knew says said tell told
    write writes written wrote
    """.split()
)
