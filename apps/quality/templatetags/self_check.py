"""The running self-check rounds on the supervision dashboard, with each county's
progress: one query for the rounds, one per round shown (at most three)."""

from django import template
from django.utils import timezone

from ..models import QualityItem, SelfCheckRound
from ..selectors import round_progress

register = template.Library()

SHOWN = 3


@register.inclusion_tag("quality/_rounds_block.html", takes_context=True)
def self_check_block(context, region):
    """The rounds the user follows whose deadline has not passed, each with the progress
    of the counties of `region`."""
    user = context["request"].user
    today = timezone.localdate()
    rounds = list(
        SelfCheckRound.objects.visible_to(user)
        .filter(deadline__gte=today)
        .select_related("region")[:SHOWN]
    )
    items = QualityItem.objects.visible_to(user).filter(region_code__startswith=region.prefix)
    return {
        "region": region,
        "rounds": [(r, round_progress(r, items, today=today)) for r in rounds],
    }
