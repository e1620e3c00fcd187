"""The spot checks' small block on the supervision dashboard, and a rate filter."""

import datetime as dt

from django import template

from ..selectors import rates_total
from ..services import round_of

register = template.Library()


@register.filter
def share(value):
    """0.25 → "25.0%"; nothing to divide by → "—"."""
    return "—" if value is None else f"{value * 100:.1f}%"


@register.inclusion_tag("spotchecks/_block.html", takes_context=True)
def spot_check_block(context, region, start: dt.date, end: dt.date):
    """The region's spot-check figures for the months of the period: one query."""
    user = context["request"].user
    return {"region": region, "total": rates_total(user, region, round_of(start), round_of(end))}
