"""What the spot-check pages read, always through `SpotCheck.objects.visible_to`."""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import Substr

from apps.regions.models import PREFIX_LENGTH, Level, Region

from .models import Outcome, SpotCheck


@dataclass
class Rates:
    region: Region | None
    sampled: int = 0
    checked: int = 0
    agreed: int = 0
    disagreed: int = 0
    open_flags: int = 0

    @property
    def checked_rate(self) -> float | None:
        return self.checked / self.sampled if self.sampled else None

    @property
    def agreement_rate(self) -> float | None:
        return self.agreed / self.checked if self.checked else None


FIGURES = {
    "sampled": Count("pk"),
    "checked": Count("pk", filter=~Q(outcome="")),
    "agreed": Count("pk", filter=Q(outcome=Outcome.AGREE)),
    "disagreed": Count("pk", filter=Q(outcome=Outcome.DISAGREE)),
    "open_flags": Count("pk", filter=Q(outcome=Outcome.DISAGREE, resolution="")),
}


def checks_in(user, region: Region, first: str, last: str):
    """The spot checks of the region's cases drawn for the months `first`..`last`."""
    return SpotCheck.objects.visible_to(user).filter(
        region_code__startswith=region.prefix, draw__round__gte=first, draw__round__lte=last
    )


def rates_total(user, region: Region, first: str, last: str) -> Rates:
    """The region's figures: one query."""
    return Rates(region, **checks_in(user, region, first, last).aggregate(**FIGURES))


def rates_by_child(user, region: Region, first: str, last: str) -> list[Rates]:
    """The figures of each child region (none for a village): one query for the
    figures, one for the children's names."""
    if region.level == Level.VILLAGE:
        return []
    length = PREFIX_LENGTH[Level(region.level + 1)]
    figures = {
        row.pop("child"): row
        for row in checks_in(user, region, first, last)
        .annotate(child=Substr("region_code", 1, length))
        .values("child")
        .annotate(**FIGURES)
        .order_by()
    }
    return [
        Rates(child, **figures.get(child.prefix, {}))
        for child in Region.objects.filter(parent=region).order_by("code")
    ]
