"""What the screening app does when others' records change."""

from django.db.models import Q
from django.dispatch import receiver

from apps.declarations.signals import case_moved

from .models import Warning


@receiver(case_moved)
def warnings_follow_the_household(sender, *, declaration, household, village, **kwargs):
    """The household's warnings (raised on it, or joined to its case) go with it to the
    new village: the old village no longer sees them."""
    condition = Q(pk__in=[])
    if household is not None:
        condition |= Q(monitored_household=household)
    if declaration is not None:
        condition |= Q(declaration=declaration)
    Warning.objects.filter(condition).update(village=village, region_code=village.code)
